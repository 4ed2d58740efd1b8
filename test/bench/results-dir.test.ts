/**
 * bench/results-dir.ts: fresh <experiment>/<date>[-tag] folders (never one holding a result), and a
 * result written under the results root carries `command` and `commit` beside it, gzipped (NAME.gz)
 * when it is larger than RESULT_GZIP_BYTES.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkoutCommit, commandLine, RESULT_GZIP_BYTES, resultsDir, writeResult } from '../../bench/results-dir.js';
import { readTextFile } from '../../src/util/gz-file.js';
import { REPO } from '../helpers/paths.js';

describe('bench results folders', () => {
  it('dates the folder, reuses an empty one and never one with a result', () => {
    const root = mkdtempSync(join(tmpdir(), 'wgnas-results-'));
    const a = resultsDir('exp', { root, date: '2026-12-04', tag: 'v3' });
    expect(a).toBe(join(root, 'exp', '2026-12-04-v3'));
    expect(resultsDir('exp', { root, date: '2026-12-04', tag: 'v3' })).toBe(a); // still empty: reused
    writeFileSync(join(a, 'result.json'), '{}');
    expect(resultsDir('exp', { root, date: '2026-12-04', tag: 'v3' })).toBe(`${a}-2`);
    expect(resultsDir('exp', { root })).toMatch(/exp\/\d{4}-\d\d-\d\d$/);
  });

  it('records command and commit beside a result under the root, and nothing elsewhere', () => {
    const root = mkdtempSync(join(tmpdir(), 'wgnas-results-'));
    const file = join(resultsDir('exp', { root, date: '2026-12-04' }), 'result.json');
    writeResult(file, '{"x": 1}\n', root);
    expect(readFileSync(file, 'utf8')).toBe('{"x": 1}\n');
    const dir = join(root, 'exp', '2026-12-04');
    expect(readFileSync(join(dir, 'command'), 'utf8')).toBe(commandLine() + '\n');
    expect(readFileSync(join(dir, 'commit'), 'utf8').trim()).toBe(checkoutCommit());
    expect(checkoutCommit()).toMatch(/^[0-9a-f]{40}( \+ uncommitted changes)?$/);
    const elsewhere = mkdtempSync(join(tmpdir(), 'wgnas-elsewhere-'));
    writeResult(join(elsewhere, 'r.json'), '{}', root);
    expect(existsSync(join(elsewhere, 'command'))).toBe(false);
  });

  it('gzips a large result under the root (one form left as it grows), never a small one or one elsewhere', () => {
    const root = mkdtempSync(join(tmpdir(), 'wgnas-results-'));
    const dir = resultsDir('exp', { root, date: '2026-12-05' });
    const file = join(dir, 'result.json');
    const small = JSON.stringify({ rows: [1, 2, 3] }) + '\n';
    const row = (i: number) => ({ i, loss: 1 / (i + 1), names: ['3x3e3', 'zero', '7x7e6'] });
    // Just over the threshold, as a bench's history is: many rows of the same few fields.
    const rows = [];
    for (let i = 0; JSON.stringify(rows).length <= RESULT_GZIP_BYTES; i++) rows.push(row(i));
    const large = JSON.stringify({ rows }) + '\n';
    expect(writeResult(file, small, root)).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(small);
    expect(writeResult(file, large, root)).toBe(`${file}.gz`);
    expect(readdirSync(dir).sort()).toEqual(['command', 'commit', 'result.json.gz']);
    const gz = readFileSync(`${file}.gz`);
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    expect(gz.length).toBeLessThan(large.length / 4);
    expect(readTextFile(`${file}.gz`)).toBe(large);
    // The same data gives the same bytes (no name or time in the header), and gzip(1) reads it.
    writeResult(file, large, root);
    expect(readFileSync(`${file}.gz`).equals(gz)).toBe(true);
    expect(execFileSync('gzip', ['-dc', `${file}.gz`], { encoding: 'utf8', maxBuffer: 1 << 24 })).toBe(large);
    // Back under the threshold: the plain file again, the .gz gone; a name given as .gz stays gzipped.
    writeResult(file, small, root);
    expect(readdirSync(dir).sort()).toEqual(['command', 'commit', 'result.json']);
    expect(writeResult(join(dir, 'rows.csv.gz'), 'a,b\n1,2\n', root)).toBe(join(dir, 'rows.csv.gz'));
    expect(readTextFile(join(dir, 'rows.csv.gz'))).toBe('a,b\n1,2\n');
    expect(readTextFile(file)).toBe(small);
    // Outside the root the file is written as named, whatever its size (the device suite reads it there).
    const elsewhere = join(mkdtempSync(join(tmpdir(), 'wgnas-elsewhere-')), 'r.json');
    expect(writeResult(elsewhere, large, root)).toBe(elsewhere);
    expect(readFileSync(elsewhere, 'utf8')).toBe(large);
  });

  it('writes the command line as a shell would need it', () => {
    const argv = ['/usr/bin/node', join(REPO, 'bench', 'x.ts'), '--budget', '2.6M', '--note', "it's a b", '--out', 'a/b.json'];
    expect(commandLine(argv)).toBe(`npx tsx bench/x.ts --budget 2.6M --note 'it'\\''s a b' --out a/b.json`);
  });
});
