/**
 * The same --seed twice gives the same result, on the CPU backend (2 threads): the JSON of
 * `wgnas search` (NB201 and a --space-file under a MAdds budget), `wgnas proxyless` (gradient and
 * REINFORCE: its net.config and the checkpointed α) and `wgnas evolve-space` (the learned space and
 * the per-iteration history), with only wall-clock fields, creation times and provenance left out; another seed
 * gives another result.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CIFAR_LAYOUT } from '../../src/mobilenet/layout.js';
import { handDesignedSpace, writeSpaceFile } from '../../src/mobilenet/space-file.js';
import { readCheckpointState } from '../../src/nn/checkpoint.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { TABLE, wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-seed-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CPU = ['--device', 'cpu', '--cpu-threads', '2'];
/** Wall-clock fields (and the creation date, and the provenance: each run's date and command line) differ between runs by design. */
const TIMING = new Set(['seconds', 'msPerStep', 'createdAt', 'secondsPerArch', 'provenance']);

function stripTiming(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripTiming);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !TIMING.has(k))
        .map(([k, x]) => [k, stripTiming(x)]),
    );
  return v;
}

async function json(argv: string[], file?: string): Promise<unknown> {
  const r = await wgnasInProcess(argv);
  expect(r.code, r.err).toBe(0);
  return stripTiming(JSON.parse(file ? readFileSync(file, 'utf8') : r.out));
}

describe.skipIf(cpuTestBackend() === null)('the same --seed twice gives the same JSON (CPU backend)', () => {
  it('search: NB201 evolution', { timeout: 300_000 }, async () => {
    const run = (seed: number) =>
      json([
        ...['search', '--strategy', 'evolution', '--budget', '6', '--population', '3', '--sample-size', '2'],
        ...['--batch', '8', '--quiet', '--json', '--seed', String(seed), ...CPU],
      ]);
    const a = await run(5);
    expect(await run(5)).toEqual(a);
    expect(await run(6)).not.toEqual(a);
  });

  it('search --space-file: evolution under a MAdds budget', { timeout: 300_000 }, async () => {
    const space = join(tmp, 'hand.json');
    writeSpaceFile(space, handDesignedSpace(CIFAR_LAYOUT));
    const run = (seed: number) =>
      json([
        ...['search', '--space-file', space, '--strategy', 'evolution', '--budget', '5', '--population', '3'],
        ...['--sample-size', '2', '--budget-madds', '6M', '--batch', '8', '--quiet', '--json', '--seed', String(seed), ...CPU],
      ]);
    const a = (await run(3)) as { madds: number };
    expect(a.madds).toBeLessThanOrEqual(6e6);
    expect(await run(3)).toEqual(a);
    expect(await run(4)).not.toEqual(a);
  });

  for (const mode of ['gradient', 'reinforce'] as const) {
    it(`proxyless --mode ${mode}: the net.config and the final α`, { timeout: 300_000 }, async () => {
      const run = async (seed: number, tag: string) => {
        const ck = join(tmp, `ck-${mode}-${tag}`);
        const out = join(tmp, `net-${mode}-${tag}.config`);
        const net = await json(
          [
            ...['proxyless', '--latency-table', TABLE, '--target-ms', '40', '--mode', mode, '--warmup', '1', '--steps', '3'],
            // REINFORCE's architectures share one validation batch: on 4 images all may score 0
            // (reward 0 whatever the latency: no step), on the 16 of the split some do not.
            ...['--batch', '4', '--val-batch', mode === 'reinforce' ? '16' : '4', '--train', '16', '--val', '16'],
            ...['--rl-samples', '2', '--arch-every', '1'],
            ...['--checkpoint', ck, '--out', out, '--seed', String(seed), ...CPU],
          ].filter((a, i, all) => mode === 'reinforce' || (a !== '--rl-samples' && all[i - 1] !== '--rl-samples')),
          out,
        );
        const alpha = readCheckpointState(ck).meta.alpha as number[][];
        return { net, alpha };
      };
      const a = await run(7, 'a');
      expect(a.alpha.flat().some((v) => v !== 0)).toBe(true);
      expect(await run(7, 'b')).toEqual(a);
      expect((await run(8, 'c')).alpha).not.toEqual(a.alpha);
    });
  }

  it('evolve-space: the learned space and its history', { timeout: 300_000 }, async () => {
    const run = async (seed: number, tag: string) => {
      const out = join(tmp, `space-${tag}.json`);
      const history = join(tmp, `history-${tag}.json`);
      const space = await json(
        [
          ...['evolve-space', '--budget-madds', '6M', '--population', '4', '--k', '2', '--iterations', '2', '--steps', '1'],
          ...['--warmup', '1', '--replace-every', '1', '--min-evals', '1', '--batch', '4', '--train', '16', '--val', '16'],
          ...['--out', out, '--history', history, '--seed', String(seed), ...CPU],
        ],
        out,
      );
      return { space, history: stripTiming(JSON.parse(readFileSync(history, 'utf8'))) };
    };
    const a = await run(2, 'a');
    expect(await run(2, 'b')).toEqual(a);
    expect(await run(3, 'c')).not.toEqual(a);
  });
});
