/** Number of parameters, in millions. */
import { defineProxy } from './define.js';
import { staticPass } from './passes.js';

export const params = defineProxy({
  name: 'params',
  description: 'number of parameters (millions)',
  // Merge tolerance: a count: no device or thread count changes it.
  mergeRtol: 1e-9,
  pass: staticPass,
  groupable: true,
  compute: (ctx) => ctx.net.paramCount() / 1e6,
});
