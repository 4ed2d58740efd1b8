/**
 * `predict --measure` with a table of another device (the published Pixel 1 table) says so and what
 * the measured / predicted ratio means, instead of calling the gap a prediction error; with a table
 * stamped with this CPU it does not, unless the table was timed with other threads or another library
 * (then the gap is 'table minus measured' and the note names the flags that measure as the table was).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareDevices } from '../../src/cli/commands/predict.js';
import { tableProvenance } from '../../src/latency/lut.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { nativeOrNull } from '../helpers/native.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-predict-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const PIXEL = 'data/latency/proxylessnas_mobile_trim.yaml';
const NET = 'data/latency/proxylessnas_proxyless_mobile.config';
const ARGS = ['--net', NET, '--missing', 'nearest', '--measure', '--repeats', '2'];

describe('predict --measure', () => {
  it('a table of another device: a note with the ratio, no "prediction error"', { timeout: 120_000 }, async () => {
    if (!nativeOrNull()) return;
    const r = await wgnasInProcess(['predict', '--table', PIXEL, ...ARGS]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).not.toMatch(/prediction error/);
    const m = r.out.match(/^measured ([\d.]+) ms mean \(median .*; table minus measured \(mean vs mean\) [+-][\d.]+%$/m);
    expect(m).not.toBeNull();
    const total = Number(r.out.match(/^total\s+([\d.]+) ms/m)![1]);
    const ratio = (Number(m![1]) / total).toFixed(2);
    expect(r.out).toContain(
      `note: the table was measured on an unnamed device (no '# cpu:' stamp; the published ProxylessNAS tables are a Pixel 1 phone)`,
    );
    expect(r.out).toContain(`measured / predicted = ${ratio}: this CPU takes ${ratio}x the table device's time`);
    const j = JSON.parse((await wgnasInProcess(['predict', '--table', PIXEL, ...ARGS, '--json'])).out) as {
      measured: { sameDevice: boolean; tableDevice?: string };
    };
    expect(j.measured.sameDevice).toBe(false);
    expect(j.measured.tableDevice).toBeUndefined();
  });

  it('a table stamped with this CPU: a prediction error, no note', { timeout: 120_000 }, async () => {
    const native = nativeOrNull();
    if (!native) return;
    const own = join(tmp, 'own.yaml');
    writeFileSync(own, `# cpu: ${native.cpuInfo().model}\n# library: oneDNN\n${readFileSync(PIXEL, 'utf8')}`);
    const r = await wgnasInProcess(['predict', '--table', own, ...ARGS]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/; prediction error \(mean vs mean\) [+-][\d.]+%$/m);
    expect(r.out).not.toMatch(/note: the table was measured on/);
  });
});

describe('predict --measure with a table of this CPU timed another way', () => {
  it('other threads or library: "table minus measured" and the flags that match the table', async () => {
    const native = nativeOrNull();
    if (!native) return;
    const own = join(tmp, 'threads.yaml');
    writeFileSync(
      own,
      `# cpu: ${native.cpuInfo().model}\n# library: oneDNN\n# backend: onednn\n# threads: 1\n${readFileSync(PIXEL, 'utf8')}`,
    );
    const r = await wgnasInProcess(['predict', '--table', own, ...ARGS, '--threads', '2']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/, 2 thread\(s\), .*; table minus measured \(mean vs mean\) [+-][\d.]+%$/m);
    expect(r.out).not.toMatch(/prediction error/);
    expect(r.out).toContain(
      'note: the table was timed with 1 thread(s) (onednn), this run with 2 thread(s) (onednn): the error compares two settings, not the predictor; measure as the table was (--threads 1)\n',
    );
    const j = JSON.parse((await wgnasInProcess(['predict', '--table', own, ...ARGS, '--threads', '2', '--json'])).out) as {
      measured: { sameDevice: boolean; settingsDiffer?: { flags: string } };
    };
    expect(j.measured.sameDevice).toBe(true);
    expect(j.measured.settingsDiffer?.flags).toBe('--threads 1');
  }, 120_000);

  it('names each setting that differs; none for an unstamped table or another device', () => {
    const meta = { cpu: 'X', threads: '4', backend: 'onednn' };
    expect(compareDevices(meta, { threads: 1, backend: 'xnnpack' }, 'X').settingsDiffer).toEqual({
      table: '4 thread(s) (onednn)',
      run: '1 thread(s) (xnnpack)',
      flags: '--threads 4 --backend onednn',
    });
    // onnxruntime: no library to compare, threads only.
    expect(compareDevices(meta, { threads: 4 }, 'X').settingsDiffer).toBeUndefined();
    expect(compareDevices({ cpu: 'X' }, { threads: 2, backend: 'onednn' }, 'X').settingsDiffer).toBeUndefined();
    expect(compareDevices(meta, { threads: 1 }, 'Y')).toEqual({ sameDevice: false, tableDevice: 'X', measuredOn: 'Y' });
  });
});

describe('predict text output', () => {
  const PLAIN = ['--net', NET, '--missing', 'nearest'];

  it("names where the table's figures came from: its stamp, or a published table's source", async () => {
    const stamped = join(tmp, 't.yaml');
    const stamp = '# cpu: AMD EPYC 7B13\n# library: oneDNN 2.6 (OpenMP, avx2)\n# threads: 1\n# date: 2026-12-05T10:00:00.000Z\n';
    writeFileSync(stamped, stamp + readFileSync(PIXEL, 'utf8'));
    const r = await wgnasInProcess(['predict', '--table', stamped, ...PLAIN]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(
      `predicted (mean, 23 parts)\nlatency from ${stamped} (AMD EPYC 7B13, 1 thread, oneDNN 2.6, 2026-12-05)\n`,
    );
    const pub = await wgnasInProcess(['predict', '--table', PIXEL, ...PLAIN]);
    expect(pub.code, pub.err).toBe(0);
    expect(pub.out).toContain(`latency from ${PIXEL} (Pixel 1, TFLite, 1 thread; published by ProxylessNAS)\n`);
    // Published by content: a copy under another name keeps the source, an edited table loses it.
    const copy = join(tmp, 'copy.yaml');
    writeFileSync(copy, readFileSync(PIXEL));
    expect((await wgnasInProcess(['predict', '--table', copy, ...PLAIN])).out).toContain(
      `latency from ${copy} (Pixel 1, TFLite, 1 thread; published by ProxylessNAS)\n`,
    );
    const bare = join(tmp, 'bare.yaml');
    writeFileSync(bare, readFileSync(PIXEL, 'utf8') + '\n');
    expect((await wgnasInProcess(['predict', '--table', bare, ...PLAIN])).out).toContain(
      `latency from ${bare} (no stamp: device unknown)\n`,
    );
  });

  it('target and GPU tables: the device, its CPU or GPU, threads', () => {
    const meta = { target: 'pi@rpi4', cpu: 'Cortex-A72', threads: '4', library: 'XNNPACK 2024', date: '2026-12-01T00:00:00Z' };
    expect(tableProvenance('t.yaml', meta)).toBe('pi@rpi4 (Cortex-A72), 4 threads, XNNPACK 2024, 2026-12-01');
    expect(tableProvenance('g.yaml', { device: 'gpu', gpu: 'llvmpipe', library: 'Dawn (webgpu 0.3)' })).toBe(
      'llvmpipe, Dawn (webgpu 0.3)',
    );
  });

  it('a table missing many keys: the one-line error names the flags, lists the keys that fit and says how many more', async () => {
    const one = join(tmp, 'one.yaml');
    writeFileSync(one, readFileSync(PIXEL, 'utf8').split('\n').slice(0, 4).join('\n') + '\n');
    const r = await wgnasInProcess(['predict', '--table', one, '--net', NET]);
    expect(r.code).toBe(1);
    // The library's MissingLatencyError, its advice in the command's terms (wgnas profile, --missing).
    expect(r.err).toBe(
      `wgnas predict: ${one}: latency table has no entry for 22 key(s); profile them (wgnas profile --net NET times a network's), ` +
        `or approximate them from the closest entries with missing policy 'nearest' or 'scale' (--missing): ` +
        'expanded_conv-input:112x112x32-output:112x112x16-expand:1-kernel:3-stride:1-idskip:0, and 21 more\n',
    );
  });
});
