/**
 * Running an exported model in onnxruntime-node (a development dependency of wgnas, loaded only when
 * asked for): outputs for the export tests, latency for `wgnas predict --runtime onnxruntime`.
 */
import { UserFacingError } from '../util/errors.js';

export class OnnxRuntimeUnavailableError extends UserFacingError {
  override readonly name = 'OnnxRuntimeUnavailableError';
}

type Ort = typeof import('onnxruntime-node');

// A name, not a literal: bundlers (scripts/device-bundle.sh) leave the optional native module out.
const ORT_MODULE = 'onnxruntime-node';

async function loadOrt(): Promise<Ort> {
  try {
    return (await import(ORT_MODULE)) as Ort;
  } catch (e) {
    throw new OnnxRuntimeUnavailableError(
      `onnxruntime-node cannot be loaded (${(e as Error).message.split('\n')[0]}): npm install onnxruntime-node`,
    );
  }
}

export interface OrtOptions {
  /** Intra-op threads. Default 1. */
  threads?: number;
}

async function session(model: Uint8Array, o: OrtOptions) {
  const ort = await loadOrt();
  const s = await ort.InferenceSession.create(model, {
    intraOpNumThreads: o.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  });
  return { ort, s };
}

/** The model's logits for `input` [N, C, H, W]. */
export async function runOnnx(
  model: Uint8Array,
  input: Float32Array,
  shape: readonly number[],
  o: OrtOptions = {},
): Promise<Float32Array> {
  const { ort, s } = await session(model, o);
  try {
    const out = await s.run({ input: new ort.Tensor('float32', input, [...shape]) });
    return out.logits.data as Float32Array;
  } finally {
    await s.release();
  }
}

export interface OrtTiming {
  samplesMs: number[];
  medianMs: number;
  iqrMs: number;
  version: string;
}

/** Times session.run on one seeded-zero input of `shape` (`warmup` untimed runs first). */
export async function timeOnnx(
  model: Uint8Array,
  shape: readonly number[],
  o: OrtOptions & { repeats?: number; warmup?: number } = {},
): Promise<OrtTiming> {
  const { ort, s } = await session(model, o);
  try {
    const x = new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5), [...shape]);
    for (let i = 0; i < (o.warmup ?? 3); i++) await s.run({ input: x });
    const samplesMs: number[] = [];
    for (let i = 0; i < (o.repeats ?? 30); i++) {
      const t0 = process.hrtime.bigint();
      await s.run({ input: x });
      samplesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const sorted = [...samplesMs].sort((a, b) => a - b);
    const q = (p: number) => {
      const pos = p * (sorted.length - 1);
      const lo = Math.floor(pos);
      return sorted[lo] + (pos - lo) * (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]);
    };
    return { samplesMs, medianMs: q(0.5), iqrMs: q(0.75) - q(0.25), version: ort.env.versions.common ?? '' };
  } finally {
    await s.release();
  }
}
