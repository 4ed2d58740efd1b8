/**
 * Fault injection on `wgnas proxyless` (real child processes on the GPU, tiny shapes): one run is
 * SIGKILLed again and again (inside each step of the checkpoint write, and once after a random
 * delay), resumed each time, and must end bit-identical to an uninterrupted run: same derived
 * net.config, same α, Adam state and weights. After every kill the checkpoint on disk is whole
 * (its manifest verifies); at the end nothing half-written is left.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Several CLI children per test; lavapipe on a shared 2-core machine can be slow.
const SLOW = { timeout: 900_000 };
import { hasCheckpoint, readCheckpoint } from '../src/proxyless/checkpoint.js';
import { wgnasChild } from './helpers/child.js';
import { testGpu } from './helpers/gpu.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-rel-proxyless-'));
const TABLE = '../shared/data/latency/proxylessnas_mobile_trim.yaml';
const ARGS = [
  'proxyless', '--latency-table', TABLE, '--target-ms', '40', '--warmup', '2', '--steps', '4', '--batch', '4', '--val-batch', '4',
  '--train', '40', '--val', '20', '--checkpoint-every', '1', '--log-every', '100',
];

/** What must be bit-identical between two finished runs. */
function finalState(dir: string, out: string) {
  const ck = readCheckpoint(dir);
  const { seconds: _s, ...counters } = ck.meta.counters as Record<string, unknown>;
  return { net: readFileSync(out, 'utf8'), alpha: ck.meta.alpha, adam: ck.meta.adam, counters, files: ck.meta.files };
}

function tempLeftovers(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((n) => n.endsWith('.tmp') || n === 'lock');
}

describe('proxyless survives kills', () => {
  it('killed inside every step of the checkpoint write and at a random moment, it resumes to the uninterrupted result', SLOW, async () => {
    if (!(await testGpu())) return;
    const refDir = join(tmp, 'ref');
    const refOut = join(tmp, 'ref.json');
    const ref = await wgnasChild([...ARGS, '--checkpoint', refDir, '--out', refOut]);
    expect(ref.code, ref.stderr).toBe(0);
    const want = finalState(refDir, refOut);

    const dir = join(tmp, 'run');
    const out = join(tmp, 'run.json');
    // checkpoint.file passes 3 times per save (weights, momentum, state); the others once.
    const plan = [
      'checkpoint.file:2',
      'checkpoint.dir-renamed:2',
      'checkpoint.current.tmp-written:1',
      'checkpoint.current.renamed:2',
      'checkpoint.switched:1',
      `random`,
    ];
    const log: string[] = [];
    for (const point of plan) {
      const resume = hasCheckpoint(dir) ? ['--resume'] : [];
      // A random moment between start-up and the end of a short segment.
      const killAfterMs = point === 'random' ? 2500 + Math.floor(Math.random() * 5000) : undefined;
      const r = await wgnasChild([...ARGS, '--checkpoint', dir, '--out', out, ...resume], point === 'random' ? { killAfterMs } : { killAt: point });
      log.push(`${point}${killAfterMs ? ` (${killAfterMs} ms)` : ''}: ${r.signal ?? `exit ${r.code}`}`);
      if (point !== 'random') expect(r.signal, `${point}: ${r.stderr}`).toBe('SIGKILL');
      else expect(r.signal === 'SIGKILL' || r.code === 0, r.stderr).toBe(true);
      // Whatever the moment, the checkpoint on disk is whole and the output is absent or complete.
      if (hasCheckpoint(dir)) expect(() => readCheckpoint(dir), point).not.toThrow();
      if (existsSync(out)) expect(() => JSON.parse(readFileSync(out, 'utf8')), point).not.toThrow();
    }
    const last = await wgnasChild([...ARGS, '--checkpoint', dir, '--out', out, ...(hasCheckpoint(dir) ? ['--resume'] : [])]);
    expect(last.code, `${log.join('; ')}\n${last.stderr}`).toBe(0);
    expect(finalState(dir, out), log.join('; ')).toEqual(want);
    expect(tempLeftovers(dir)).toEqual([]);
    expect(readdirSync(dir).sort()).toHaveLength(2); // current + one ckpt-N
  });

  it('resuming with another --seed or --lambda is refused in one line before any step', SLOW, async () => {
    if (!(await testGpu())) return;
    const dir = join(tmp, 'run');
    for (const [flag, value, was] of [
      ['--seed', '2', '1'],
      ['--lambda', '5', '2'],
    ]) {
      const r = await wgnasChild([...ARGS, '--checkpoint', dir, '--resume', flag, value]);
      expect(r.code).toBe(1);
      expect(r.stderr).not.toMatch(/^(warmup|search)\s+\d+\//m);
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^wgnas: ResumeMismatchError: --resume: ${flag} was ${was}, now ${value}; `));
    }
  });
});
