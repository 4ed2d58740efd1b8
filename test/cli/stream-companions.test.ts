/**
 * The files a row stream keeps beside its output (OUT.settings.json, OUT.lock, a .json's
 * OUT.rows.jsonl) are checked before the work, as OUT is: one that is a directory used to fail the
 * run at its first rows, after the fresh run had removed the old OUT. CPU backend, in process.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { tempPathFor } from '../../src/util/durable.js';

const hasCpu = cpuTestBackend() !== null;
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-stream-companions-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|skip_connect~2|';
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

describe('an input that is a file the stream keeps beside its output is refused before the work', () => {
  it.skipIf(!hasCpu)('search --space-file --latency-table E.settings.json --evaluated E', async () => {
    const SPACE = join(tmp, 'hand.json');
    expect((await wgnasInProcess(['evolve-space', '--hand-designed', '--out', SPACE])).code).toBe(0);
    const e = join(tmp, 'own.csv');
    const side = `${e}.settings.json`;
    // A finished run's record with cell prices of this space (as one timed on this CPU keeps them).
    const layers = (JSON.parse(readFileSync(SPACE, 'utf8')) as { layers: Array<{ cells: unknown[] }> }).layers;
    const cost = { unit: 'ms', source: 'measured', fixed: 0.01, perPosition: layers.map((l) => l.cells.map(() => 0.001)) };
    const state = { cellPrices: { cost, host: 'here', at: '2026-12-06T00:00:00.000Z' } };
    const record = JSON.stringify({ format: 'wgnas-row-stream', version: 1, settings: {}, complete: true, state }) + '\n';
    writeFileSync(side, record);
    const r = await wgnasInProcess([
      'search',
      '--space-file',
      SPACE,
      '--budget',
      '2',
      '--max-latency-ms',
      '5',
      '--latency-table',
      side,
      '--device',
      'cpu',
      '--quiet',
      '--evaluated',
      e,
    ]);
    expect(r.code, r.err).toBe(2);
    expect(r.err.trim()).toBe(
      `wgnas search: --latency-table '${side}' is the file where the run of --evaluated '${e}' keeps its settings record: the run would write over its own input; copy it elsewhere or name another --evaluated`,
    );
    expect(readFileSync(side, 'utf8')).toBe(record);
  });
});

describe('names whose temporaries the file system would refuse are refused before the work', () => {
  /** A file name in `dir` of `ext` whose writeFileAtomic temporary has `tmpBytes` bytes. */
  const nameWithTemp = (dir: string, ext: string, tmpBytes: number) => {
    const overhead = Buffer.byteLength(basename(tempPathFor(join(dir, ext))));
    return join(dir, 'n'.repeat(tmpBytes - overhead) + ext);
  };

  it.skipIf(!hasCpu)('score --out OUT whose OUT.settings.json temporary is too long: refused, the old output kept', async () => {
    // OUT's own temporary fits (250 bytes); OUT.settings.json's has 14 bytes more.
    const out = nameWithTemp(tmp, '.csv', 250);
    writeFileSync(out, 'arch,params\nx,1\n');
    const r = await wgnasInProcess([...SCORE, '--out', out]);
    expect(r.code, r.err).toBe(2);
    expect(r.err.trim()).toMatch(
      /^wgnas score: --out '.*': the name is too long to be written safely: the temporary of '\.\.\.n+\.csv\.settings\.json' would have 264 bytes, the file system takes 255; shorten it by 9$/,
    );
    expect(r.out).toBe('');
    expect(readFileSync(out, 'utf8')).toBe('arch,params\nx,1\n');
  });

  it('export --out FILE whose temporary is too long: refused before the export', async () => {
    const out = nameWithTemp(tmp, '.onnx', 256);
    const r = await wgnasInProcess(['export', '--nb201', ARCH, '--out', out]);
    expect(r.code, r.err).toBe(2);
    expect(r.err.trim()).toMatch(
      /^wgnas export: --out '.*': the name is too long to be written safely: .* would have 256 bytes, the file system takes 255; shorten it by 1$/,
    );
    expect(existsSync(out)).toBe(false);
  });
});
