/**
 * `wgnas correlate`: a warning when too few cells make tau meaningless; --reference ranked by |tau|;
 * a note when score files of two WRCor definitions are read together.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findDataFile } from '../../src/data/paths.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { proxyRow, writeScoreFile } from '../helpers/scores.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-correlate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('correlate', () => {
  it('n = 2 prints tau = 1 with a note that two cells say nothing', async () => {
    const f = join(tmp, 'two.csv');
    writeFileSync(
      f,
      'arch,params\n|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|,3\n|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|,1\n',
    );
    const r = await wgnasInProcess(['correlate', '--scores', f]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^params\s+2\s+1(\.0+)?\s/m);
    expect(r.err).toContain('note: only 2 cells; a rank correlation of so few is not meaningful (n = 2 gives ±1)');
  });

  it('--reference lists the proxies by |tau|, best first', async () => {
    // The reference scores (nb201_zc_proxies.csv, 3 MB) come with ../shared/data, not the package.
    if (!findDataFile('nb201', 'nb201_zc_proxies.csv')) {
      expect(process.env.CI, 'nb201_zc_proxies.csv is missing').not.toBe('true');
      return;
    }
    const r = await wgnasInProcess(['correlate', '--reference']);
    expect(r.code, r.err).toBe(0);
    const taus = r.out
      .split('\n')
      .slice(2)
      .filter((l) => /^\S+\s+\d+\s+-?[\d.]+/.test(l))
      .map((l) => Math.abs(Number(l.trim().split(/\s+/)[2])));
    expect(taus.length).toBeGreaterThanOrEqual(10);
    expect(taus).toEqual([...taus].sort((a, b) => b - a));
  });

  it('files of two WRCor definitions read together: one note naming them, wrcor_module over the cells that have it', async () => {
    const CELLS = [
      '|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|avg_pool_3x3~0|avg_pool_3x3~1|skip_connect~2|',
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_1x1~2|',
      '|none~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|nor_conv_1x1~1|none~2|',
      '|skip_connect~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|none~1|nor_conv_1x1~2|',
      '|nor_conv_1x1~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|',
    ];
    const row = (c: string, ...xs: number[]) => `"${c}",${xs.join(',')}\n`;
    const old = writeScoreFile(
      join(tmp, 'wrcor-v1.csv'),
      'arch,wrcor\n' +
        CELLS.slice(0, 3)
          .map((c, i) => row(c, 10 + i))
          .join(''),
      { '--proxies': 'wrcor' },
    );
    const now = writeScoreFile(
      join(tmp, 'wrcor-v2.csv'),
      'arch,wrcor,wrcor_module\n' +
        CELLS.slice(3)
          .map((c, i) => row(c, 20 + i, 30 + i))
          .join(''),
      { '--proxies': 'wrcor', 'wrcor definition': 2 },
    );
    const r = await wgnasInProcess(['correlate', '--scores', old, '--scores', now]);
    expect(r.code, r.err).toBe(0);
    const notes = r.err.split('\n').filter((l) => l.includes('former wrcor'));
    expect(notes).toEqual([
      `note: --scores: ${old} holds the former wrcor (constant responses counted, before 2026-12-06), ${now} the current one: ` +
        'wrcor of cells whose output receives nothing differs between them; wrcor_module is correlated over the 2 of 5 cells that have it',
    ]);
    expect(proxyRow(r.out, 'wrcor')?.[1]).toBe('5');
    expect(proxyRow(r.out, 'wrcor_module')?.[1]).toBe('2');
    // One file alone (a committed results file), or files of one definition: no note.
    for (const files of [[old], [now], [old, old]]) {
      const one = await wgnasInProcess(['correlate', ...files.flatMap((f) => ['--scores', f])]);
      expect(one.code, one.err).toBe(0);
      expect(one.err).not.toContain('former wrcor');
    }
  });
});
