/**
 * The backend seam: the only way from nn/ and above to tensors and ops (docs/architecture-backend.md).
 * ShapeError and the device's failures (out of memory, lost) are re-exported so callers name them
 * without reaching into src/gpu.
 */
export type {
  Backend,
  BackendLimits,
  BackendMemory,
  BackendOps,
  BackendStats,
  DeviceKind,
  DeviceOnlyOps,
  FusedOps,
  KernelProfile,
  KernelProfileRow,
} from './backend.js';
export { DisposedError, DisposedTensorError, ForeignTensorError, numel, type Tensor } from './tensor.js';
export { cpuBackend, cpuOpRegistry } from './cpu.js';
export { gpuOf, webgpuBackend } from './webgpu.js';
export {
  DEVICE_CHOICES,
  type DeviceChoice,
  describeBackend,
  openBackend,
  passedOverAdapter,
  resolveDevice,
  softwareFallback,
  usesF16,
  F16_KEY,
} from './select.js';
export { GpuDeviceLostError, GpuOutOfMemoryError, ShapeError } from '../gpu/errors.js';
