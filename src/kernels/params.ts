/**
 * Op parameters and shape rules, shared by the WGSL wrappers, the TypeScript references and the
 * native CPU backend (src/backend/cpu): one place decides what a valid operand is, what the output
 * shape is, and what an op's attributes are, so errors read the same on every backend.
 */
export * from './params/common.js';
export * from './params/layers.js';
export * from './params/linalg.js';
export * from './params/optim.js';
export * from './params/search.js';
