/** `wgnas correlate`: a warning when too few cells make tau meaningless; --reference ranked by |tau|. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findDataFile } from '../../src/data/paths.js';
import { wgnasInProcess } from '../helpers/cli.js';

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
});
