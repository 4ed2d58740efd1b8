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
    const m = r.out.match(/^measured ([\d.]+) ms median .*; table minus measured [+-][\d.]+%$/m);
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
    expect(r.out).toMatch(/; prediction error [+-][\d.]+%$/m);
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
    expect(r.out).toMatch(/, 2 thread\(s\), .*; table minus measured [+-][\d.]+%$/m);
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
