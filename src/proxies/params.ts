/** Number of parameters, in millions. */
import { defineProxy } from './define.js';
import { staticPass } from './passes.js';

export const params = defineProxy({
  name: 'params',
  description: 'number of parameters (millions)',
  pass: staticPass,
  groupable: true,
  compute: (ctx) => ctx.net.paramCount() / 1e6,
});
