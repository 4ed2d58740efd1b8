/**
 * The WRCor family of whole NAS-Bench-201 networks (17 cells and reduction blocks, so wrcor weighs
 * up to 2^17, as the authors' net.cells and lastact) on both backends against the f64 reference from the same network's ReLU
 * records, and the rule for constant responses: a matrix with a constant row adds nothing, so a
 * dead network's scores do not depend on the other proxies asked for, and a network with nothing
 * left scores -Infinity.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { nb201Factory, type Nb201NetConfig } from '../../src/nn/nb201-net.js';
import type { NetContext, ProxyBatch } from '../../src/proxies/define.js';
import { scoreNet } from '../../src/proxies/index.js';
import { cePass } from '../../src/proxies/passes.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';
import { bothBackends } from '../helpers/backend.js';
import { type HostRelu, wrcorReference } from '../helpers/wrcor-reference.js';

const NET: Nb201NetConfig = { channels: 2, cellsPerStage: 5, numClasses: 10 };
const SEED = 4;
const N = 6;
const rng = new Rng(12);
const BATCH: ProxyBatch = { x: rng.normals(N * 3 * 32 * 32), y: Float32Array.from({ length: N }, (_, i) => (3 * i) % 10), n: N };
const MEMBERS = ['wrcor', 'wrcor_act', 'wrcor_grad', 'wrcor_unweighted', 'wrcor_stage'] as const;

const CELLS = {
  mixed: '|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|',
  // The output node receives nothing: only the first cell's convs see a varying input.
  dead: '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|',
  // No conv in any cell and a constant input to every ReLU: nothing left.
  allNone: '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|',
} as const;

let backends: Array<{ name: string; backend: Backend | null }> = [];
beforeAll(async () => {
  backends = await bothBackends();
});

/** The network's ReLU records after the cross-entropy pass, copied to the host. */
async function hostRelus(be: Backend, arch: string): Promise<Array<HostRelu & { name: string }>> {
  const factory = nb201Factory(be, parseArch(arch), NET);
  const net = factory.build('pytorch', new Rng(SEED));
  const x = be.upload(BATCH.x, [N, 3, 32, 32]);
  const y = be.upload(BATCH.y, [N]);
  const ctx: NetContext = { backend: be, factory, net, batch: BATCH, x, y, seed: SEED };
  const r = await cePass.run(ctx, { backward: true });
  try {
    return await Promise.all(
      r.relus.map(async (rec) => ({
        name: rec.name,
        d: rec.input.size / N,
        block: rec.block,
        module: rec.module,
        a: await rec.input.read(),
        g: rec.gradInput ? await rec.gradInput.read() : undefined,
      })),
    );
  } finally {
    cePass.release?.(r, ctx);
    net.dispose();
    x.dispose();
    y.dispose();
  }
}

function expectNear(got: number, want: number, rtol: number, what: string): void {
  if (!Number.isFinite(want)) expect(got, what).toBe(want);
  else expect(Math.abs(got - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(rtol * Math.abs(want));
}

describe('the WRCor family of NAS-Bench-201 networks (5 cells per stage) against the f64 reference', () => {
  for (const i of [0, 1]) {
    it(`${['webgpu', 'cpu'][i]}: ReLU places, every member, and the same scores with weight gradients taken`, async ({
      skip,
    }) => {
      const be = backends[i]?.backend;
      if (!be) return skip();
      for (const [label, arch] of Object.entries(CELLS)) {
        const host = await hostRelus(be, arch);
        // Cells and reduction blocks in order (the authors' net.cells: 5 cells, reduction block 1,
        // 5 cells, reduction block 2, 5 cells), the final ReLU (their lastact) one past the 17th.
        const places = new Map(host.map((h) => [h.module, h.block]));
        if (label !== 'allNone') expect(places.get(0), label).toBe(0);
        expect(places.get(5), label).toBe(1); // reduction block 1
        expect(places.get(11), label).toBe(2); // reduction block 2
        expect(places.get(17), label).toBe(2); // last.relu
        expect(host.at(-1)!.name).toBe('last.relu');
        for (const h of host) expect(h.block, h.name).toBe(h.module < 5 ? 0 : h.module < 11 ? 1 : 2);

        const ref = wrcorReference(host, N);
        const { scores } = await scoreNet(be, nb201Factory(be, parseArch(arch), NET), ['wrcor'], BATCH, SEED);
        for (const m of MEMBERS) expectNear(scores[m], ref[m], 1e-4, `${label} ${m}`);
        const withGrads = await scoreNet(be, nb201Factory(be, parseArch(arch), NET), ['wrcor', 'grad_norm'], BATCH, SEED);
        for (const m of MEMBERS) expect(withGrads.scores[m], `${label} ${m} with grad_norm`).toBe(scores[m]);

        if (label === 'mixed') for (const m of MEMBERS) expect(Number.isFinite(scores[m]), m).toBe(true);
        if (label === 'dead') {
          // Every gradient is zero and skipped; the first cell's convs keep the activation term (weight 1 both ways).
          expect(scores.wrcor_grad).toBe(-Infinity);
          expect(Number.isFinite(scores.wrcor)).toBe(true);
          expect(scores.wrcor_stage).toBe(scores.wrcor);
        }
        if (label === 'allNone') for (const m of MEMBERS) expect(scores[m], m).toBe(-Infinity);
      }
    }, 300_000);
  }
});
