/**
 * SynFlow (Tanaka et al. 2020): R = sum of the logits of the network with |W| and BN removed on
 * an all-ones input; score ln sum over conv/linear weights of |W * dR/dW|.
 *
 * The reference (PyTorch, f64) reaches raw sums of ~2^166 on the deepest NAS-Bench-201 cells, far
 * beyond f32. With |W|, BN removed and an all-positive input every ReLU sees non-negative input, so
 * R is linear in the input and each |W * dR/dW| is a product of a forward activation and a backward
 * gradient: the input is scaled by 2^-a and the backward seed dR/dlogits by 2^-b, which scales every
 * activation by 2^-a, every gradient by 2^-b and the sum by 2^-(a+b). Powers of two are exact in
 * floating point, so every f32 intermediate keeps its mantissa (the score is the unscaled one bit
 * for bit) as long as nothing overflows or leaves the normal range. a is SYNFLOW_SHIFT unless the
 * forward leaves f32 range; b = floor(log2 R'), R' = 2^-a R the forward's logits summed, so that
 * the backward's gradients and each weight tensor's sum stay in range too.
 *
 * On the GPU b is derived on the device (synflowSeed), so the pass reads nothing between its
 * forward and backward; the one read at the end, with the sums, says whether the forward stayed in
 * range, and only where it did not (or where the device cannot tell b for certain) is the pass
 * redone as on the CPU backend: the forward read back (its R' in f64) and decided on the host.
 * Both paths give the same seed, so the same score, bit for bit.
 *
 * The network runs at f32 even under WGNAS_F16=1 (TapeOptions.precision): f16 operands would flush
 * the scaled activations and gradients to 0 or overflow them, where no check here could see it.
 */
import type { DeviceOnlyOps, Tensor } from '../backend/index.js';
import { SYNFLOW_SEED_CODES } from '../kernels/reference/synflow-seed.js';
import { Tape, type Var } from '../nn/tape.js';
import { definePass, defineProxy, imageFloats, imageShape, type NetContext } from './define.js';
import { gatherScalars, weightParams } from './passes.js';

/** a of the first forward: the input 2^-64 keeps every NAS-Bench-201 cell's forward in f32 range. */
const SYNFLOW_SHIFT = 64;
/**
 * Largest a or b (smallest input 2^-a, seed 2^-b): 26 binades above f32's smallest normal (2^-126),
 * so that products with weights and sums over a few layers stay normal (a subnormal, or a GPU's
 * flush to zero, would lose the mantissas that make the scaling exact). Together with f32's
 * largest 2^128 this covers networks of gain up to ~2^200 (the deepest NB201 cells: ~2^160).
 */
const MAX_SHIFT = 100;

/**
 * Forced scales, for tests: the input is 2^-input (no retry at another), the backward seed 2^-seed;
 * `host`: the forward read back and the scales chosen on the host, as on the CPU backend (what the
 * device path must equal). Any of them takes the host path.
 */
export interface SynflowScales {
  input?: number;
  seed?: number;
  host?: boolean;
}

interface SynflowResult {
  tape: Tape;
  ones: Tensor;
  seed: Tensor;
  /** a + b: the score's sum is 2^-shift times the unscaled one (the device path: a, until status is read). */
  shift: number;
  /** The device path's synflowSeed status (b, or a code for the host), read with the sums; else null. */
  status: Tensor | null;
}

interface Forward {
  tape: Tape;
  ones: Tensor;
  logits: Var;
  /** R' = the sum of the logits (f64 on the host): 2^-a R plus the classifier's |bias|. */
  r: number;
  /** The sum of the last feature map: 0 where nothing reaches it, or where it underflowed. */
  features: number;
}

/** |W| for every parameter of the network, in place. */
function linearise(ctx: NetContext): void {
  for (const p of ctx.net.params) {
    // Batch norm is the identity on this tape: its parameters are never read.
    if (p.kind === 'bn_gamma' || p.kind === 'bn_beta') continue;
    const a = ctx.backend.ops.abs(p.value);
    p.value.dispose();
    p.value = a;
  }
}

