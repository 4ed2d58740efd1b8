/**
 * scripts/install-native.mjs, the package's install hook, in a stand-in installed package: a
 * cmake-js that records its call and writes the addon, cmake and c++ that answer --version, and
 * oneDNN's header. An addon that loads is kept on `npm install`; `npm rebuild wgnas`
 * (npm_command=rebuild), which NativeUnavailableError names as the fix, builds again; so does an
 * install over an addon that does not load. (test/package/install.test.ts runs the real npm.)
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCandidates } from '../../src/native/binding.js';
import { nativeOrNull } from '../helpers/native.js';
import { REPO } from '../helpers/paths.js';

const work = mkdtempSync(join(tmpdir(), 'wgnas-install-native-'));
const pkg = join(work, 'node_modules', 'wgnas');
const addon = join(pkg, 'build', 'Release', 'wgnas_native.node');
const calls = join(work, 'cmake-js-calls');
const bin = join(work, 'bin');
let good: string | undefined;

beforeAll(() => {
  good = nativeOrNull() ? nativeCandidates().find((p) => existsSync(p)) : undefined;
  mkdirSync(join(pkg, 'scripts'), { recursive: true });
  copyFileSync(join(REPO, 'scripts', 'install-native.mjs'), join(pkg, 'scripts', 'install-native.mjs'));
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'wgnas', version: '0.0.0', type: 'module' }));
  // cmake-js: appends its arguments to `calls`, then copies $FAKE_BUILT (or fails with $FAKE_FAIL on stderr).
  const cmakeJs = join(pkg, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
  mkdirSync(join(cmakeJs, '..'), { recursive: true });
  writeFileSync(
    cmakeJs,
    [
      "const fs = require('node:fs'); const path = require('node:path');",
      `fs.appendFileSync(${JSON.stringify(calls)}, process.argv.slice(2).join(' ') + '\\n');`,
      "if (process.env.FAKE_FAIL) { process.stderr.write('cmake: configuring\\n' + process.env.FAKE_FAIL + '\\n'); process.exit(1); }",
      `fs.mkdirSync(path.dirname(${JSON.stringify(addon)}), { recursive: true });`,
      `fs.copyFileSync(process.env.FAKE_BUILT, ${JSON.stringify(addon)});`,
    ].join('\n'),
  );
  writeFileSync(join(pkg, 'node_modules', 'cmake-js', 'package.json'), JSON.stringify({ name: 'cmake-js', type: 'commonjs' }));
  mkdirSync(bin);
  for (const tool of ['cmake', 'c++']) {
    writeFileSync(join(bin, tool), '#!/bin/sh\nexit 0\n');
    chmodSync(join(bin, tool), 0o755);
  }
  mkdirSync(join(work, 'include', 'oneapi', 'dnnl'), { recursive: true });
  writeFileSync(join(work, 'include', 'oneapi', 'dnnl', 'dnnl.hpp'), '');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the hook as npm would for `command` ('install' or 'rebuild'); returns its stderr and the cmake-js calls it made. */
function hook(
  command: 'install' | 'rebuild',
  extra: Record<string, string> = {},
): { code: number | null; err: string; builds: number } {
  rmSync(calls, { force: true });
  const env: Record<string, string | undefined> = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    CPATH: join(work, 'include'),
    CXX: 'c++',
    npm_command: command,
    FAKE_BUILT: good ?? '',
    ...extra,
  };
  delete env.WGNAS_SKIP_NATIVE;
  delete env.FAKE_FAIL;
  if (extra.FAKE_FAIL) env.FAKE_FAIL = extra.FAKE_FAIL;
  const r = spawnSync(process.execPath, [join(pkg, 'scripts', 'install-native.mjs')], { cwd: pkg, env, encoding: 'utf8' });
  const builds = existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n').length : 0;
  return { code: r.status, err: r.stderr, builds };
}

describe('install hook (scripts/install-native.mjs)', () => {
  it('npm install keeps an addon that loads, silently; npm rebuild wgnas builds it again', ({ skip }) => {
    if (!good) return skip();
    mkdirSync(join(addon, '..'), { recursive: true });
    copyFileSync(good, addon);
    expect(hook('install')).toEqual({ code: 0, err: '', builds: 0 });
    const r = hook('rebuild');
    expect(r.builds).toBe(1);
    expect(r.code).toBe(0);
    expect(r.err).toBe(`wgnas: native addon built: ${addon}\n`);
    expect(readFileSync(calls, 'utf8')).toContain(`compile --directory ${pkg} --out ${join(pkg, 'build')}`);
  });

  it('an addon that does not load is built again by npm install and by npm rebuild, saying why', ({ skip }) => {
    if (!good) return skip();
    for (const command of ['install', 'rebuild'] as const) {
      writeFileSync(addon, 'not an ELF file');
      const r = hook(command);
      expect(r.builds, command).toBe(1);
      expect(readFileSync(addon).equals(readFileSync(good)), command).toBe(true);
      const lines = r.err.trim().split('\n');
      if (command === 'install')
        expect(lines[0]).toMatch(
          new RegExp(`^wgnas: the native addon ${addon.replace(/[.]/g, '\\.')} does not load \\(.+\\): building it again$`),
        );
      expect(lines.at(-1)).toBe(`wgnas: native addon built: ${addon}`);
    }
  });

  it('a rebuild that fails says so in one line and never fails npm', () => {
    mkdirSync(join(addon, '..'), { recursive: true });
    writeFileSync(addon, 'not an ELF file');
    const r = hook('rebuild', { FAKE_FAIL: 'CMake Error: oneDNN too old' });
    expect(r.builds).toBe(1);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(
      /^wgnas: native addon not built \(the build failed: CMake Error: oneDNN too old\): the CPU latency profiler and CPU backend are unavailable; GPU commands work\. To enable it, install cmake, .*then run: npm rebuild wgnas\n$/,
    );
  });

  it('without a compiler, npm rebuild over a broken addon names what is missing (it does not stop at the file)', () => {
    mkdirSync(join(addon, '..'), { recursive: true });
    writeFileSync(addon, 'not an ELF file');
    const r = hook('rebuild', { CXX: join(work, 'no-such-c++') });
    expect(r.builds).toBe(0);
    expect(r.err).toMatch(/^wgnas: native addon not built \(no C\+\+ compiler found\)/);
  });
});
