/**
 * The addon's cache sizes come from the first source that knows any: sysfs (cpu0/cache, parsed
 * from "48K"-style sizes), then glibc's sysconf, then CPUID. Containers and some VMs have no
 * sysfs cache directory: `wgnas info` then said "caches unknown" and the profiler's "2 x L2" flush
 * fell back to 4 MiB. A fake sysfs tree tests the parsing; the real sources test the order.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCpu } from '../../src/cli/commands/info.js';
import { autoFlushBytes } from '../../src/latency/profiler.js';
import type { CacheSource, NativeBinding } from '../../src/native/binding.js';
import { nativeOrNull } from '../helpers/native.js';

let native: NativeBinding | null;
beforeAll(() => {
  native = nativeOrNull();
});

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-caches-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A cpu0/cache directory as Linux writes it: index<i>/{level,type,size}. */
function fakeSysfs(name: string, entries: Array<[level: string, type: string, size: string]>): string {
  const dir = join(tmp, name);
  entries.forEach(([level, type, size], i) => {
    mkdirSync(join(dir, `index${i}`), { recursive: true });
    writeFileSync(join(dir, `index${i}`, 'level'), `${level}\n`);
    writeFileSync(join(dir, `index${i}`, 'type'), `${type}\n`);
    writeFileSync(join(dir, `index${i}`, 'size'), `${size}\n`);
  });
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe('cache sizes: sysfs, then sysconf, then CPUID', () => {
  it('parses a sysfs cache tree (K and M sizes, data and instruction L1) and takes it first', ({ skip }) => {
    if (!native) return skip();
    const dir = fakeSysfs('sysfs', [
      ['1', 'Data', '48K'],
      ['1', 'Instruction', '32K'],
      ['2', 'Unified', '2048K'],
      ['3', 'Unified', '32M'],
    ]);
    const expected = { l1d: 48 << 10, l1i: 32 << 10, l2: 2 << 20, l3: 32 << 20 };
    for (const c of [native.cpuInfo({ cacheSources: ['sysfs'], sysfsCacheDir: dir }), native.cpuInfo({ sysfsCacheDir: dir })]) {
      expect(c.cacheBytes).toEqual(expected);
      expect(c.cacheSource).toBe('sysfs');
    }
  });

  it('without a sysfs cache directory, the first of sysconf and CPUID that knows the sizes', ({ skip }) => {
    if (!native) return skip();
    const none = fakeSysfs('empty', []);
    const only = (s: CacheSource) => native!.cpuInfo({ cacheSources: [s], sysfsCacheDir: none }).cacheBytes;
    expect(only('sysfs')).toEqual({});
    const sysconf = only('sysconf');
    const cpuid = only('cpuid');
    const first = Object.keys(sysconf).length ? 'sysconf' : Object.keys(cpuid).length ? 'cpuid' : undefined;
    // Linux x86 and Arm glibc: at least one of them knows (this VM has no sysfs cache directory at all).
    if (process.platform === 'linux' && ['x64', 'ia32'].includes(process.arch)) expect(first).toBeDefined();
    const c = native.cpuInfo({ sysfsCacheDir: none });
    expect(c.cacheSource).toBe(first);
    expect(c.cacheBytes).toEqual(first === 'sysconf' ? sysconf : first === 'cpuid' ? cpuid : {});
    // The order is the caller's: CPUID first gives CPUID's sizes where it knows any.
    const reversed = native.cpuInfo({ cacheSources: ['cpuid', 'sysconf'], sysfsCacheDir: none });
    expect(reversed.cacheSource).toBe(Object.keys(cpuid).length ? 'cpuid' : first);
    // glibc's sysconf reads the same CPUID leaves on x86: L1d and L2 agree where both know them.
    for (const level of ['l1d', 'l2'])
      if (sysconf[level] && cpuid[level]) expect(cpuid[level], level).toBe(sysconf[level]);
    for (const v of [...Object.values(sysconf), ...Object.values(cpuid)]) expect(v).toBeGreaterThan(0);
    if (c.cacheBytes.l1d) expect(c.cacheBytes.l1d).toBeGreaterThanOrEqual(4 << 10);
    if (c.cacheBytes.l2 && c.cacheBytes.l1d) expect(c.cacheBytes.l2).toBeGreaterThan(c.cacheBytes.l1d);
  });

  it("the default: caches known on this machine, the profiler's flush is twice the L2, info names a fallback source", ({
    skip,
  }) => {
    if (!native) return skip();
    const c = native.cpuInfo();
    if (!c.cacheSource) return; // a machine none of the sources knows: nothing more to check
    expect(Object.keys(c.cacheBytes).length).toBeGreaterThan(0);
    if (c.cacheBytes.l2) expect(autoFlushBytes(c.cacheBytes)).toBe(2 * c.cacheBytes.l2);
    const text = describeCpu(c);
    expect(text).not.toMatch(/caches unknown/);
    if (c.cacheSource !== 'sysfs') expect(text).toContain(`(from ${c.cacheSource})`);
  });

  it('an unknown source is refused in one line', ({ skip }) => {
    if (!native) return skip();
    expect(() => native!.cpuInfo({ cacheSources: ['proc' as CacheSource] })).toThrow(
      /^cpuInfo: unknown cache source 'proc' \(sysfs, sysconf or cpuid\)$/,
    );
  });
});