/** The linearised network's forward on one all-2^-a image, queued (nothing read); the caller owns tape and ones. */
function queueForward(ctx: NetContext, a: number): { tape: Tape; ones: Tensor; logits: Var; features: Var } {
  const { backend, net } = ctx;
  // f32 whatever WGNAS_F16 says: the 2^-a input and the 2^-b seed lie far below f16's range (2^-24),
  // and the range checks (runScaled, synflowSeed) see f32 sums, not operands f16 flushed to 0.
  const tape = new Tape(backend, { bnIdentity: true, precision: 'f32' });
  const ones = backend.upload(new Float32Array(imageFloats(ctx.batch)).fill(2 ** -a), imageShape(ctx.batch, 1));
  try {
    return { tape, ones, ...net.forward(tape, tape.input(ones)) };
  } catch (e) {
    tape.dispose();
    ones.dispose();
    throw e;
  }
}

/** The forward at a, with R' and the last feature map's sum read back. */
async function forwardAt(ctx: NetContext, a: number): Promise<Forward> {
  const { tape, ones, logits, features } = queueForward(ctx, a);
  try {
    const [r, fs] = (await Promise.all([logits.value.read(), features.value.read()])).map((v) => v.reduce((s, x) => s + x, 0));
    return { tape, ones, logits, r, features: fs };
  } catch (e) {
    tape.dispose();
    ones.dispose();
    throw e;
  }
}

const log2Floor = (r: number) => Math.floor(Math.log2(r));

function outOfRange(f: Forward, a: number): Error {
  const gain = Number.isFinite(f.r) ? `about 2^${log2Floor(f.r) + a}` : `over 2^${128 + a}`;
  return new Error(
    `synflow: the linearised network's gain (${gain}) is beyond f32 range even with the input and the gradients scaled by down to 2^-${MAX_SHIFT}`,
  );
}

/**
 * The forward at a = SYNFLOW_SHIFT, redone once at another a where that leaves the range: at
 * MAX_SHIFT where R' or the last feature map overflowed; at 0 where the feature map is all 0 (an
 * underflow; or nothing reaches it, and then it is 0 again and the score -Infinity: R' is not 0
 * then, it holds the classifier's |bias|); at a and b balanced where b would pass MAX_SHIFT. Then
 * the backward from the seed 2^-b, b = floor(log2 R') (0 where R' = 0). A unit h's dR/dh * h is
 * the part of R that flows through h, at most R, so scaled it is at most 2^-b R' < 2 (the bias
 * only makes R' larger than 2^-a R: b errs on the small side). With `redoAt`, the forward is
 * that redo (the device path found the first one out of range).
 */
async function runScaled(ctx: NetContext, scales: SynflowScales = {}, redoAt?: number): Promise<SynflowResult> {
  let a = redoAt ?? scales.input ?? SYNFLOW_SHIFT;
  let f = await forwardAt(ctx, a);
  let seed: Tensor | null = null;
  try {
    if (scales.input === undefined && redoAt === undefined) {
      let next: number | null = null;
      if (!Number.isFinite(f.r) || !Number.isFinite(f.features)) next = MAX_SHIFT;
      else if (f.features === 0) next = 0;
      else if (log2Floor(f.r) > MAX_SHIFT) next = Math.min(MAX_SHIFT, Math.ceil((a + log2Floor(f.r)) / 2));
      if (next !== null) {
        const old = f;
        f = await forwardAt(ctx, next);
        a = next;
        old.tape.dispose();
        old.ones.dispose();
      }
    }
    if (!Number.isFinite(f.r) || !Number.isFinite(f.features)) throw outOfRange(f, a);
    const b = scales.seed ?? (f.r > 0 ? Math.max(-MAX_SHIFT, log2Floor(f.r)) : 0);
    if (b > MAX_SHIFT && scales.seed === undefined) throw outOfRange(f, a);
    seed = ctx.backend.upload(new Float32Array(f.logits.value.size).fill(2 ** -b), f.logits.shape);
    f.tape.backward(f.logits, seed);
    return { tape: f.tape, ones: f.ones, seed, shift: a + b, status: null };
  } catch (e) {
    f.tape.dispose();
    f.ones.dispose();
    seed?.dispose();
    ctx.net.zeroGrad();
    throw e;
  }
}

/**
 * The device path: the forward at a = SYNFLOW_SHIFT and the backward from the seed the device
 * derives from it, with no read in between. Whether the forward stayed in range is read at the end
 * (synflowOf), with the sums.
 */
