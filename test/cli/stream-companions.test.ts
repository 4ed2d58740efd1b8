/**
 * The files a row stream keeps beside its output (OUT.settings.json, OUT.lock, a .json's
 * OUT.rows.jsonl) are checked before the work, as OUT is: one that is a directory used to fail the
 * run at its first rows, after the fresh run had removed the old OUT. CPU backend, in process.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasInProcess } from '../helpers/cli.js';

const hasCpu = cpuTestBackend() !== null;
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-stream-companions-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SCORE = ['score', '--sample', '2', '--seed', '1', '--proxies', 'params', '--batch', '8', '--device', 'cpu', '--quiet'];
const SEARCH = ['search', '--budget', '2', '--population', '2', '--sample-size', '1', '--proxy', 'params', '--batch', '8'];

describe('a row stream\u2019s companion files are checked before the work', () => {
  for (const [name, companion, what] of [
    ['s.csv', 's.csv.settings.json', 'keeps its settings record'],
    ['l.csv', 'l.csv.lock', 'keeps its lock'],
    ['j.json', 'j.json.rows.jsonl', 'streams its rows'],
  ] as const) {
    it.skipIf(!hasCpu)(`score --out ${name} with ${companion} a directory: refused, the old output kept`, async () => {
      const out = join(tmp, name);
      const old = name.endsWith('.json') ? '[{"arch": "x", "params": 1}]\n' : 'arch,params\nx,1\n';
      writeFileSync(out, old);
      mkdirSync(join(tmp, companion));
      const r = await wgnasInProcess([...SCORE, '--out', out]);
      expect(r.code, r.err).toBe(2);
      expect(r.err.trim()).toBe(
        `wgnas score: --out '${out}': ${companion} beside it is a directory, where the run ${what} (a file); remove it or name another --out`,
      );
      expect(r.out).toBe(''); // no row was scored
      expect(readFileSync(out, 'utf8')).toBe(old);
    });
  }

  it.skipIf(!hasCpu)('search --evaluated E with E.settings.json a directory: refused', async () => {
    const e = join(tmp, 'e.jsonl');
    mkdirSync(`${e}.settings.json`);
    const r = await wgnasInProcess([...SEARCH, '--device', 'cpu', '--quiet', '--evaluated', e]);
    expect(r.code, r.err).toBe(2);
    expect(r.err.trim()).toBe(
      `wgnas search: --evaluated '${e}': e.jsonl.settings.json beside it is a directory, where the run keeps its settings record (a file); remove it or name another --evaluated`,
    );
  });
});
