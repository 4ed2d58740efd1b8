/** The one softmax on the host (search policies, gate sampling, latency expectations, references). */

/**
 * softmax(logits / temperature), max-subtracted so large logits do not overflow. f64 throughout;
 * callers on the same logits get bit-identical probabilities.
 */
export function softmax(logits: ArrayLike<number>, temperature = 1): number[] {
  if (!(temperature > 0)) throw new RangeError(`softmax: temperature must be > 0, got ${temperature}`);
  let mx = -Infinity;
  for (let i = 0; i < logits.length; i++) mx = Math.max(mx, logits[i]);
  const e = Array.from(logits, (v) => Math.exp((v - mx) / temperature));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
