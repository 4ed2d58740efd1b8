/**
 * `wgnas score --redis`: the architectures go to the queue as shards, their rows are appended to
 * --out as they arrive (any order; a kill keeps them, --resume scores only the rest), and the
 * finished output is rewritten in selection order, so it equals a run on one machine.
 */
import type { DeviceKind } from '../backend/index.js';
import type { Row, RowStream } from '../data/row-stream.js';
import { QueueClient } from '../queue/client.js';
import { codeVersion } from '../queue/code-version.js';
import { batchHash, type ScoreSettings } from '../queue/jobs.js';
import type { StoredResult } from '../queue/result-store.js';
import { formatArch, type Nb201Cell } from '../spaces/nb201.js';
import { plural } from '../util/format.js';
import { LOG_LINES, Progress } from '../util/progress.js';
import type { ScoredCell, ZeroShotOptions } from '../zeroshot/index.js';
import type { RunContext } from './run.js';
import { finishRows, keptByArch, rowOf, rowsInOrder } from './score-rows.js';
import type { ValuesOf } from './spec.js';
import type { SCORE_OPTIONS } from './specs/score.js';
import { noWorkerNote } from './redis.js';
import type { QueuedThreads } from './resume-settings.js';

export interface QueuedScoreRun {
  cells: readonly Nb201Cell[];
  stream: RowStream | null;
  /** With the run's minibatch and network. */
  opts: ZeroShotOptions;
  /** Proxies computed (aggregators expanded). */
  proxies: string[];
  aggs: string[];
  device: DeviceKind;
  threads: QueuedThreads;
  /** f16 operands (precisionOf): recorded in the output and in the jobs' content keys. */
  f16: boolean;
  accs: Map<string, number>;
}

/** What the jobs carry; `threads`: the --cpu-threads every CPU worker must compute with (see queuedThreadsOf). */
export function scoreSettingsOf(
  o: ZeroShotOptions,
  proxies: string[],
  dataset: string,
  device: DeviceKind,
  threads: QueuedThreads,
  /** The workers compute with f16 operands (asksF16: WGNAS_F16=1 here, on a GPU queue). */
  f16 = false,
): ScoreSettings {
  return {
    proxies,
    batchSize: o.batchSize,
    seed: o.seed,
    group: o.group ?? 1,
    ...(o.groupMode && o.groupMode !== 'separate' ? { groupMode: o.groupMode } : {}),
    channels: o.net.channels,
    cellsPerStage: o.net.cellsPerStage,
    dataset,
    dataHash: batchHash(o.batch!),
    codeVersion: codeVersion(),
    device,
    init: o.init ?? 'pytorch',
    inputs: o.inputs ?? 'data',
    ...(typeof threads === 'number' ? { threads } : {}),
    ...(f16 ? { f16: true as const } : {}),
  };
}

export async function scoreQueued(
  v: ValuesOf<typeof SCORE_OPTIONS> & { redis: string },
  { io }: RunContext,
  r: QueuedScoreRun,
): Promise<void> {
  const { stream, proxies, aggs, accs } = r;
  const archs = r.cells.map(formatArch);
  const kept = keptByArch(stream?.done ?? [], archs, v.out);

  const settings = scoreSettingsOf(r.opts, proxies, v.dataset, r.device, r.threads, r.f16);
  const client = new QueueClient({
    url: v.redis,
    namespace: v.queue,
    device: r.device,
    attempts: v.attempts,
    onNote: (l) => io.err(`${l}\n`),
  });
  const bar = new Progress(archs.length, 'score', process.stderr, { ...LOG_LINES, quiet: v.quiet, initial: kept.size });
  const fresh = new Map<number, ScoredCell>();
  try {
    const todo = archs.map((a, i) => ({ a, i })).filter(({ a }) => !kept.has(a));
    const keyOf = new Map(todo.map(({ a, i }) => [client.keyOf(settings, a), i]));
    if (kept.size) io.err(`resuming ${v.out}: ${kept.size} of ${archs.length} cells already scored\n`);
    const take = (got: Map<string, StoredResult>) => {
      const rows: Row[] = [];
      for (const [k, res] of got) {
        const i = keyOf.get(k);
        if (i === undefined || fresh.has(i)) continue;
        const c: ScoredCell = { arch: archs[i], scores: res.scores, timeMs: res.timeMs };
        fresh.set(i, c);
        rows.push(rowOf(c, accs));
      }
      stream?.append(rows);
    };
    // Results stored by an earlier run (of any machine) are taken as they are: nothing is scored twice.
    take(await client.stored([...keyOf.keys()]));
    const reused = fresh.size;
    const missing = todo.filter(({ i }) => !fresh.has(i));
    io.err(
      `scoring ${plural(missing.length, 'cell')} with ${proxies.join(', ')} on the ${r.device} workers of ${v.queue}${reused ? ` (${reused} found in the result store)` : ''}\n`,
    );
    for (let s = 0; s < missing.length; s += v['shard-size']) {
      await client.submit(
        'score-shard',
        settings,
        missing.slice(s, s + v['shard-size']).map((t) => t.a),
      );
    }
    const workers = await client.workersAlive();
    if (workers === 0 && missing.length) io.err(noWorkerNote(v.queue, r.device));
    bar.update(kept.size + fresh.size, plural(workers, 'worker'));
    while (client.pendingCount) {
      take(await client.next());
      bar.update(kept.size + fresh.size, plural(await client.workersAlive(), 'worker'));
    }
    bar.done();
  } finally {
    await client.close();
  }
  // In selection order, as a run on one machine writes them; population-level scores over all rows.
  finishRows(stream, rowsInOrder(archs, kept, fresh, proxies, aggs, accs), true, v.out, io);
}
