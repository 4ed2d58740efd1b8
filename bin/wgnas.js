#!/usr/bin/env node
// The wgnas command. An installed package runs the compiled dist/; a development checkout (src/
// beside bin/) runs the TypeScript directly through tsx, so it never runs a stale build.
import { existsSync } from 'node:fs';

const src = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(src)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(src.href);
} else {
  await import('../dist/cli/main.js');
}
