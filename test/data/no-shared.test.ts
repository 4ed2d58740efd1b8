/**
 * A clone without ../shared/data: the key commands run on the package's data/ plus the committed
 * CIFAR-10 images (test/fixtures/cifar10-mini), and without images a command that needs them ends
 * in one line naming `wgnas data fetch`. $WGNAS_SHARED_DATA_DIR=none removes the ../shared root and
 * an empty $WGNAS_CACHE_DIR the user cache, as on a fresh machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataRoots } from '../../src/data/paths.js';
import { BIN } from '../helpers/child.js';
import { nativeOrNull } from '../helpers/native.js';
import { CIFAR10_MINI_ROOT } from '../setup/data-roots.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-noshared-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function wgnas(args: string[], images: boolean) {
  const env: Record<string, string | undefined> = { ...process.env, WGNAS_SHARED_DATA_DIR: 'none', WGNAS_CACHE_DIR: join(tmp, 'cache') };
  if (images) env.WGNAS_DATA_DIR = CIFAR10_MINI_ROOT;
  else delete env.WGNAS_DATA_DIR;
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('no ../shared/data', () => {
  it('WGNAS_SHARED_DATA_DIR replaces or removes the ../shared root', () => {
    const saved = process.env.WGNAS_SHARED_DATA_DIR;
    try {
      process.env.WGNAS_SHARED_DATA_DIR = 'none';
      expect(dataRoots().map((r) => r.origin)).not.toContain('../shared/data');
      process.env.WGNAS_SHARED_DATA_DIR = tmp;
      expect(dataRoots().find((r) => r.origin === '../shared/data')?.dir).toBe(tmp);
    } finally {
      if (saved === undefined) delete process.env.WGNAS_SHARED_DATA_DIR;
      else process.env.WGNAS_SHARED_DATA_DIR = saved;
    }
  });

  it('data list finds the tables in the package', () => {
    const r = wgnas(['data', 'list', '--json'], false);
    expect(r.code, r.err).toBe(0);
    const rows = JSON.parse(r.out) as Array<{ name: string; origin: string | null }>;
    expect(rows.find((x) => x.name === 'nb201')?.origin).toBe('package');
  });

  it('search scores cells on the committed images and looks their accuracy up in the packaged table', { timeout: 300_000 }, () => {
    if (!nativeOrNull()) return;
    const r = wgnas(['search', '--budget', '2', '--batch', '8', '--device', 'cpu', '--quiet'], true);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^best cell: +\|/m);
    expect(r.out).toMatch(/CIFAR-10 val accuracy \(NAS-Bench-201\): \d+\.\d+ %/);
  });

  it('predict and correlate run on the packaged tables', () => {
    const p = wgnas(['predict', '--table', 'data/latency/proxylessnas_mobile_trim.yaml', '--net', 'data/latency/proxylessnas_proxyless_mobile.config', '--missing', 'nearest'], false);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toMatch(/\d+\.\d+ ms/);
    const scores = join(tmp, 'scores.csv');
    writeFileSync(
      scores,
      'arch,params\n' +
        '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|,3\n' +
        '|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|,1\n' +
        '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|,2\n',
    );
    const c = wgnas(['correlate', '--scores', scores], false);
    expect(c.code, c.err).toBe(0);
    expect(c.out).toMatch(/params/);
  });

  it('a command that needs images and has none ends in one line naming wgnas data fetch', () => {
    const r = wgnas(['search', '--budget', '2', '--batch', '8', '--device', 'cpu', '--quiet'], false);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/dataset cifar10 not found .*get it with: wgnas data fetch cifar10/);
  });
});
