/** Kernel benchmarking: registry, harness, baselines, peaks, reports. */
export { type BaselineName, BASELINES, type BenchOptions, type BenchReport, type BenchResult, compareOutputs, resolvePeak, runBench } from './harness.js';
export { cpuSampler, type GpuTimer, type Measurement, measure, type Sampler, timerSampler, type TimingSource } from './measure.js';
export { lookupPeak, type Peak, percentOfPeak, rooflineFlopsPerS } from './peaks.js';
export { calibratePeak, fmaBurn, fmaBurnCpu, fmaBurnFlops, scaleCopy, scaleCopyBytes, scaleCopyCpu } from './calibrate.js';
export { type BenchKernel, KernelRegistry, type KernelCase, type Shape, SHAPE_SETS, type ShapeSet } from './registry.js';
export { defaultRegistry } from './kernels/index.js';
export { formatNotes, formatSideBySide, formatTable, reportHeader, rooflinePoints } from './report.js';
export { rooflineSvg } from './roofline.js';
export { summarize, quantileSorted, type SampleStats } from './stats.js';
export { correlationCpuFast, matmulCpuBlocked } from './cpu.js';
export { conv2dBackwardInputCpuFast, conv2dBackwardWeightCpuFast, conv2dCpuFast, type ConvGeom } from './cpu-conv.js';
export { createTfjsBaseline, type TfjsBaseline } from './tfjs.js';