function runOnDevice(ctx: NetContext, ops: DeviceOnlyOps): SynflowResult {
  const { backend, net } = ctx;
  const { tape, ones, logits, features } = queueForward(ctx, SYNFLOW_SHIFT);
  let seed: Tensor | null = null;
  let status: Tensor | null = null;
  try {
    seed = backend.empty(logits.shape);
    status = backend.empty([1]);
    ops.synflowSeed(logits.value, features.value, seed, status, MAX_SHIFT);
    tape.backward(logits, seed);
    return { tape, ones, seed, shift: SYNFLOW_SHIFT, status };
  } catch (e) {
    tape.dispose();
    ones.dispose();
    seed?.dispose();
    status?.dispose();
    net.zeroGrad();
    throw e;
  }
}

/** R's forward/backward on the linearised network: on the device where the backend can, else with the host's reads. */
function runSynflow(ctx: NetContext, scales: SynflowScales = {}): Promise<SynflowResult> | SynflowResult {
  const ops = ctx.backend.deviceOnly;
  const forced = scales.input !== undefined || scales.seed !== undefined || scales.host;
  return ops && !forced ? runOnDevice(ctx, ops) : runScaled(ctx, scales);
}

function release(r: SynflowResult, ctx: NetContext): void {
  r.tape.dispose();
  r.ones.dispose();
  r.seed.dispose();
  r.status?.dispose();
  r.status = null;
  ctx.net.zeroGrad();
}

/** Linearises the network in place (|W| for every parameter) and runs R's forward/backward. */
const synflowPass = definePass<SynflowResult>({
  name: 'synflow',
  order: 100,
  mutatesNet: true,
  async run(ctx) {
    linearise(ctx);
    return runSynflow(ctx);
  },
  release,
});

async function synflowOf(r: SynflowResult, ctx: NetContext): Promise<number> {
  // A weight without a gradient (R never reaches it) has dR/dW = 0 and adds 0. When nothing
  // reaches the input side (the cell's output node receives nothing) the sum is 0 and the score
  // ln 0 = -Infinity; the reference (NASLib) stores the raw sum, 0, there.
  const ws = weightParams(ctx.net).filter((p) => p.grad);
  const sums = ws.map((p) => ctx.backend.ops.sumAbsProduct(p.value, p.grad!));
  // The device path's status comes in the same read (gatherScalars disposes it).
  const status = r.status;
  r.status = null;
  const v = await gatherScalars(ctx.backend, status ? [...sums, status] : sums);
  if (status) {
    const code = v.pop()!;
    if (code >= SYNFLOW_SEED_CODES.redoAtMax) {
      // Out of range, or b not certain from the f32 sum: redone with the host's reads, as on the CPU.
      const redoAt = code === SYNFLOW_SEED_CODES.redoAtMax ? MAX_SHIFT : code === SYNFLOW_SEED_CODES.redoAtZero ? 0 : undefined;
      release(r, ctx);
      Object.assign(r, await runScaled(ctx, {}, redoAt));
      return synflowOf(r, ctx);
    }
    r.shift += code;
  }
  const sum = v.reduce((s, x) => s + x, 0);
  if (!Number.isFinite(sum)) throw new Error(`synflow: the scaled sum of |W * dR/dW| is ${sum} (scaled by 2^-${r.shift})`);
  // Reported as a natural log (the raw sum exceeds f32 range for deep NB201 cells), in the form it
  // had when the scale was always 2^-SYNFLOW_SHIFT: the f64 product is exact, so scores that fit
  // that scale are the same bit for bit whatever a and b are.
  return Math.log(sum * 2 ** (r.shift - SYNFLOW_SHIFT)) + SYNFLOW_SHIFT * Math.LN2;
}

/**
 * SynFlow of ctx.net (linearised in place: build a fresh network for anything else) with the given
 * input and seed scales; the proxy's own choice where they are left out (the seed derived on the
 * device where the backend can, unless any of `scales` is given).
 */
export async function synflowScore(ctx: NetContext, scales?: SynflowScales): Promise<number> {
  linearise(ctx);
  const r = await runSynflow(ctx, scales);
  try {
    return await synflowOf(r, ctx);
  } finally {
    release(r, ctx);
  }
}

export const synflow = defineProxy({
  name: 'synflow',
  description: 'SynFlow: ln sum |W * dR/dW| with |W|, BN removed, all-ones input',
  // Merge tolerance: CPU vs lavapipe up to 4.7e-8 (docs/reliability.md).
  mergeRtol: 1e-5,
  pass: synflowPass,
  compute: synflowOf,
});
