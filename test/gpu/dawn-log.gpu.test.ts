/**
 * Dawn's start-up warnings ("... artificially reduced ...", printed by its C++ on every adapter
 * request on lavapipe) are kept off stderr by the addon's fd-level filter, shown with --verbose, and
 * the filter never holds back or loses any other line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DAWN_HARMLESS_PATTERNS } from '../../src/gpu/dawn-log.js';
import { nativeCandidates } from '../../src/native/binding.js';
import { BIN } from '../helpers/child.js';
import { nativeOrNull } from '../helpers/native.js';

const DAWN_LINE = /artificially reduced/;

function wgnas(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('Dawn start-up warnings', () => {
  it('wgnas info --device gpu prints none; --verbose prints what Dawn printed', { timeout: 240_000 }, () => {
    if (!nativeOrNull()) return;
    const raw = wgnas(['info', '--device', 'gpu'], { WGNAS_DAWN_STDERR: 'raw' });
    if (raw.code !== 0 && /No WebGPU adapter is available/.test(raw.stderr) && process.env.CI !== 'true') return; // no adapter here
    expect(raw.code, raw.stderr).toBe(0);
    const quiet = wgnas(['info', '--device', 'gpu']);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toMatch(DAWN_LINE);
    expect(quiet.stdout).toMatch(/^adapter: /m);
    const verbose = wgnas(['info', '--device', 'gpu', '--verbose']);
    expect(verbose.code, verbose.stderr).toBe(0);
    // What the unfiltered run printed (lavapipe: two lines; a hardware adapter may print none).
    const dawnLines = raw.stderr.split('\n').filter((l) => DAWN_LINE.test(l));
    if (/llvmpipe/.test(raw.stdout)) expect(dawnLines).toHaveLength(2);
    expect(verbose.stderr.split('\n').filter((l) => DAWN_LINE.test(l))).toEqual(dawnLines);
  });

  it(
    'a baseline that asks Dawn for the adapter first (gpu.js beside the CPU backend) is filtered too',
    { timeout: 240_000 },
    () => {
      if (!nativeOrNull()) return;
      const args = ['bench', 'matmul', '--device', 'cpu', '--cpu-threads', '1', '--baselines', 'gpujs', '--gpujs-mode', 'webgpu'];
      const run = [...args, '--shapes', 'tiny', '--only', '64x64x64', '--repeats', '1', '--warmup', '0', '--quiet'];
      const raw = wgnas(run, { WGNAS_DAWN_STDERR: 'raw' });
      expect(raw.code, raw.stderr).toBe(0);
      // The first adapter request was gpu.js's (on navigator.gpu): on lavapipe Dawn's two lines came with it.
      const dawnLines = raw.stderr.split('\n').filter((l) => DAWN_LINE.test(l));
      if (/gpu\.js\(webgpu\)/.test(raw.stdout) && /llvmpipe|lavapipe/i.test(wgnas(['info', '--device', 'gpu']).stdout))
        expect(dawnLines).toHaveLength(2);
      const quiet = wgnas(run);
      expect(quiet.code, quiet.stderr).toBe(0);
      expect(quiet.stderr).not.toMatch(DAWN_LINE);
      expect(quiet.stdout).toMatch(/^matmul\s+64x64x64\s/m);
    },
  );

  it('the filter passes every other line through at once, in order, and returns the held ones', { timeout: 60_000 }, () => {
    if (!nativeOrNull()) return;
    const addon = nativeCandidates().find((p) => existsSync(p))!;
    // A child writes to fd 2 from C-level writes (as Dawn does): more than a pipe buffer of real
    // lines (a filter without a reader would deadlock), two harmless ones, and an unterminated tail.
    const script = `
      const { writeSync } = require('node:fs');
      const a = require(${JSON.stringify(addon)});
      if (!a.stderrFilterBegin(${JSON.stringify(DAWN_HARMLESS_PATTERNS)})) throw new Error('filter did not start');
      writeSync(2, 'real error 1\\n');
      writeSync(2, 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16\\n');
      for (let i = 0; i < 3000; i++) writeSync(2, 'bulk line ' + i + ' ' + 'x'.repeat(40) + '\\n');
      writeSync(2, 'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16\\nreal error 2\\ntail');
      const held = a.stderrFilterEnd();
      writeSync(2, '|after\\n');
      process.stdout.write(JSON.stringify(held));
    `;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const held = JSON.parse(r.stdout) as string[];
    expect(held).toHaveLength(2);
    expect(held.every((l) => DAWN_LINE.test(l))).toBe(true);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe('real error 1');
    expect(lines.slice(1, 3001)).toEqual(Array.from({ length: 3000 }, (_, i) => `bulk line ${i} ${'x'.repeat(40)}`));
    expect(lines.slice(3001)).toEqual(['real error 2', 'tail|after', '']);
    expect(r.stderr).not.toMatch(DAWN_LINE);
  });
});
