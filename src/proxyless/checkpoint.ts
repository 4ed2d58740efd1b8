/**
 * The checkpoint files moved to nn/checkpoint.ts (evolve-space and train use them too, and a
 * method may not import another method's modules); this name stays for the search's modules.
 */
export * from '../nn/checkpoint.js';
