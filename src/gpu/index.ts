export {
  acquireGpu,
  dawnGpu,
  isSoftwareAdapter,
  probeAdapter,
  type AcquireOptions,
  type AdapterProbe,
  type AdapterReport,
  type KernelAdapter,
} from './adapter.js';
export { Gpu, type DispatchArgs, type KernelSpec } from './gpu.js';
export { COPY_COMMAND, DispatchProfiler, type DispatchProfile, type GpuProfile, type KernelTime } from './profiler.js';
export { defineUniforms, structLayout, type UniformBlock, type UniformDecl, type UniformValues } from './uniforms.js';
export { GpuTensor, assertShape, numel } from './tensor.js';
export { BufferPool, type PoolStats } from './pool.js';
export {
  DawnUnavailableError,
  NoAdapterError,
  KernelCompileError,
  ShapeError,
  GpuDeviceLostError,
  GpuDisposedError,
  GpuOutOfMemoryError,
  GpuValidationError,
} from './errors.js';
