// `node --import ./no-webgpu.mjs`: the 'webgpu' package resolves to a module whose import throws
// what Node says when Dawn's dawn.node cannot load on an older glibc, so a test sees the library on
// a system where WebGPU is unavailable. (Plain JS: it runs before tsx's own hooks.)
import { register } from 'node:module';

const failing = `throw new Error("/lib/x86_64-linux-gnu/libc.so.6: version \`GLIBC_2.34' not found (required by /app/node_modules/webgpu/dist/linux-x64.dawn.node)");`;
const hooks = `
export async function resolve(specifier, context, next) {
  if (specifier === 'webgpu') return { url: 'data:text/javascript,' + encodeURIComponent(${JSON.stringify(failing)}), shortCircuit: true };
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
