#!/usr/bin/env node
// The wgnas command. An installed package runs the compiled dist/; a development checkout (src/
// beside bin/) runs the TypeScript directly through tsx, so it never runs a stale build. A checkout
// installed without dev dependencies (npm ci --omit=dev) has no tsx: it runs dist/ where one was
// built (it cannot be rebuilt there: tsc is a dev dependency too), else says in one line what to run.
import { existsSync } from 'node:fs';

const src = new URL('../src/cli/main.ts', import.meta.url);
const dist = new URL('../dist/cli/main.js', import.meta.url);

/** tsx's loader API, or null when the tsx package is not installed (any other failure is thrown). */
async function tsxApi() {
  try {
    return await import('tsx/esm/api');
  } catch (e) {
    if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes("'tsx'")) return null;
    throw e;
  }
}

const api = existsSync(src) ? await tsxApi() : null;
if (api) {
  api.register();
  await import(src.href);
} else if (existsSync(dist)) {
  await import(dist.href);
} else {
  process.stderr.write(
    'wgnas: no compiled dist/ and no tsx to run src/ (a dev dependency: installed with --omit=dev?): ' +
      'run `npm ci` to install the dev dependencies, or `npm ci && npm run build:ts` to build dist/\n',
  );
  process.exit(1);
}
