/** Kernel benchmarking: registry, harness, baselines, peaks, reports. */
export {
  BASELINE_ALIASES,
  type BaselineName,
  type BaselineResult,
  BASELINES,
  type BenchOptions,
  type BenchReport,
  type BenchResult,
  compareOutputs,
  DEFAULT_BASELINES,
  resolvePeak,
  runBench,
} from './harness.js';
export { createGpuJsBaseline, type GpuJsBaseline, type GpuJsCase, type GpuJsMode, GPUJS_MODES } from './gpujs.js';
export { createTfjsWasmBaseline, type TfjsWasmBaseline, tfjsWasmDir } from './tfjs-wasm.js';
export { createNativeBaseline, type NativeBaseline, type NativeEquivalent } from './native.js';
export {
  cpuSampler,
  type GpuTimer,
  type Measurement,
  measure,
  type Sampler,
  timerSampler,
  type TimingSource,
} from './measure.js';
export { lookupPeak, type Peak, percentOfPeak, rooflineFlopsPerS } from './peaks.js';
export { calibratePeak, fmaBurn, fmaBurnCpu, fmaBurnFlops, scaleCopy, scaleCopyBytes, scaleCopyCpu } from './calibrate.js';
export { type BenchKernel, KernelRegistry, type KernelCase, type Shape, SHAPE_SETS, type ShapeSet } from './registry.js';
export { defaultRegistry } from './kernels/index.js';
export { baselineLabel, formatNotes, formatSideBySide, formatTable, reportHeader, rooflinePoints } from './report.js';
export { rooflineSvg } from './roofline.js';
export { summarize, quantileSorted, type SampleStats } from './stats.js';
export { correlationCpuFast, matmulCpuBlocked } from './cpu.js';
export { conv2dBackwardInputCpuFast, conv2dBackwardWeightCpuFast, conv2dCpuFast, type ConvGeom } from './cpu-conv.js';
export { createTfjsBaseline, type TfjsBaseline } from './tfjs.js';
export {
  autotuneMatmul,
  checkMatmulTile,
  defaultTuneShapes,
  MATMUL_TILE_CANDIDATES,
  matmulTileCandidates,
  type AutotuneOutcome,
} from './autotune.js';
