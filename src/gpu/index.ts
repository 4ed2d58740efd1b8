export { acquireGpu, dawnGpu, Gpu, packUniforms, type AdapterReport, type DispatchArgs, type KernelSpec } from './gpu.js';
export { GpuTensor, assertShape, numel } from './tensor.js';
export { BufferPool, type PoolStats } from './pool.js';
export { NoAdapterError, KernelCompileError, ShapeError, GpuDisposedError } from './errors.js';
