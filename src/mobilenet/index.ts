/** MobileNet spaces: layouts, cells, space files, the one skeleton network and its layer bodies, cost models. */
export * from './layout.js';
export * from './cell.js';
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
