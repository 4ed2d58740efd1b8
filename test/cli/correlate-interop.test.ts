/**
 * `wgnas correlate --scores` on the field's formats: NASLib's zero-cost JSON (nested per dataset,
 * index-tuple keys, Python's bare NaN / -Infinity) and NAS-Bench-Suite-Zero's CSV (`net,net_str,...`).
 * Scores are built from the true accuracies, so the expected tau is known exactly.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { wgnasInProcess } from '../helpers/cli.js';
import { distinctAccuracyCells, proxyRow } from '../helpers/scores.js';

const dir = mkdtempSync(join(tmpdir(), 'wgnas-correlate-'));
// 12 cells with distinct accuracies, in table order.
const cells = distinctAccuracyCells(12);

/** The printed row of `proxy`: [n, tau, rho]. */
function rowOf(out: string, proxy: string): [number, number, number] {
  const fields = proxyRow(out, proxy);
  if (!fields) throw new Error(`no row for ${proxy} in:\n${out}`);
  const [, n, tau, rho] = fields;
  return [Number(n), Number(tau), Number(rho)];
}

describe('correlate reads NASLib and NAS-Bench-Suite-Zero files', () => {
  it('NASLib zero-cost JSON: nested per dataset, NaN and -Infinity left out of their proxy only', async () => {
    const entry = (r: (typeof cells)[number], i: number) =>
      `"${r.net}": {"idx": "${i}", "arch": "${r.net}", "val_accuracy": ${r.valAcc}, ` +
      `"good": {"score": ${i === 3 ? 'NaN' : r.valAcc * 2}, "time": 0.1}, "bad": {"score": ${i === 5 ? '-Infinity' : -r.valAcc}, "time": 0.2}}`;
    const text = `{"cifar10": {${cells.map(entry).join(', ')}}, "cifar100": {}}`;
    const file = join(dir, 'zc_nasbench201.json');
    writeFileSync(file, text);
    const r = await wgnasInProcess(['correlate', '--scores', file]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(rowOf(r.out, 'good')).toEqual([11, 1, 1]);
    expect(rowOf(r.out, 'bad')).toEqual([11, -1, -1]);
  });

  it('a JSON without a cifar10 section is refused in one line naming the file', async () => {
    const file = join(dir, 'other.json');
    writeFileSync(file, '{"ImageNet16-120": {}}');
    const r = await wgnasInProcess(['correlate', '--scores', file]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /other\.json: expected a JSON array of rows, got object \(and not NASLib's zero-cost JSON: no 'cifar10' section/,
    );
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it("NAS-Bench-Suite-Zero CSV: the cell in 'net_str', its tuple in 'net'", async () => {
    const file = join(dir, 'suite_zero.csv');
    writeFileSync(
      file,
      `net,net_str,nwot,val_accs\n${cells.map((c) => `"${c.net}",${c.arch},${100 - c.valAcc},${c.valAcc}`).join('\n')}\n`,
    );
    const r = await wgnasInProcess(['correlate', '--scores', file]);
    expect(r.code).toBe(0);
    expect(rowOf(r.out, 'nwot')).toEqual([12, -1, -1]);
    expect(r.out).not.toMatch(/^val_accs/m);
  });
});
