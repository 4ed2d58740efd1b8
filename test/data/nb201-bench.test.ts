import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  CHECKED_TABLE_SHA256,
  loadNaslibZc,
  loadNb201Accuracies,
  loadNb201ReferenceProxies,
  loadNb201Table,
  parsePythonJson,
  REFERENCE_FAILED_SCORE,
  REFERENCE_PROXY_DOCS,
} from '../../src/data/nb201-bench.js';
import { parseCsv, readCsvRecords } from '../../src/data/csv.js';
import { dataFile } from '../../src/data/paths.js';
import { allCells, canonicalKey, formatArch, fromIndexTuple, isCanonical, parseArch } from '../../src/spaces/nb201.js';
import { kendallTau, spearmanRho } from '../../src/util/ranks.js';

const FIRST = '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|';
const BEST = '|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|';
const EMPTY = '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|';

describe('NB201 ground truth', () => {
  it('has 9445 accuracies keyed by canonical arch string', () => {
    const acc = loadNb201Accuracies();
    expect(acc.size).toBe(9445);
    expect(acc.get(FIRST)).toBe(84.99);
    expect(acc.get('|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|')).toBe(
      90.52,
    );
    expect(acc.get(EMPTY)).toBe(10);
    expect(Math.max(...acc.values())).toBe(91.57);
    expect(acc.get(BEST)).toBe(91.57);
    expect(loadNb201Table()[0]).toMatchObject({ arch: FIRST, net: '(4, 0, 3, 1, 4, 3)', valAcc: 84.99 });
  });

  it('the shipped table is the one CHECKED_TABLE_SHA256 names, and passes every check that hash skips', () => {
    const path = dataFile('nb201', 'nb201_valid_nets.csv');
    const bytes = readFileSync(path);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(CHECKED_TABLE_SHA256);
    // What the CSV reader makes of it, checked row by row as a table of other bytes is.
    const csv = readCsvRecords(bytes.toString('utf8'), path, { required: ['net', 'net_str', 'val_accs'] });
    const rows = loadNb201Table();
    expect(rows.length).toBe(csv.length);
    rows.forEach((r, i) => {
      const c = csv[i].record;
      expect({ net: r.net, arch: r.arch, valAcc: r.valAcc }).toEqual({ net: c.net, arch: c.net_str, valAcc: Number(c.val_accs) });
      expect(formatArch(fromIndexTuple(c.net))).toBe(r.arch);
      expect(r.cell).toEqual(fromIndexTuple(c.net));
      expect(isCanonical(r.cell)).toBe(true);
    });
  });

  it('answers every one of the 15625 cells through canonicalKey', () => {
    const acc = loadNb201Accuracies();
    let n = 0;
    for (const c of allCells()) if (acc.has(canonicalKey(c))) n++;
    expect(n).toBe(15625);
    // A cell with a dead conv (node 1 unreachable) gets its live form's accuracy.
    const dead = parseArch('|none~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_1x1~2|');
    expect(acc.get(canonicalKey(dead))).toBe(acc.get('|none~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|'));
  });
});

describe('reference proxy table', () => {
  it('has 9445 rows, 13 documented proxies, accuracies joined', () => {
    const ref = loadNb201ReferenceProxies();
    expect(ref.length).toBe(9445);
    const names = Object.keys(ref[0].scores).sort();
    expect(names).toEqual([
      'epe_nas',
      'fisher',
      'flops',
      'grad_norm',
      'grasp',
      'jacov',
      'l2_norm',
      'nwot',
      'params',
      'plain',
      'snip',
      'synflow',
      'zen',
    ]);
    expect(Object.keys(REFERENCE_PROXY_DOCS).sort()).toEqual(names);
    expect(ref[0].arch).toBe(FIRST);
    expect(ref[0].valAcc).toBe(84.99);
    expect(ref[0].scores.nwot).toBeCloseTo(754.6843327648469, 10);
    expect(ref[0].scores.params).toBe(0.129306);
    expect(ref[0].scores.flops).toBe(19.248832);
    expect(ref[0].scores.synflow).toBeCloseTo(44.48481149764257, 10);
    expect(ref.every((r) => r.valAcc !== undefined && Object.values(r.scores).every(Number.isFinite))).toBe(true);
    const empty = ref.find((r) => r.arch === EMPTY)!;
    expect(empty.scores.nwot).toBe(REFERENCE_FAILED_SCORE);
    // Rank correlation with accuracy, values from scipy.stats.kendalltau / spearmanr (tau-b, with ties).
    const acc = ref.map((r) => r.valAcc!);
    const nwot = ref.map((r) => r.scores.nwot);
    const flops = ref.map((r) => r.scores.flops); // many ties
    expect(kendallTau(nwot, acc).tau).toBeCloseTo(0.6025113609459014, 12);
    expect(spearmanRho(nwot, acc).rho).toBeCloseTo(0.7921690718282834, 12);
    expect(kendallTau(flops, acc).tau).toBeCloseTo(0.5187773612376182, 12);
    expect(spearmanRho(flops, acc).rho).toBeCloseTo(0.7141122595724068, 12);
  });
});

describe('NASLib zero-cost json', () => {
  it('has 725/725/724 cells per dataset with scores and times', () => {
    const c10 = loadNaslibZc();
    expect(c10.length).toBe(725);
    expect(loadNaslibZc('cifar100').length).toBe(725);
    expect(loadNaslibZc('ImageNet16-120').length).toBe(724);
    const r = c10[0];
    expect(r.net).toBe('(0, 2, 3, 2, 3, 1)');
    expect(r.arch).toBe('|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|');
    expect(r.naslibIdx).toBe(534);
    expect(r.valAcc).toBe(86.06);
    expect(r.scores.synflow).toBeCloseTo(41.94876860937543, 10);
    expect(r.scores.flops).toBe(88.307392);
    expect(r.timeS.synflow).toBeGreaterThan(0);
    expect(Object.keys(r.scores).length).toBe(12);
    expect(() => loadNaslibZc('imagenet' as never)).toThrow(/no dataset 'imagenet'/);
  });

  it('agrees with nb201_valid_nets.csv on cells already in live form (the others were trained separately)', () => {
    const acc = loadNb201Accuracies();
    const rows = loadNaslibZc();
    const live = rows.filter((r) => canonicalKey(r.cell) === formatArch(r.cell));
    expect(live.length).toBe(447);
    for (const r of live) expect(r.valAcc, r.arch).toBe(acc.get(r.arch));
    const dead = rows.filter((r) => canonicalKey(r.cell) !== formatArch(r.cell));
    expect(dead.filter((r) => r.valAcc !== acc.get(canonicalKey(r.cell))).length).toBeGreaterThan(250);
  });
});

describe('file format helpers', () => {
  it('parses Python-style JSON (bare NaN/Infinity) and quoted CSV', () => {
    const v = parsePythonJson('{"a": -Infinity, "b": [NaN, Infinity, 1], "s": "NaN, Infinity"}') as Record<string, unknown>;
    expect(v).toEqual({ a: -Infinity, b: [NaN, Infinity, 1], s: 'NaN, Infinity' });
    expect(loadNaslibZc().some((r) => r.scores.nwot === -Infinity)).toBe(true);
    expect(parseCsv('net,x\r\n"(1, 2)",3\n"a ""q"" b",\n\n')).toEqual([
      ['net', 'x'],
      ['(1, 2)', '3'],
      ['a "q" b', ''],
    ]);
    expect(() => parseCsv('a,"b')).toThrow(/unterminated/);
  });
});
