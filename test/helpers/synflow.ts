/** Shared by the SynFlow tests: fresh networks, their parameters scaled to push the score's range, and the cells and batch they score. */
import type { Backend } from '../../src/backend/index.js';
import { NB201_DEFAULT, nb201Factory } from '../../src/nn/nb201-net.js';
import type { ScorableNet } from '../../src/nn/scorable.js';
import { imageShape, type NetContext, type ProxyBatch } from '../../src/proxies/define.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';

/** Multiplies a parameter by 2^k (exact: a power of two, rounded on the host). */
export async function scaleParam(b: Backend, net: ScorableNet, name: string, k: number): Promise<void> {
  const p = net.params.find((q) => q.name === name)!;
  const t = b.upload(
    (await p.value.read()).map((x) => x * 2 ** k),
    p.shape,
  );
  p.value.dispose();
  p.value = t;
}

/** SynFlow reads only the batch's image shape (its input is all ones): two blank images. */
export const SYNFLOW_BATCH: ProxyBatch = { x: new Float32Array(2 * 3 * 32 * 32), y: new Float32Array(2), n: 2 };
export const SYNFLOW_SEED = 1;
/** A cell whose raw sum (~2^88) fit the old fixed scale (input 2^-64, seed 1). */
export const MID_CELL = '|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|';
/** The reference's largest SynFlow (raw sum ~2^165, ln 114.83): the old fixed scale gave +Infinity. */
export const TOP_CELL = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|';

/**
 * `body` on a fresh NB201 network of `arch` (weights from Rng(SYNFLOW_SEED), each parameter named in
 * `scale` then multiplied by 2^k) with SYNFLOW_BATCH uploaded; all of it disposed after.
 */
export async function onFreshNet<T>(
  b: Backend,
  arch: string,
  scale: Record<string, number>,
  body: (ctx: NetContext) => Promise<T>,
): Promise<T> {
  const factory = nb201Factory(b, parseArch(arch), NB201_DEFAULT);
  const net = factory.build('pytorch', new Rng(SYNFLOW_SEED));
  const x = b.upload(SYNFLOW_BATCH.x, imageShape(SYNFLOW_BATCH));
  const y = b.upload(SYNFLOW_BATCH.y, [SYNFLOW_BATCH.n]);
  try {
    for (const [name, k] of Object.entries(scale)) await scaleParam(b, net, name, k);
    return await body({ backend: b, factory, net, batch: SYNFLOW_BATCH, x, y, seed: SYNFLOW_SEED });
  } finally {
    net.dispose();
    x.dispose();
    y.dispose();
  }
}
