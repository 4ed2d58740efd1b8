/** MobileNet spaces: layouts, cells, space files, the one skeleton network and its layer bodies, cost models. */
export * from './layout.js';
export * from './cell.js';
// MBConv's kernels and expansion ratios (src/latency, the lowest layer that reads them).
export {
  isMbconvExpand,
  isMbconvKernel,
  MBCONV_EXPANDS,
  MBCONV_KERNELS,
  type MbconvExpand,
  type MbconvKernel,
  PROXYLESS_EXPANDS,
} from '../latency/space.js';
export * from './cell-text.js';
export * from './cell-mutation.js';
export * from './cell-module.js';
export * from './space.js';
export * from './space-file.js';
export * from './madds.js';
export * from './skeleton.js';
export * from './fixed-net.js';
export * from './choice-layer.js';
export * from './mixture-layer.js';
export * from './train.js';
export * from './cost/index.js';
