/**
 * `wgnas correlate`: a warning when too few cells make tau meaningless; --reference ranked by |tau|;
 * score files of earlier WRCor definitions read under the current names (search-report.ts
 * WRCOR_DEFINITION), alone or beside others, each renaming said in a note.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findDataFile } from '../../src/data/paths.js';
import { loadNb201Accuracies } from '../../src/data/nb201-bench.js';
import { canonicalKey, parseArch } from '../../src/spaces/nb201.js';
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

  describe('score files of earlier WRCor definitions: read under the current names, never two weightings under one', () => {
    const CELLS = [
      '|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|avg_pool_3x3~0|avg_pool_3x3~1|skip_connect~2|',
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_1x1~2|',
      '|none~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|nor_conv_1x1~1|none~2|',
      '|skip_connect~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|none~1|nor_conv_1x1~2|',
      '|nor_conv_1x1~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|',
    ];
    // Their NAS-Bench-201 CIFAR-10 accuracies, for scores that rank them exactly up (tau 1) or down (-1).
    const accs = loadNb201Accuracies();
    const up = (c: string) => accs.get(canonicalKey(parseArch(c)))!;
    const down = (c: string) => -up(c);
    const row = (c: string, xs: number[]) => `"${c}",${xs.join(',')}\n`;
    /** A proxy's cells and Kendall tau in the report. */
    const tau = (out: string, p: string) => {
      const r = proxyRow(out, p);
      return r && [r[1], Number(r[2])];
    };
    const correlate = (...files: string[]) =>
      wgnasInProcess(['correlate', '--bootstrap', '0', ...files.flatMap((f) => ['--scores', f])]);

    // Definition 2 (recorded 2): wrcor 2^stage ranks the cells down, wrcor_module 2^module up.
    const v2 = () =>
      writeScoreFile(
        join(tmp, 'wrcor-v2.csv'),
        'arch,wrcor,wrcor_act,wrcor_grad,wrcor_unweighted,wrcor_module\n' +
          CELLS.slice(0, 3)
            .map((c) => row(c, [down(c), down(c), down(c), up(c), up(c)]))
            .join(''),
        { '--proxies': 'wrcor', 'wrcor definition': 2 },
      );

    it('definition 2 alone: wrcor_module read as wrcor, wrcor as wrcor_stage, its ablations as wrcor_stage_act and _grad; said once', async () => {
      const f = v2();
      const r = await correlate(f);
      expect(r.code, r.err).toBe(0);
      expect(tau(r.out, 'wrcor')).toEqual(['3', 1]);
      expect(tau(r.out, 'wrcor_stage')).toEqual(['3', -1]);
      expect(tau(r.out, 'wrcor_stage_act')).toEqual(['3', -1]);
      expect(tau(r.out, 'wrcor_stage_grad')).toEqual(['3', -1]);
      expect(tau(r.out, 'wrcor_unweighted')).toEqual(['3', 1]);
      for (const gone of ['wrcor_module', 'wrcor_act', 'wrcor_grad']) expect(proxyRow(r.out, gone), gone).toBeUndefined();
      expect(r.err.split('\n').filter((l) => l.includes('WRCor definition'))).toEqual([
        `note: --scores: ${f} holds WRCor definition 2 (wrcor weighted 2^stage, wrcor_module 2^module), read as wrcor_stage and wrcor, ` +
          'the current names (wrcor_act and wrcor_grad, 2^stage there, as wrcor_stage_act and wrcor_stage_grad)',
      ]);
      // Asked by its former name: what it is now.
      const old = await wgnasInProcess(['correlate', '--bootstrap', '0', '--scores', f, '--proxies', 'wrcor_module']);
      expect(old.code).toBe(1);
      expect(old.err).toContain("; wrcor_module is now 'wrcor' (WRCor definition 3: 2^module");
      // In any case, as --proxies takes registry names.
      const upper = await wgnasInProcess(['correlate', '--bootstrap', '0', '--scores', f, '--proxies', 'WRCOR_MODULE']);
      expect(upper.code).toBe(1);
      expect(upper.err).toContain("; WRCOR_MODULE is now 'wrcor' (WRCor definition 3: 2^module");
    });

    it('the same numbers as a current file: a cell in both is one cell, its scores the same (a duplicate)', async () => {
      const f2 = v2();
      // Definition 3 (recorded): wrcor 2^module, wrcor_stage 2^stage; the first cell again, with the same scores.
      const f3 = writeScoreFile(
        join(tmp, 'wrcor-v3.csv'),
        'arch,wrcor,wrcor_act,wrcor_grad,wrcor_unweighted,wrcor_stage\n' +
          CELLS.slice(2)
            .map((c) => row(c, [up(c), up(c) + 1, up(c) + 2, up(c), down(c)]))
            .join(''),
        { '--proxies': 'wrcor', 'wrcor definition': 3 },
      );
      const r = await correlate(f2, f3);
      expect(r.code, r.err).toBe(0);
      // 3 + 3 rows, 5 cells: the shared one merged, its wrcor and wrcor_stage the same in both files.
      expect(tau(r.out, 'wrcor')).toEqual(['5', 1]);
      expect(tau(r.out, 'wrcor_stage')).toEqual(['5', -1]);
      // The two weightings' ablations stay apart: definition 2's over its 3 cells, the current ones over the other 3.
      expect(tau(r.out, 'wrcor_stage_act')?.[0]).toBe('3');
      expect(tau(r.out, 'wrcor_act')?.[0]).toBe('3');
      // Another wrcor for the shared cell in the current file: refused, as any two scores of one cell.
      const bad = writeScoreFile(
        join(tmp, 'wrcor-v3-other.csv'),
        'arch,wrcor,wrcor_stage\n' + row(CELLS[2], [up(CELLS[2]) + 0.5, down(CELLS[2])]),
        { '--proxies': 'wrcor', 'wrcor definition': 3 },
      );
      const clash = await correlate(f2, bad);
      expect(clash.code).toBe(1);
      expect(clash.err).toContain(`give the cell ${CELLS[2]} different wrcor scores (${up(CELLS[2])} and ${up(CELLS[2]) + 0.5},`);
      // A current file alone: nothing renamed, nothing said.
      const alone = await correlate(f3);
      expect(alone.code, alone.err).toBe(0);
      expect(alone.err).not.toContain('WRCor definition');
      expect(tau(alone.out, 'wrcor')).toEqual(['3', 1]);
    });

    it('definition 1 alone or beside newer files: its wrcor (2^stage) is read as wrcor_stage, said with the cells that have wrcor', async () => {
      // Definition 1 (a sidecar without the key): wrcor 2^stage, constant responses counted.
      const f1 = writeScoreFile(
        join(tmp, 'wrcor-v1.csv'),
        'arch,wrcor,wrcor_act\n' +
          CELLS.slice(3)
            .map((c) => row(c, [down(c), down(c)]))
            .join(''),
        { '--proxies': 'wrcor' },
      );
      // Alone (or given twice): no wrcor, which now means 2^module, is made of its 2^stage scores.
      for (const files of [[f1], [f1, f1]]) {
        const one = await correlate(...files);
        expect(one.code, one.err).toBe(0);
        expect(tau(one.out, 'wrcor_stage')).toEqual(['2', -1]);
        expect(tau(one.out, 'wrcor_stage_act')).toEqual(['2', -1]);
        for (const gone of ['wrcor', 'wrcor_act']) expect(proxyRow(one.out, gone), gone).toBeUndefined();
        expect(one.err.split('\n').filter((l) => l.includes('WRCor definition'))).toEqual([
          `note: --scores: ${f1} holds WRCor definition 1 (before 2026-12-06: weighted 2^stage, constant responses counted): its wrcor is read as wrcor_stage ` +
            "(wrcor_act and wrcor_grad, 2^stage there, as wrcor_stage_act and wrcor_stage_grad), as wrcor now weighs 2^module; today's wrcor_stage differs from it " +
            'on cells whose output receives nothing',
        ]);
      }
      // Asked for wrcor: not there, the columns say what it holds.
      const asked = await wgnasInProcess(['correlate', '--bootstrap', '0', '--scores', f1, '--proxies', 'wrcor']);
      expect(asked.code).toBe(1);
      expect(asked.err).toContain(`--proxies: wrcor not in ${f1} (columns: wrcor_stage, wrcor_stage_act)`);
      const f2 = v2();
      const r = await correlate(f1, f2);
      expect(r.code, r.err).toBe(0);
      expect(tau(r.out, 'wrcor_stage')).toEqual(['5', -1]);
      expect(tau(r.out, 'wrcor')).toEqual(['3', 1]);
      expect(r.err.split('\n').filter((l) => l.startsWith('note: --scores:') && !l.includes('only'))).toEqual([
        `note: --scores: ${f2} holds WRCor definition 2 (wrcor weighted 2^stage, wrcor_module 2^module), read as wrcor_stage and wrcor, ` +
          'the current names (wrcor_act and wrcor_grad, 2^stage there, as wrcor_stage_act and wrcor_stage_grad)',
        `note: --scores: ${f1} holds WRCor definition 1 (before 2026-12-06: weighted 2^stage, constant responses counted): its wrcor is read as wrcor_stage ` +
          "(wrcor_act and wrcor_grad, 2^stage there, as wrcor_stage_act and wrcor_stage_grad) beside the newer files', which differs from it on cells whose output receives nothing",
        'note: --scores: wrcor is correlated over the 3 of 5 cells that have it',
      ]);
    });

    it("a renamed file's vote ranked by the former wrcor: left out, recomputed from the current members", async () => {
      // vote = wrcor + synflow + jacob_cov: the file's own vote (ranked by its 2^stage wrcor) is down, the members up.
      const f = writeScoreFile(
        join(tmp, 'wrcor-v2-vote.csv'),
        'arch,wrcor,wrcor_module,synflow,jacob_cov,vote\n' +
          CELLS.slice(0, 4)
            .map((c) => row(c, [down(c), up(c), up(c), up(c), down(c)]))
            .join(''),
        { '--proxies': 'vote', 'wrcor definition': 2 },
      );
      const r = await correlate(f);
      expect(r.code, r.err).toBe(0);
      expect(tau(r.out, 'vote')).toEqual(['4', 1]);
      expect(r.err).toContain(
        'read as wrcor_stage and wrcor, the current names; their vote columns, which ranked by that wrcor, are left out (recomputed from the members where every cell has them)',
      );
    });
  });
});
