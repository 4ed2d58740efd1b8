/**
 * The `wgnas train` parity tests against PyTorch, for one backend (torch-parity.test.ts: the CPU
 * backend; torch-parity.gpu.test.ts: WGSL). wgnas's own loop (Trainer.run, augmentation off) trains
 * the fixture's network from its initial weights on its batches; PyTorch's run of the same
 * (scripts/train-reference.py, float64, stored as f32) is what it must reproduce, step for step.
 * The fixtures (test/fixtures/train-parity/{nb201,nb201-none-fed,nb201-recipe,mbconv,mbconv-eps}.*; the cases:
 * test/helpers/train-parity.ts: NB201 cells, one under NAS-Bench-201's recipe, and a ProxylessNAS
 * MBConv net.config)
 * are regenerated with
 *
 *   for c in nb201 nb201-none-fed nb201-recipe mbconv mbconv-eps; do
 *     npx tsx scripts/train-parity-inputs.ts $c /tmp/$c-in.json &&
 *       /usr/bin/python3 scripts/train-reference.py /tmp/$c-in.json test/fixtures/train-parity/$c.json
 *   done
 *
 * train-reference.py also prints how near the ReLU kinks each trajectory passes against how far
 * f32 rounding moves the ReLU inputs ('kinks: worst margin/deviation ratio'): where it is not well
 * above 1, a last-bit change in any kernel can flip a ReLU's gradient and move the run by ~1e-3
 * (nb201, the recipe and MBConv cases pick their batch-order seeds for it: NB201_PARITY,
 * NB201_RECIPE_PARITY, MBCONV_PARITY; nb201-none-fed gives 25.5 under seed 5).
 *
 * Tensors are compared by max |wgnas - torch| / max(max |torch|, 1e-3) (scaledMaxError). The floor
 * is for s2.c0.e5.bn.beta: that BN's output reaches the loss only through last.bn, whose
 * training-mode backward leaves every channel's gradient summing to 0, so its beta's gradient is 0
 * in exact arithmetic and both sides hold roundoff (wgnas f32 ~1e-9, PyTorch f64 ~1e-18).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { describeNetwork, exportGraph } from '../../src/export/index.js';
import { referenceForward } from '../../src/export/reference.js';
import { writeWeights } from '../../src/export/weights.js';
import {
  type ParityRun,
  parityNetwork,
  parityTitle,
  readParityFixture,
  scaledMaxError,
  trainFromFixture,
} from '../helpers/train-parity.js';

export interface ParityTolerance {
  /** Relative error of each step's loss. */
  loss: number;
  /** scaledMaxError of parameters, running statistics and eval logits. */
  tensor: number;
}

export function describeTorchParity(
  fixture: string,
  label: string,
  backendOf: () => Promise<Backend | null>,
  tol: ParityTolerance,
): void {
  const fx = readParityFixture(`test/fixtures/train-parity/${fixture}.json`);
  const torch = fx.meta.torch!;
  const c = fx.meta.case;
  const title = `${fixture} (${parityTitle(c)}, ${fx.meta.steps.length} steps${c.settings.recipe ? `, recipe ${c.settings.recipe}` : ''})`;
  describe(`wgnas train against PyTorch ${torch.version} (${label}): ${title}`, () => {
    let run: ParityRun | null = null;
    beforeAll(async () => {
      const backend = await backendOf();
      if (backend) run = await trainFromFixture(backend, fx);
    }, 240_000);
    const ran = (): ParityRun => {
      if (!run) throw new Error(`no ${label} backend`);
      return run;
    };

    /** The worst tensor among `names` (wgnas name -> fixture name 'torch.<name>'). */
    const worst = (names: string[]): { name: string; err: number } => {
      const w = ran().weights;
      return names
        .map((name) => {
          const mine = w.get(name);
          if (!mine) throw new Error(`wgnas has no tensor '${name}'`);
          return { name, err: scaledMaxError(mine.data, fx.tensor(`torch.${name}`)) };
        })
        .reduce((a, b) => (b.err > a.err ? b : a));
    };

    it('trains on the fixture batches, in the trainer order', () => {
      expect(ran().batches).toEqual(fx.meta.steps);
    });

    it('sets the learning rate of every step as PyTorch did (warm-up (t+1)/W, then cosine)', () => {
      const lrs = ran().lrs;
      expect(lrs).toHaveLength(torch.lrs.length);
      lrs.forEach((lr, t) => expect(lr, `step ${t}`).toBeCloseTo(torch.lrs[t], 12));
    });

    it('has the label-smoothed loss of every step', () => {
      const losses = ran().losses;
      expect(losses).toHaveLength(torch.losses.length);
      for (let t = 0; t < losses.length; t++) {
        expect(Math.abs(losses[t] - torch.losses[t]) / torch.losses[t], `step ${t}`).toBeLessThan(tol.loss);
      }
    });

    it('ends with the same parameters (Nesterov momentum, weight decay on conv and linear weights only)', () => {
      const w = worst(fx.meta.params.map((p) => p.name));
      expect(w.err, w.name).toBeLessThan(tol.tensor);
    });

    it('ends with the same BN running statistics (momentum 0.1, unbiased variance)', () => {
      const names = fx.meta.tensors
        .map((t) => /^torch\.(.*\.running_(mean|var))$/.exec(t.name)?.[1])
        .filter((n): n is string => n !== undefined);
      expect(names.length).toBeGreaterThan(0);
      expect([...ran().weights.keys()].filter((k) => k.includes('.running_')).sort()).toEqual([...names].sort());
      const w = worst(names);
      expect(w.err, w.name).toBeLessThan(tol.tensor);
    });

    it('writes weights that wgnas export turns into a model with the same eval logits', () => {
      const dir = mkdtempSync(join(tmpdir(), 'wgnas-parity-'));
      try {
        const net = parityNetwork(c);
        const path = join(dir, 'weights.json');
        writeWeights(path, ran().weights, describeNetwork(net));
        const logits = referenceForward(exportGraph(net, { weights: path }), fx.tensor('input.test'));
        expect(scaledMaxError(logits, fx.tensor('torch.eval_logits'))).toBeLessThan(tol.tensor);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('gives the same eval-mode logits, test loss and accuracy', () => {
      const r = ran();
      expect(scaledMaxError(r.evalLogits, fx.tensor('torch.eval_logits'))).toBeLessThan(tol.tensor);
      expect(Math.abs(r.evalLoss - torch.evalLoss) / torch.evalLoss).toBeLessThan(tol.loss);
      expect(r.evalAcc).toBe(torch.evalAcc);
    });
  });
}
