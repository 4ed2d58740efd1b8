/** References of activation.wgsl: ReLU / ReLU6 forward and backward. */

export function reluCpu(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x, (v) => Math.max(v, 0));
}
export function reluBackwardCpu(dy: ArrayLike<number>, x: ArrayLike<number>): Float32Array {
  return Float32Array.from(dy, (g, i) => (x[i] > 0 ? g : 0));
}
export function relu6Cpu(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x, (v) => Math.min(Math.max(v, 0), 6));
}
export function relu6BackwardCpu(dy: ArrayLike<number>, x: ArrayLike<number>): Float32Array {
  return Float32Array.from(dy, (g, i) => (x[i] > 0 && x[i] < 6 ? g : 0));
}
