/**
 * `wgnas evolve-space --redis`: one independent evolution per seed (--seeds, or the one --seed),
 * each a job that a worker runs as `wgnas evolve-space --seed N` would run here. Each learned space
 * is written to --out (its '{seed}' filled in) as it arrives, equal to a local run's file; a summary
 * of all seeds goes to stdout. Results stay in the queue's result store: a re-run of the same
 * command writes what is stored and queues only the rest.
 */
import type { EvolveConfig } from '../autospace/evolve.js';
import type { DeviceKind } from '../backend/index.js';
import type { SearchData } from '../data/search-split.js';
import { writeSpaceFile } from '../mobilenet/space-file.js';
import { QueueClient } from '../queue/client.js';
import { codeVersion } from '../queue/code-version.js';
import type { EvolveRunResult } from '../queue/evolve-job.js';
import { type EvolveSettings, evolveKey, splitHash } from '../queue/jobs.js';
import { JsonStore, kindResultsKey } from '../queue/result-store.js';
import { writeFileAtomic } from '../util/durable.js';
import { provenanceOf } from './provenance.js';
import { queuedThreadsOf } from './resume-settings.js';
import { Progress } from '../util/progress.js';
import { UsageError } from './errors.js';
import { checkPath } from './paths.js';
import type { RunContext } from './run.js';
import type { ValuesOf } from './spec.js';
import { type EVOLVE_OPTIONS, parseSeeds, SEED_PLACEHOLDER as PLACEHOLDER } from './specs/evolve-space.js';
import { noWorkerNote } from './redis.js';

type Values = ValuesOf<typeof EVOLVE_OPTIONS> & { redis: string };

/** The seeds to run and the --out/--history path of each; usage errors before any work. */
export function queuedSeeds(v: Values): {
  seeds: number[];
  outOf: (s: number) => string;
  historyOf: (s: number) => string | undefined;
} {
  const seeds = v.seeds ? parseSeeds(v.seeds) : [v.seed];
  if (!v.out)
    throw new UsageError("--redis: give --out FILE (with '{seed}' in it for several --seeds): the spaces are written there");
  for (const [flag, path] of [
    ['--out', v.out],
    ['--history', v.history],
  ] as const) {
    if (path !== undefined && seeds.length > 1 && !path.includes(PLACEHOLDER))
      throw new UsageError(
        `${flag} ${path}: ${seeds.length} seeds write ${seeds.length} files: put '${PLACEHOLDER}' in the name`,
      );
  }
  if (v['train-epochs'] !== undefined)
    throw new UsageError(
      '--train-epochs trains one network here: with --redis, train a learned space afterwards (wgnas proxyless --space-file)',
    );
  const fill = (p: string, s: number) => p.split(PLACEHOLDER).join(String(s));
  // Every seed's own file, before any work: the pattern's checks say nothing of 'space-2.json' being
  // a directory, which would fail that seed's write after its evolution.
  for (const s of seeds) {
    checkPath('out', fill(v.out, s), 'out-file');
    if (v.history !== undefined) checkPath('history', fill(v.history, s), 'out-file');
  }
  return { seeds, outOf: (s) => fill(v.out!, s), historyOf: (s) => (v.history ? fill(v.history, s) : undefined) };
}

export async function evolveQueued(
  v: Values & { train: number; val: number },
  cfg: EvolveConfig,
  data: SearchData,
  device: DeviceKind,
  /** The workers compute with f16 operands (precisionOf(device, true)): in each job's settings and key. */
  f16: boolean,
  ctx: RunContext,
): Promise<void> {
  const { io } = ctx;
  const { seeds, outOf, historyOf } = queuedSeeds(v);
  const { layout: _layout, ...config } = cfg;
  const base = {
    layout: v.layout,
    dataset: v.dataset,
    train: v.train,
    val: v.val,
    dataHash: splitHash(data),
    history: v.history !== undefined,
    codeVersion: codeVersion(),
    device,
    ...(f16 ? { f16: true as const } : {}),
  };
  const runs = seeds.map((seed) => {
    const evolve: EvolveSettings = { ...base, config: { ...config, seed } };
    return { seed, evolve, key: evolveKey(evolve) };
  });
  const client = new QueueClient<EvolveRunResult>(
    { url: v.redis, namespace: v.queue, device, attempts: v.attempts, onNote: (l) => io.err(`${l}\n`) },
    (redis, ns) => new JsonStore<EvolveRunResult>(redis, kindResultsKey(ns, 'evolve')),
  );
  // The submitter's record (each space's meta names the worker's device): the command, code and data.
  const prov = provenanceOf(ctx, v, { device, threads: queuedThreadsOf(device, v), f16, data: base.dataHash });
  const bySeed = new Map<number, EvolveRunResult>();
  const bar = new Progress(runs.length, 'evolve-space', process.stderr);
  const write = (seed: number, r: EvolveRunResult) => {
    if (bySeed.has(seed)) return;
    bySeed.set(seed, r);
    writeSpaceFile(outOf(seed), { ...r.space, meta: { ...r.space.meta, provenance: { ...prov, seed } } });
    const h = historyOf(seed);
    if (h && r.history) writeFileAtomic(h, JSON.stringify(r.history, null, 2) + '\n');
    bar.log(`seed ${seed}: wrote ${outOf(seed)} (${r.seconds.toFixed(0)} s on ${r.worker})`);
  };
  try {
    const seedOf = new Map(runs.map((r) => [r.key, r.seed]));
    const stored = await client.stored(runs.map((r) => r.key));
    for (const [k, r] of stored) write(seedOf.get(k)!, r);
    const todo = runs.filter((r) => !stored.has(r.key));
    io.err(
      `evolve-space: ${todo.length} evolution(s) (seeds ${todo.map((r) => r.seed).join(',') || 'none'}) on the ${device} workers of ${v.queue}${stored.size ? `, ${stored.size} found in the result store` : ''}\n`,
    );
    for (const r of todo) await client.submitJob('evolve-run', { evolve: r.evolve, keys: [r.key] });
    if (todo.length && (await client.workersAlive()) === 0) io.err(noWorkerNote(v.queue, device));
    bar.update(bySeed.size);
    while (client.pendingCount) {
      for (const [k, r] of await client.next()) write(seedOf.get(k)!, r);
      bar.update(bySeed.size);
    }
    bar.done();
  } finally {
    await client.close();
  }
  // One summary of all seeds: each space's file and its top cell (and fitness) per layer.
  const summary = {
    seeds,
    runs: seeds.map((seed) => {
      const r = bySeed.get(seed)!;
      return {
        seed,
        out: outOf(seed),
        seconds: r.seconds,
        worker: r.worker,
        topCells: r.space.layers.map((l) => ({ cell: l.cells[0]?.cell, fitness: l.cells[0]?.fitness })),
      };
    }),
  };
  io.out(JSON.stringify(summary, null, 2) + '\n');
}
