/**
 * `predict --measure` with a table of another device (the published Pixel 1 table) says so and what
 * the measured / predicted ratio means, instead of calling the gap a prediction error; with a table
 * stamped with this CPU it does not.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
