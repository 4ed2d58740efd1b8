/**
 * Building a lookup table with the native profiler (few ops, few repeats), resuming an interrupted
 * run, and the profile / predict CLI commands. Skips locally without the addon, fails under CI=true.
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { run as predictCmd } from '../../src/cli/commands/predict.js';
import { run as profileCmd } from '../../src/cli/commands/profile.js';
import { archParts, archToNativeOps, type ProxylessArch } from '../../src/latency/arch.js';
import { LatencyKeyError } from '../../src/latency/keys.js';
import { readLatencyTable } from '../../src/latency/lut.js';
import { predictLatency } from '../../src/latency/predictor.js';
import { buildLatencyTable } from '../../src/latency/profiler.js';
import type { NativeBinding } from '../../src/native/binding.js';
import { nativeOrNull } from '../helpers/native.js';

let native: NativeBinding | null;
beforeAll(() => {
  native = nativeOrNull();
});

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-profile-'));
const fast = { repeats: 3, warmup: 1 };

const arch: ProxylessArch = {
  inputSize: 16,
  stem: { outC: 8, kernel: 3, stride: 2 },
  blocks: [
    { kernel: 3, expand: 1, stride: 1, inC: 8, outC: 8, inH: 8, idskip: true },
    'zero',
    { kernel: 5, expand: 6, stride: 2, inC: 8, outC: 16, inH: 8, idskip: false },
  ],
  featureMix: { outC: 32 },
  classes: 10,
};
const keys = archParts(arch).map((p) => p.key);

function captureStdout(): { text: () => string } {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return { text: () => out };
}
afterEach(() => {
  vi.restoreAllMocks();
});

describe('buildLatencyTable', () => {
  it('measures every key, stamps and writes the table, and the prediction is sane', async ({ skip }) => {
    if (!native) return skip();
    const out = join(tmp, 'small.yaml');
    const progress: number[] = [];
    const res = await buildLatencyTable({
      keys,
      out,
      ...fast,
      threads: 1,
      flushBytes: 'auto',
      meta: { space: 'test' },
      onProgress: (d) => progress.push(d),
    });
    expect(res.measured).toBe(keys.length);
    expect(progress.at(-1)).toBe(keys.length);
    const t = readLatencyTable(out);
    expect([...t.entries.keys()]).toEqual(keys);
    for (const e of t.entries.values()) {
      expect(e.count).toBe(3);
      expect(e.mean).toBeGreaterThan(0);
      expect(e.median).toBeGreaterThan(0);
      expect(e.var).toBeGreaterThanOrEqual(0);
    }
    expect(t.meta.cpu).toBe(native.cpuInfo().model);
    expect(t.meta.library).toMatch(/^oneDNN \d/);
    expect(t.meta.threads).toBe('1');
    expect(t.meta.space).toBe('test');
    expect(t.meta['cache-flush']).toMatch(/bytes per thread/);
    expect(Number.isNaN(Date.parse(t.meta.date))).toBe(false);
    // The whole network runs through the addon and the table prices it: both positive and finite.
    // How close the two are is a benchmark (bench/latency-predictor.ts), not a test: no timing asserts.
    const whole = await native.profile(archToNativeOps(arch), { repeats: 5, warmup: 1 });
    const pred = predictLatency(t, arch, { field: 'median' }).totalMs;
    expect(Number.isFinite(whole.medianMs) && whole.medianMs > 0).toBe(true);
    expect(Number.isFinite(pred) && pred > 0).toBe(true);
  });

  it('resumes an interrupted run, measuring only the missing keys', async ({ skip }) => {
    if (!native) return skip();
    const out = join(tmp, 'resume.yaml');
    await buildLatencyTable({ keys: keys.slice(0, 2), out, ...fast });
    appendFileSync(out, `${keys[2]}:\n  count: 3\n  mea`); // killed mid-entry
    const res = await buildLatencyTable({ keys, out, ...fast, resume: true });
    expect(res.reused).toBe(2);
    expect(res.measured).toBe(3);
    expect(res.unlisted).toBe(0);
    expect([...readLatencyTable(out).entries.keys()]).toEqual(keys);
    await expect(buildLatencyTable({ keys, out, ...fast })).rejects.toThrow(/already exists: pass --resume .* or --force/);
    await expect(buildLatencyTable({ keys, out, ...fast, threads: 2, resume: true })).rejects.toThrow(
      /cannot resume .* threads '1'/,
    );
    const again = await buildLatencyTable({ keys, out, ...fast, resume: true });
    expect(again.measured).toBe(0);
  });

  it('rejects bad keys before measuring anything', async ({ skip }) => {
    if (!native) return skip();
    const out = join(tmp, 'never.yaml');
    await expect(buildLatencyTable({ keys: [keys[0], 'Mystery-input:4x4x4-output:4x4x4'], out })).rejects.toThrow(
      LatencyKeyError,
    );
    await expect(
      buildLatencyTable({ keys: ['expanded_conv-input:1x1x16-output:2x2x24-expand:3-kernel:3-stride:2-idskip:0'], out }),
    ).rejects.toThrow(/impossible shape/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('CLI', () => {
  it('profile --help and predict --help', async () => {
    for (const cmd of [profileCmd, predictCmd]) {
      const cap = captureStdout();
      await cmd(['--help']);
      expect(cap.text()).toMatch(/^usage: wgnas (profile|predict)/);
    }
  });

  it('profile writes a resumable table; predict reads it', async ({ skip }) => {
    if (!native) return skip();
    const out = join(tmp, 'cli.yaml');
    let cap = captureStdout();
    await profileCmd(['--resolution', '32', '--limit', '3', '--repeats', '3', '--warmup', '0', '--out', out]);
    expect(cap.text()).toMatch(/wrote .*cli\.yaml: 3 entries \(3 measured, 0 reused\)/);
    vi.restoreAllMocks();
    cap = captureStdout();
    await profileCmd(['--resolution', '32', '--limit', '4', '--repeats', '3', '--warmup', '0', '--out', out, '--resume']);
    expect(cap.text()).toMatch(/4 entries \(1 measured, 3 reused\)/);
    vi.restoreAllMocks();
    // A smaller --limit on the resumed table: the counts add up to its entries, those past the limit named.
    cap = captureStdout();
    await profileCmd(['--resolution', '32', '--limit', '2', '--repeats', '3', '--warmup', '0', '--out', out, '--resume']);
    expect(cap.text()).toMatch(/4 entries \(0 measured, 4 reused; 2 of them beyond --limit 2\)/);
    vi.restoreAllMocks();
    await expect(profileCmd(['--out', out, '--space', 'nb201'])).rejects.toThrow(
      /--space must be proxyless or cifar, got 'nb201'/,
    );
    await expect(profileCmd(['--repeats', '3'])).rejects.toThrow(/--out FILE is required/);
    await expect(profileCmd(['--out', out, '--backend', 'tpu'])).rejects.toThrow(
      /--backend must be onednn or xnnpack, got 'tpu'/,
    );
  });

  it("profile --net times exactly a network's ops, and predict then needs no --missing", async ({ skip }) => {
    if (!native) return skip();
    const netFile = join(tmp, 'net-ops.json');
    writeFileSync(netFile, JSON.stringify(arch));
    const out = join(tmp, 'net-ops.yaml');
    // A space table of the same resolution lacks this network's ops: the error says what to do first.
    const spaceTable = join(tmp, 'space16.yaml');
    let cap = captureStdout();
    await profileCmd(['--resolution', '16', '--limit', '1', '--repeats', '3', '--warmup', '0', '--out', spaceTable]);
    vi.restoreAllMocks();
    await expect(predictCmd(['--table', spaceTable, '--net', netFile])).rejects.toThrow(
      /no entry for \d+ key\(s\); profile them \(wgnas profile --net NET .*\(--missing\): .*, and \d+ more$/,
    );
    cap = captureStdout();
    await profileCmd(['--net', netFile, '--repeats', '3', '--warmup', '0', '--out', out]);
    expect(cap.text()).toMatch(
      new RegExp(`wrote .*net-ops\\.yaml: ${keys.length} entries \\(${keys.length} measured, 0 reused\\)`),
    );
    vi.restoreAllMocks();
    const t = readLatencyTable(out);
    expect([...t.entries.keys()]).toEqual(keys);
    expect(t.meta.space).toMatch(/^network [0-9a-f]{16}$/);
    expect(t.meta.resolution).toBe('16');
    cap = captureStdout();
    await predictCmd(['--table', out, '--net', netFile, '--json']);
    const sum = keys.reduce((a, k) => a + t.entries.get(k)!.mean, 0);
    expect((JSON.parse(cap.text()) as { totalMs: number }).totalMs).toBeCloseTo(sum, 9);
    vi.restoreAllMocks();
    await expect(profileCmd(['--net', netFile, '--space', 'cifar', '--out', join(tmp, 'x.yaml')])).rejects.toThrow(
      /--net, --space and --space-file each name the ops to time: give one/,
    );
  });

  it('predict prints the Pixel 1 breakdown of ProxylessNAS-Mobile', async () => {
    const shared = new URL('../../data/latency/', import.meta.url).pathname;
    const table = join(shared, 'proxylessnas_mobile_trim.yaml');
    const net = join(shared, 'proxylessnas_proxyless_mobile.config');
    await expect(predictCmd(['--table', table, '--net', net])).rejects.toThrow(/no entry for 3 key/);
    const cap = captureStdout();
    await predictCmd(['--table', table, '--net', net, '--missing', 'nearest']);
    const text = cap.text();
    expect(text).toMatch(/^total\s+82\.524 ms/m);
    expect(text).toMatch(/block 1 .*~ nearest from expanded_conv-input:112x112x16-output:56x56x24/);
    vi.restoreAllMocks();
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'Conv-input:8x8x3-output:4x4x4:\n  mean: fast\n');
    await expect(predictCmd(['--table', bad, '--net', net])).rejects.toThrow(/bad\.yaml:2: field 'mean'/);
    await expect(predictCmd(['--table', join(tmp, 'nope.yaml'), '--net', net])).rejects.toThrow(/cannot read latency table/);
    await expect(predictCmd(['--table', table, '--net', table])).rejects.toThrow(/not valid JSON/);
    await expect(predictCmd(['--table', table, '--net', net, '--missing', 'guess'])).rejects.toThrow(/--missing must be/);
  });

  it('predict --measure runs the network end to end', async ({ skip }) => {
    if (!native) return skip();
    const table = join(tmp, 'measure.yaml');
    await buildLatencyTable({ keys, out: table, ...fast });
    const netFile = join(tmp, 'arch.json');
    writeFileSync(netFile, JSON.stringify(arch));
    const cap = captureStdout();
    await predictCmd(['--table', table, '--net', netFile, '--measure', '--repeats', '3', '--json']);
    const j = JSON.parse(cap.text());
    expect(j.parts).toHaveLength(keys.length);
    expect(j.measured.medianMs).toBeGreaterThan(0);
    expect(readFileSync(table, 'utf8')).toMatch(/^# generator: wgnas profile/);
  });
});
