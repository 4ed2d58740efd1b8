/**
 * Ctrl-C: a search stopped by SIGINT ends with one line saying how to continue (then dies by SIGINT), leaves no
 * lock file behind, and the `--resume` it names ends where an uninterrupted run ends. What the line
 * says for the other commands that resume (or cannot), from their specs.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resumeHint } from '../../src/cli/interrupt.js';
import { parseCommand } from '../../src/cli/parse.js';
import type { CommandSpec } from '../../src/cli/spec.js';
import { BENCH } from '../../src/cli/specs/bench.js';
import { EVOLVE_SPACE } from '../../src/cli/specs/evolve-space.js';
import { PROFILE } from '../../src/cli/specs/profile.js';
import { PROXYLESS } from '../../src/cli/specs/proxyless.js';
import { SCORE } from '../../src/cli/specs/score.js';
import { SEARCH } from '../../src/cli/specs/search.js';
import { handDesignedSpace, writeSpaceFile } from '../../src/mobilenet/space-file.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { TINY_CIFAR_LAYOUT } from '../helpers/cases.js';
import { wgnasChild } from '../helpers/child.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-interrupt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SEARCH_ARGS = [
  'search',
  '--device',
  'cpu',
  '--cpu-threads',
  '1',
  '--batch',
  '8',
  '--cells-per-stage',
  '1',
  '--budget',
  '60',
];
/** What a search prints, without its wall time. */
const result = (out: string) => out.replace(/ in [\d.]+ s\n/, '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Ctrl-C', () => {
  it(
    'a search stops with one line naming --resume, drops its lock, and the resume ends as a whole run',
    { timeout: 300_000 },
    async ({ skip }) => {
      if (cpuTestBackend() === null) return skip();
      const ev = join(tmp, 'ev.csv');
      let rows = 0;
      const stopped = await wgnasChild([...SEARCH_ARGS, '--evaluated', ev], {
        onStart: (c) =>
          void (async () => {
            // Signal once a few cells are in the file (header + 3 rows), well before the 60th.
            while (c.exitCode === null && rows < 4) {
              await sleep(10);
              rows = existsSync(ev) ? readFileSync(ev, 'utf8').split('\n').length - 1 : 0;
            }
            c.kill('SIGINT');
          })(),
      });
      expect(stopped.signal, stopped.stderr).toBe('SIGINT');
      const last = stopped.stderr.trim().split('\n').at(-1);
      expect(last).toBe(
        `wgnas search: stopped by SIGINT; --evaluated ${ev} keeps the work done: repeat the command with --resume to continue`,
      );
      expect(stopped.stderr).not.toMatch(/\n\s+at /); // no stack
      expect(existsSync(`${ev}.lock`)).toBe(false);
      const kept = readFileSync(ev, 'utf8').trim().split('\n').length - 1;
      expect(kept).toBeGreaterThanOrEqual(3);

      const resumed = await wgnasChild([...SEARCH_ARGS, '--evaluated', ev, '--resume']);
      expect(resumed.code, resumed.stderr).toBe(0);
      const whole = await wgnasChild([...SEARCH_ARGS, '--evaluated', join(tmp, 'whole.csv')]);
      expect(whole.code, whole.stderr).toBe(0);
      expect(result(resumed.stdout)).toBe(result(whole.stdout));
      // The same rows, each with the time it took (the last column).
      const untimed = (path: string) => readFileSync(path, 'utf8').replace(/,[^,\n]*$/gm, '');
      expect(untimed(ev)).toBe(untimed(join(tmp, 'whole.csv')));
      expect(readFileSync(ev, 'utf8').split('\n')[0]).toMatch(/,time_ms$/);
    },
  );

  it('says what each command keeps: its resume file, nothing yet, nothing without the flag, or no hint', () => {
    const hint = (spec: CommandSpec, argv: string[]) => {
      const p = parseCommand(spec, argv);
      if (p.kind !== 'run') throw new Error('not a run');
      return resumeHint(p.mode, p.values);
    };
    const table = join(tmp, 'cpu.yaml');
    expect(hint(PROFILE, ['--out', table])).toBe(`nothing was written to --out ${table} yet`);
    writeFileSync(table, '# a table\n');
    expect(hint(PROFILE, ['--out', table, '--force'])).toBe(
      `--out ${table} keeps the work done: repeat the command with --resume in place of --force to continue`,
    );
    expect(hint(SCORE, ['--sample', '3'])).toBe('nothing was kept to resume from (--out FILE makes the run resumable)');
    expect(hint(SEARCH, [])).toBe('nothing was kept to resume from (--evaluated FILE makes the run resumable)');
    // The cell-space search resumes from its --evaluated FILE too (its Ctrl-C: search-cells-resume.test.ts).
    const space = join(tmp, 'space.json');
    writeSpaceFile(space, handDesignedSpace(TINY_CIFAR_LAYOUT));
    expect(hint(SEARCH, ['--space-file', space])).toBe(
      'nothing was kept to resume from (--evaluated FILE makes the run resumable)',
    );
    const cells = join(tmp, 'cells.csv');
    expect(hint(SEARCH, ['--space-file', space, '--evaluated', cells])).toBe(`nothing was written to --evaluated ${cells} yet`);
    writeFileSync(cells, 'choices,wrcor\n"0,1,2",1.5\n');
    expect(hint(SEARCH, ['--space-file', space, '--evaluated', cells, '--force'])).toBe(
      `--evaluated ${cells} keeps the work done: repeat the command with --resume in place of --force to continue`,
    );
    expect(hint(PROXYLESS, ['--latency-table', table, '--target-ms', '60'])).toBe(
      'nothing was kept to resume from (--checkpoint DIR makes the run resumable)',
    );
    // A checkpoint folder exists from the start (its lock): only a checkpoint in it is something to resume.
    const ck = join(tmp, 'ck');
    mkdirSync(ck);
    writeFileSync(join(ck, 'lock'), '{}\n');
    const proxyless = ['--latency-table', table, '--target-ms', '60', '--checkpoint', ck];
    expect(hint(PROXYLESS, proxyless)).toBe(`nothing was written to --checkpoint ${ck} yet`);
    writeFileSync(join(ck, 'current'), 'ckpt-000001\n');
    expect(hint(PROXYLESS, proxyless)).toBe(
      `--checkpoint ${ck} keeps the work done: repeat the command with --resume to continue`,
    );
    // evolve-space resumes from its --checkpoint DIR as proxyless does.
    const evolve = ['--budget-madds', '4M'];
    expect(hint(EVOLVE_SPACE, evolve)).toBe('nothing was kept to resume from (--checkpoint DIR makes the run resumable)');
    const evo = join(tmp, 'evo');
    mkdirSync(evo);
    writeFileSync(join(evo, 'lock'), '{}\n');
    expect(hint(EVOLVE_SPACE, [...evolve, '--checkpoint', evo])).toBe(`nothing was written to --checkpoint ${evo} yet`);
    writeFileSync(join(evo, 'current'), 'ckpt-000001\n');
    expect(hint(EVOLVE_SPACE, [...evolve, '--checkpoint', evo, '--resume'])).toBe(
      `--checkpoint ${evo} keeps the work done: repeat the command with --resume to continue`,
    );
    expect(hint(BENCH, ['matmul'])).toBeUndefined();
  });

  it('a .json --out, written whole at the end, keeps the rows streamed beside it until then', () => {
    const hint = (spec: CommandSpec, argv: string[]) => {
      const p = parseCommand(spec, argv);
      if (p.kind !== 'run') throw new Error('not a run');
      return resumeHint(p.mode, p.values);
    };
    const out = join(tmp, 'scores.json');
    expect(hint(SCORE, ['--sample', '3', '--out', out])).toBe(`nothing was written to --out ${out} yet`);
    writeFileSync(`${out}.rows.jsonl`, '');
    expect(hint(SCORE, ['--sample', '3', '--out', out])).toBe(`nothing was written to --out ${out} yet`);
    writeFileSync(`${out}.rows.jsonl`, '{"arch":"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|","wrcor":1}\n');
    expect(hint(SCORE, ['--sample', '3', '--out', out])).toBe(
      `--out ${out} keeps the work done: repeat the command with --resume to continue`,
    );
    const ev = join(tmp, 'ev.json');
    writeFileSync(`${ev}.rows.jsonl`, '{"arch":"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|","wrcor":1}\n');
    expect(hint(SEARCH, ['--evaluated', ev])).toBe(
      `--evaluated ${ev} keeps the work done: repeat the command with --resume to continue`,
    );
  });
});
