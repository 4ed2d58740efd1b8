/** VKDNW's per-sample first-element gradient on the native device (firstElementGrad of src/kernels/first-grad.ts). */
import { checkFirstElementGrad, type FirstGradParams } from '../../kernels/reference/first-grad.js';
import type { NativeDevice, NativeTensor } from '../../native/device.js';

/** out[row * N + s] = the per-sample first-element gradient of sample s (double accumulation). */
export function firstElementGrad(
  dev: NativeDevice,
  x: NativeTensor | null,
  dy: NativeTensor,
  p: FirstGradParams,
  out: NativeTensor,
  row: number,
): void {
  const d = checkFirstElementGrad(x, dy, p, out, row, out.handle === dy.handle || (x !== null && out.handle === x.handle));
  if (d.N === 0) return;
  dev.enqueue('firstElementGrad', [x ?? dy, dy, out], {
    N: d.N,
    xs: d.Cin * d.H * d.W,
    H: d.H,
    W: d.W,
    ys: d.Cout * d.OH * d.OW,
    OH: d.OH,
    OW: d.OW,
    stride: p.stride,
    pad: p.pad,
    row,
    hasX: x !== null,
  });
}
