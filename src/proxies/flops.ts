/** FLOPs as the network's factory counts them (for NAS-Bench-201: its own counter), in millions. */
import { defineProxy } from './define.js';
import { staticPass } from './passes.js';

export const flops = defineProxy({
  name: 'flops',
  description: "FLOPs of one 32x32 forward (millions), NAS-Bench-201's counter",
  // Merge tolerance: a count: no device or thread count changes it.
  mergeRtol: 1e-9,
  pass: staticPass,
  groupable: true,
  compute: (ctx) => ctx.factory.flopsM,
});
