/**
 * The native CPU backend's ops: one module per src/kernels module, same function names, option
 * objects and errors (the checks of src/kernels/params.ts), with a NativeDevice / NativeTensor in
 * place of Gpu / GpuTensor. cpuBackend (../cpu.ts) binds them to a device under the OPS names.
 */
export * from './activation.js';
export * from './batchnorm.js';
export * from './binarize.js';
export * from './conv2d.js';
export * from './correlation.js';
export * from './elementwise.js';
export * from './first-grad.js';
export * from './fitness.js';
export * from './linear.js';
export * from './loss.js';
export * from './matmul.js';
export * from './optim.js';
export * from './pool.js';
export * from './proxy-ops.js';
export * from './random.js';
export * from './reduce.js';
