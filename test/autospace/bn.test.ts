/**
 * AutoSpace's batch norm: every BN the evolution runs (skeleton and cells, weight and fitness steps)
 * takes bnEps, and what it writes (the learned space's `bn`, the --train-out network.json that
 * `wgnas train` runs) says the same eps and bnMomentum. Defaults: PyTorch's 1e-5 and 0.1, as
 * evolve-space always ran. Bad values are refused in one line naming the flag.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AutoSpace, DEFAULT_EVOLVE, type EvolveConfig } from '../../src/autospace/evolve.js';
import type { Backend } from '../../src/backend/index.js';
import { cifarSearchSplit } from '../../src/data/search-split.js';
import { fixedMadds } from '../../src/mobilenet/madds.js';
import { Tape } from '../../src/nn/tape.js';
import { cpuTestBackend, methodBackend } from '../helpers/backend.js';
import { TINY_CIFAR_LAYOUT } from '../helpers/cases.js';
import { wgnasCapturingStderr, wgnasInProcess } from '../helpers/cli.js';
import { writeImageFolder } from '../helpers/datasets.js';

let backend: Backend | null;
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-autospace-bn-'));
beforeAll(async () => {
  backend = await methodBackend();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const tiny = (over: Partial<EvolveConfig>): EvolveConfig => ({
  ...DEFAULT_EVOLVE,
  layout: TINY_CIFAR_LAYOUT,
  budgetMadds: fixedMadds(TINY_CIFAR_LAYOUT) + 200_000,
  populationSize: 3,
  k: 2,
  iterations: 1,
  steps: 1,
  warmupSteps: 1,
  minEvaluations: 1,
  guideIterations: 1,
  batchSize: 8,
  ...over,
});

/** The eps of every BN the tape ran while `f` ran (fused with ReLU6 or not). */
async function bnEpsDuring(f: () => Promise<unknown>): Promise<number[]> {
  const eps: number[] = [];
  const bn = Tape.prototype.batchNorm;
  const bnRelu = Tape.prototype.batchNormRelu6;
  vi.spyOn(Tape.prototype, 'batchNorm').mockImplementation(function (this: Tape, ...a: Parameters<Tape['batchNorm']>) {
    eps.push(a[5] as number);
    return bn.apply(this, a);
  });
  vi.spyOn(Tape.prototype, 'batchNormRelu6').mockImplementation(function (this: Tape, ...a: Parameters<Tape['batchNormRelu6']>) {
    eps.push(a[6] as number);
    return bnRelu.apply(this, a);
  });
  await f();
  vi.restoreAllMocks();
  return eps;
}

describe('AutoSpace BN', () => {
  it("defaults: PyTorch's eps 1e-5 and momentum 0.1; bad values refused", () => {
    expect([DEFAULT_EVOLVE.bnEps, DEFAULT_EVOLVE.bnMomentum]).toEqual([1e-5, 0.1]);
    const data = cifarSearchSplit(16, 16);
    expect(() => new AutoSpace(null as unknown as Backend, tiny({ bnEps: 0 }), data)).toThrow(/BN eps must be > 0, got 0/);
    expect(() => new AutoSpace(null as unknown as Backend, tiny({ bnMomentum: 1.5 }), data)).toThrow(
      /BN momentum must be in \(0, 1\], got 1\.5/,
    );
  });

  it('every BN of the warm-up, weight and fitness steps runs at bnEps; the learned space records it', async ({ skip }) => {
    if (!backend) return skip();
    for (const bn of [
      { eps: 1e-3, momentum: 0.05 },
      { eps: DEFAULT_EVOLVE.bnEps, momentum: DEFAULT_EVOLVE.bnMomentum },
    ]) {
      const evo = new AutoSpace(backend, tiny({ bnEps: bn.eps, bnMomentum: bn.momentum }), cifarSearchSplit(32, 16));
      try {
        let space: unknown;
        const eps = await bnEpsDuring(async () => (space = (await evo.run()).space));
        // Stem, first block and feature mix, and the mixed cells' BNs, in three kinds of step.
        expect(eps.length).toBeGreaterThan(3 * 6);
        expect(new Set(eps)).toEqual(new Set([bn.eps]));
        expect((space as { bn: unknown }).bn).toEqual({ momentum: bn.momentum, eps: bn.eps });
      } finally {
        evo.dispose();
      }
    }
  });

  it(
    'evolve-space --bn-eps/--bn-momentum: the space file and the --train-out network say them, and wgnas train runs at them',
    { timeout: 240_000 },
    async ({ skip }) => {
      if (!cpuTestBackend()) return skip();
      const data = join(tmp, 'folder');
      await writeImageFolder(join(data, 'train'), [20, 20], { format: 'png' });
      await writeImageFolder(join(data, 'test'), [2, 2], { format: 'png' });
      const out = join(tmp, 'space.json');
      const trained = join(tmp, 'trained');
      const r = await wgnasCapturingStderr([
        ...['evolve-space', '--budget-madds', '6M', '--population', '3', '--k', '2', '--iterations', '1', '--steps', '1'],
        ...['--warmup', '1', '--replace-every', '1', '--min-evals', '1', '--batch', '4', '--train', '16', '--val', '16'],
        ...['--dataset', `folder:${data}`, '--device', 'cpu', '--cpu-threads', '1', '--quiet'],
        ...['--bn-eps', '1e-3', '--bn-momentum', '0.05', '--out', out, '--train-epochs', '1', '--train-out', trained],
      ]);
      expect(r.code, r.err).toBe(0);
      const read = (f: string) => JSON.parse(readFileSync(f, 'utf8'));
      expect(read(out).bn).toEqual({ momentum: 0.05, eps: 1e-3 });
      expect(read(join(trained, 'network.json')).bn).toEqual({ momentum: 0.05, eps: 1e-3 });
      const report = read(join(trained, 'report.json'));
      expect(JSON.stringify(report)).toMatch(/MobileNet cell network, layout cifar .*, BN eps 0\.001"/);
      expect(JSON.stringify(report)).toMatch(/"bn-momentum":0\.05/);
      // Out of range: one line naming the flag, before any work.
      for (const [flag, value] of [
        ['--bn-eps', '0'],
        ['--bn-momentum', '1.5'],
      ]) {
        const bad = await wgnasInProcess(['evolve-space', '--budget-madds', '6M', flag, value]);
        expect(bad.code).toBe(2);
        expect(bad.err.trim().split('\n')).toHaveLength(1);
        expect(bad.err).toMatch(new RegExp(`${flag}`));
      }
    },
  );
});
