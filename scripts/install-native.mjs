#!/usr/bin/env node
// npm install hook: builds the native addon (the CPU latency profiler and CPU ops) with cmake-js
// when the toolchain and oneDNN are there. It never fails the install: without them wgnas still
// runs everything on the GPU, and this prints one line saying what is missing and how to enable it.
// An addon that loads is kept (a reinstall stays fast); `npm rebuild wgnas` (npm_command=rebuild),
// the fix NativeUnavailableError gives, always builds again, and so does an install over an addon
// that does not load (built for another Node or system, truncated, its libraries gone).
// In a development checkout (src/ beside this script) it does nothing: `npm run build:native` builds.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'build', 'Release', 'wgnas_native.node');
const HOW =
  'install cmake, a C++17 compiler and oneDNN (Debian/Ubuntu: apt-get install cmake build-essential libdnnl-dev), then run: npm rebuild wgnas';
const say = (line) => process.stderr.write(`wgnas: ${line}\n`);

function unavailable(why) {
  say(
    `native addon not built (${why}): the CPU latency profiler and CPU backend are unavailable; GPU commands work. To enable it, ${HOW}`,
  );
  process.exit(0);
}

function has(cmd, args = ['--version']) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function hasOneDnn() {
  const dirs = ['/usr/include', '/usr/local/include', ...(process.env.CPATH ?? '').split(':').filter(Boolean)];
  return dirs.some((d) => existsSync(join(d, 'oneapi', 'dnnl', 'dnnl.hpp')));
}

/** Why the built addon does not load in this Node (its first line), or null when it does. */
function loadProblem() {
  try {
    createRequire(import.meta.url)(addon);
    return null;
  } catch (e) {
    return String(e?.message ?? e).split('\n')[0];
  }
}

function main() {
  if (process.env.WGNAS_SKIP_NATIVE) return unavailable('WGNAS_SKIP_NATIVE is set');
  if (existsSync(join(root, 'src', 'cli', 'main.ts'))) return; // development checkout
  if (existsSync(addon) && process.env.npm_command !== 'rebuild') {
    const problem = loadProblem();
    if (!problem) return;
    say(`the native addon ${addon} does not load (${problem.slice(0, 200)}): building it again`);
  }
  if (!has('cmake')) return unavailable('cmake not found');
  if (!has(process.env.CXX ?? 'c++')) return unavailable('no C++ compiler found');
  if (!hasOneDnn()) return unavailable('oneDNN headers (oneapi/dnnl/dnnl.hpp) not found');
  let cmakeJs;
  try {
    cmakeJs = createRequire(join(root, 'package.json')).resolve('cmake-js/bin/cmake-js');
  } catch {
    return unavailable('cmake-js (an optional dependency) is not installed');
  }
  // Only the addon: the standalone target profiler is a development build (scripts/build-target.sh).
  const r = spawnSync(
    process.execPath,
    [cmakeJs, 'compile', '--directory', root, '--out', join(root, 'build'), '--CDWGNAS_BUILD_PROFILER=OFF'],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    },
  );
  if (r.status !== 0 || !existsSync(addon)) {
    const last = (r.stderr ?? '').trim().split('\n').filter(Boolean).pop() ?? `exit ${r.status}`;
    return unavailable(`the build failed: ${last.slice(0, 200)}`);
  }
  say(`native addon built: ${addon}`);
}

try {
  main();
} catch (e) {
  unavailable(String(e?.message ?? e).split('\n')[0]);
}
