/** f32Twin: an f64 reference's f32 twin rounds every Float64Array of the result once and keeps the rest. */
import { describe, expect, it } from 'vitest';
import { f32Twin } from '../../src/kernels/reference/f32.js';
import { batchNormForwardCpu, batchNormForwardF64 } from '../../src/kernels/reference/batchnorm.js';
import { softmaxCrossEntropyCpu, softmaxCrossEntropyF64 } from '../../src/kernels/reference/loss.js';

describe('f32Twin', () => {
  it('rounds a Float64Array result to f32, passing the arguments through', () => {
    const twin = f32Twin((a: number, b: number) => Float64Array.of(a / b, 0.1));
    const r = twin(1, 3);
    expect(r).toBeInstanceOf(Float32Array);
    expect(Array.from(r)).toEqual([Math.fround(1 / 3), Math.fround(0.1)]);
  });

  it('rounds each Float64Array field and keeps the other fields (a loss stays an f64 number)', () => {
    const logits = [0.3, -1.2, 2.5, 0.1, 0.7, -0.4];
    const labels = [2, 0];
    const f64 = softmaxCrossEntropyF64(logits, labels, 2, 3);
    const f32 = softmaxCrossEntropyCpu(logits, labels, 2, 3);
    expect(f32.loss).toBe(f64.loss);
    expect(f32.dlogits).toBeInstanceOf(Float32Array);
    expect(Array.from(f32.dlogits)).toEqual(Array.from(f64.dlogits, Math.fround));
  });

  it("batch norm's f32 reference is its f64 one rounded field by field", () => {
    const x = [1, 2, 4, 8, -1, 0.5, 3, 7];
    const [gamma, beta] = [
      [1.5, 0.5],
      [0.25, -1],
    ];
    const f64 = batchNormForwardF64(x, [2, 2, 2, 1], gamma, beta);
    const f32 = batchNormForwardCpu(x, [2, 2, 2, 1], gamma, beta);
    expect(Object.keys(f32)).toEqual(['y', 'mean', 'invStd']);
    for (const k of ['y', 'mean', 'invStd'] as const) {
      expect(f32[k]).toBeInstanceOf(Float32Array);
      expect(Array.from(f32[k])).toEqual(Array.from(f64[k], Math.fround));
    }
  });
});
