/**
 * bench/results-dir.ts: fresh <experiment>/<date>[-tag] folders (never one holding a result), and a
 * result written under the results root carries `command` and `commit` beside it.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkoutCommit, commandLine, resultsDir, writeResult } from '../../bench/results-dir.js';
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

  it('writes the command line as a shell would need it', () => {
    const argv = ['/usr/bin/node', join(REPO, 'bench', 'x.ts'), '--budget', '2.6M', '--note', "it's a b", '--out', 'a/b.json'];
    expect(commandLine(argv)).toBe(`npx tsx bench/x.ts --budget 2.6M --note 'it'\\''s a b' --out a/b.json`);
  });
});
