/** Lookup-table YAML reader/writer and key parsing, on hand-made and the published shared tables. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkResumeStamp } from '../../src/latency/table-writer.js';

import {
  expandedConvKey,
  featureMixKey,
  keyToNativeOp,
  LatencyKeyError,
  logitsKey,
  parseLatencyKey,
  stemKey,
} from '../../src/latency/keys.js';
import {
  formatLatencyTable,
  LatencyTableError,
  entryMs,
  formatEntry,
  parseLatencyTable,
  PROFILE_ENTRY_FIELDS,
  readLatencyTable,
  readResumedTable,
  writeLatencyTable,
} from '../../src/latency/lut.js';

const SHARED = new URL('../../data/latency/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-lut-'));

describe('latency table YAML', () => {
  it('round-trips entries and the header stamp', () => {
    const table = {
      meta: { cpu: 'Test CPU @ 1GHz', threads: '2', date: '2024-01-01T00:00:00.000Z' },
      entries: new Map([
        ['Conv-input:32x32x3-output:16x16x32', { count: 10, mean: 0.0123, var: 1.5e-9, median: 0.012, iqr: 0.0004 }],
        ['expanded_conv-input:16x16x32-output:16x16x16-expand:1-kernel:3-stride:1-idskip:0', { count: 3, mean: 1 / 3, var: 0 }],
      ]),
    };
    const path = join(tmp, 'rt.yaml');
    writeLatencyTable(path, table);
    const back = readLatencyTable(path);
    expect(back.meta).toEqual(table.meta);
    // Written with 12 significant digits (no binary float noise): 1/3 comes back as 0.333333333333.
    const rounded = [...table.entries.entries()].map(([k, e]) => [k, { ...e, mean: Number(e.mean.toPrecision(12)) }] as const);
    expect([...back.entries.entries()]).toEqual(rounded.sort(([a], [b]) => (a < b ? -1 : 1)));
    expect(formatLatencyTable(back)).toBe(formatLatencyTable(table));
    expect(readFileSync(path, 'utf8')).toContain('  var: 1.5e-9\n');
  });

  it('reads the published ProxylessNAS Pixel 1 table', () => {
    const t = readLatencyTable(join(SHARED, 'proxylessnas_mobile_trim.yaml'));
    expect(t.entries.size).toBe(72);
    const conv = t.entries.get('Conv-input:224x224x3-output:112x112x32')!;
    expect(conv).toEqual({ count: 982, mean: 4.083755600814664, var: 0.2502372872758427 });
    expect(t.entries.get('Logits-input:7x7x1280-output:1000')!.mean).toBeCloseTo(0.3096415478615071, 15);
    for (const key of t.entries.keys()) expect(() => keyToNativeOp(key)).not.toThrow();
  });

  it('reads the Once-for-All Note10 table (std instead of var, se/hs fields)', () => {
    const t = readLatencyTable(join(SHARED, 'ofa_note10_224_lookup_table.yaml'));
    expect(t.entries.size).toBeGreaterThan(50);
    const e = t.entries.get('Conv-input:224x224x3-output:112x112x24')!;
    expect(e.mean).toBeCloseTo(0.994418, 9);
    expect(e.std).toBeCloseTo(0.01726798413249215, 12);
    const op = keyToNativeOp('expanded_conv-input:112x112x24-output:56x56x32-expand:144-kernel:3-stride:2-idskip:0-se:0-hs:0', {
      expandIsChannels: true,
    });
    expect(op).toMatchObject({ type: 'mbconv', expand: 6, kernel: 3, stride: 2, inC: 24, outC: 32 });
  });

  it('rejects malformed input naming file and line', () => {
    const bad: Array<[string, RegExp]> = [
      ['A:\n  count: 1\n  mean: x\n', /:3: field 'mean' of 'A' is not a finite number/],
      ['  mean: 1\n', /:1: entry 'mean' is not a map of 'field: number' lines/],
      ['A:\n  count: 1\n', /:1: entry 'A' has no 'mean' field/],
      ['A:\n  mean: 1\nA:\n  mean: 2\n', /:3: duplicate key 'A'/],
      ['A:\n  mean: 1\nnot a key\n  mean: 2\n', /:3: expected 'KEY:'/],
      ['A:\n\tmean: 1\n', /:2: tab character/],
      ['A:\n  mean: -1\n', /:2: negative latency/],
      ['A:\n  mean 1\n  count: 2\n', /:2: expected 'KEY:' entries of 'field: number' lines/],
    ];
    for (const [text, re] of bad) {
      expect(() => parseLatencyTable(text, { file: 'bad.yaml' })).toThrow(LatencyTableError);
      expect(() => parseLatencyTable(text, { file: 'bad.yaml' })).toThrow(new RegExp(`bad\\.yaml${re.source}`));
    }
  });

  it('unreadable and empty files give clear errors', () => {
    expect(() => readLatencyTable(join(tmp, 'does-not-exist.yaml'))).toThrow(
      /cannot read latency table .*does-not-exist\.yaml: ENOENT: no such file/,
    );
    // The code once, not 'ENOENT ENOENT: ...'.
    expect(() => readLatencyTable(join(tmp, 'does-not-exist.yaml'))).not.toThrow(/ENOENT ENOENT/);
    const empty = join(tmp, 'empty.yaml');
    writeFileSync(empty, '# just a comment\n');
    expect(() => readLatencyTable(empty)).toThrow(/no entries/);
    const binary = join(tmp, 'binary.yaml');
    writeFileSync(binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(() => readLatencyTable(binary)).toThrow(LatencyTableError);
  });

  it('drops a truncated last entry only when asked (resume)', () => {
    const text = '# cpu: x\nA:\n  count: 1\n  mean: 1\nB:\n  count: 2\n  me';
    expect(() => parseLatencyTable(text)).toThrow(LatencyTableError);
    const t = parseLatencyTable(text, { allowTruncatedTail: true });
    expect([...t.entries.keys()]).toEqual(['A']);
    const t2 = parseLatencyTable('A:\n  mean: 1\nB:\n  count: 2\n', { allowTruncatedTail: true });
    expect([...t2.entries.keys()]).toEqual(['A']);
    const t3 = parseLatencyTable('A:\n  mean: 1\nexpanded_conv-inp', { allowTruncatedTail: true });
    expect([...t3.entries.keys()]).toEqual(['A']);
  });

  it('resume keeps no torn entry: a cut after a field, inside a number, or a field short', () => {
    const e = { count: 3, mean: 0.645763666667, var: 0.0117, median: 0.64, iqr: 0.09 };
    const whole = '# cpu: x\n' + formatEntry('A', e) + formatEntry('B', e) + formatEntry('C', e);
    const cutAt = (marker: string, extra: number) => whole.slice(0, whole.lastIndexOf(marker) + marker.length + extra);
    const keysOf = (text: string) => {
      const path = join(tmp, 'torn.yaml');
      writeFileSync(path, text);
      return [...readResumedTable(path).entries.keys()];
    };
    expect(keysOf(whole)).toEqual(['A', 'B', 'C']);
    // Cut right after 'mean: 0' (parses as a mean of 0, without var, median, iqr).
    expect(keysOf(cutAt('  mean: ', 1))).toEqual(['A', 'B']);
    // Cut inside the number: 0.645763666667 -> 0.6457636, every field present but the last.
    expect(keysOf(cutAt('  mean: ', 9))).toEqual(['A', 'B']);
    // Cut inside the last field's number: all fields there, the file does not end as the writer ends it.
    expect(keysOf(cutAt('  iqr: ', 3))).toEqual(['A', 'B']);
    // Cut after a whole line: the newline is there, fields are missing.
    expect(keysOf(cutAt('  median: 0.64\n', 0))).toEqual(['A', 'B']);
    // An entry short of a field anywhere (not written by profile) is measured again, not kept.
    const short = whole.replace(/(B:\n(?: {2}\w+: .*\n){2}) {2}var: .*\n/, '$1');
    expect(short).not.toBe(whole);
    expect(keysOf(short)).toEqual(['A', 'C']);
    expect(PROFILE_ENTRY_FIELDS).toEqual(['count', 'mean', 'var', 'median', 'iqr']);
    // Without the resume options the table reads as it is (a published table has no median).
    expect([...parseLatencyTable(whole.slice(0, -1)).entries.keys()]).toEqual(['A', 'B', 'C']);
  });

  it('median is summed only where there is one', () => {
    expect(entryMs({ count: 1, mean: 2, median: 1 }, 'median')).toBe(1);
    expect(entryMs({ count: 1, mean: 2 })).toBe(2);
    expect(() => entryMs({ count: 1, mean: 2 }, 'median', "latency entry 'K'")).toThrow(/latency entry 'K' has no 'median'/);
  });
});

describe('latency tables as YAML (PyYAML interop)', () => {
  const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;
  it('reads PyYAML block and flow style (safe_dump default_flow_style=False / None) alike', () => {
    const block = readLatencyTable(fixture('pyyaml-block.yaml'));
    const flow = readLatencyTable(fixture('pyyaml-flow.yaml'));
    expect(flow.entries).toEqual(block.entries);
    expect(block.entries.get('Conv-input:224x224x3-output:112x112x32')).toEqual({ count: 50, mean: 1.2345678, var: 1e-5 });
    expect(flow.entries.get('expanded_conv-input:112x112x32-output:112x112x16-expand:1-kernel:3-stride:1-idskip:0')).toEqual({
      count: 50,
      mean: 0.5,
      var: 0.00012,
    });
  });

  it('writes without float noise, exponents PyYAML reads as floats, and reads back what it wrote', () => {
    const t = readLatencyTable(fixture('pyyaml-block.yaml'));
    t.meta = { cpu: 'test cpu', threads: '1' };
    const text = formatLatencyTable(t);
    expect(text).toContain('# cpu: test cpu\n');
    expect(text).toContain('  mean: 0.0066988\n');
    expect(text).toContain('  var: 0.00001\n');
    expect(formatLatencyTable({ meta: {}, entries: new Map([['A', { count: 1, mean: 2e-9 }]]) })).toBe(
      'A:\n  count: 1\n  mean: 2.0e-9\n',
    );
    expect(text).not.toMatch(/\d{13,}/);
    const back = parseLatencyTable(text);
    expect(back.meta).toEqual(t.meta);
    expect(back.entries.get('Logits-input:7x7x1280-output:1000')).toEqual({ count: 50, mean: 0.0066988, var: 0 });
    expect(formatLatencyTable(back)).toBe(text);
  });
});

describe('latency keys', () => {
  it('formats the ProxylessNAS key layout', () => {
    expect(expandedConvKey({ inH: 112, inC: 16, outC: 24, expand: 3, kernel: 5, stride: 2, idskip: false })).toBe(
      'expanded_conv-input:112x112x16-output:56x56x24-expand:3-kernel:5-stride:2-idskip:0',
    );
    expect(expandedConvKey({ inH: 7, inC: 8, outC: 8, expand: 6, kernel: 3, stride: 1, idskip: true })).toBe(
      'expanded_conv-input:7x7x8-output:7x7x8-expand:6-kernel:3-stride:1-idskip:1',
    );
    expect(stemKey(224, 32)).toBe('Conv-input:224x224x3-output:112x112x32');
    expect(stemKey(33, 16)).toBe('Conv-input:33x33x3-output:17x17x16');
    expect(featureMixKey(7, 320, 1280)).toBe('Conv_1-input:7x7x320-output:7x7x1280');
    expect(logitsKey(7, 1280, 1000)).toBe('Logits-input:7x7x1280-output:1000');
    expect(parseLatencyKey('Logits-input:7x7x1280-output:1000')).toEqual({
      op: 'Logits',
      input: [7, 7, 1280],
      output: [1000],
      params: {},
    });
  });

  it('maps keys to native ops', () => {
    expect(keyToNativeOp('Conv-input:224x224x3-output:112x112x32')).toEqual({
      type: 'conv',
      inH: 224,
      inW: 224,
      inC: 3,
      outC: 32,
      kernel: 3,
      stride: 2,
    });
    expect(keyToNativeOp('Conv_1-input:7x7x320-output:7x7x1280')).toMatchObject({ type: 'conv', kernel: 1, stride: 1 });
    expect(keyToNativeOp('Logits-input:7x7x1280-output:1000')).toEqual({ type: 'logits', inH: 7, inW: 7, inC: 1280, outC: 1000 });
    expect(keyToNativeOp('expanded_conv-input:14x14x80-output:14x14x80-expand:3-kernel:5-stride:1-idskip:1')).toEqual({
      type: 'mbconv',
      inH: 14,
      inW: 14,
      inC: 80,
      outC: 80,
      expand: 3,
      kernel: 5,
      stride: 1,
      idskip: true,
    });
  });

  it('rejects unknown ops, impossible shapes and malformed keys', () => {
    const bad: Array<[string, RegExp]> = [
      ['Attention-input:7x7x8-output:7x7x8', /unknown op 'Attention'/],
      ['AvgPool2D-input:7x7x1152-output:1x1x1152', /unknown op 'AvgPool2D'/],
      [
        'expanded_conv-input:1x1x16-output:2x2x24-expand:3-kernel:3-stride:2-idskip:0',
        /impossible shape: stride 2 on a 1x1 input gives 1x1, not 2x2/,
      ],
      ['expanded_conv-input:56x56x24-output:56x56x24-expand:3-kernel:3-stride:2-idskip:0', /impossible shape/],
      ['expanded_conv-input:8x8x16-output:8x8x24-expand:3-kernel:3-stride:1-idskip:1', /idskip:1 needs stride 1 and equal/],
      ['expanded_conv-input:8x8x16-output:8x8x16-expand:3-kernel:4-stride:1-idskip:0', /kernel:4 is not one of/],
      ['expanded_conv-input:8x8x16-output:8x8x16-kernel:3-stride:1-idskip:0', /missing field 'expand'/],
      ['expanded_conv-input:8x8x16-output:8x8x16-expand:3-kernel:3-stride:1-idskip:0-se:1-hs:0', /se:1 .* not supported/],
      ['Conv_1-input:7x7x320-output:4x4x1280', /Conv_1 is a 1x1 stride-1 conv|impossible shape/],
      ['Logits-input:7x7x1280-output:10x10', /class count/],
      ['expanded_conv-input:8x8-output:8x8x16-expand:3-kernel:3-stride:1-idskip:0', /input must be HxWxC/],
      ['expanded_conv input 8x8x16', /malformed latency key/],
      ['', /malformed latency key/],
    ];
    for (const [key, re] of bad) {
      expect(() => keyToNativeOp(key), key).toThrow(LatencyKeyError);
      expect(() => keyToNativeOp(key), key).toThrow(re);
    }
  });
});

describe('profile --resume stamps', () => {
  const stamp = {
    cpu: 'AMD EPYC',
    library: 'oneDNN 2.6.3',
    backend: 'onednn',
    threads: '1',
    'cache-flush': '0',
    pinned: 'yes',
    repeats: '3',
    warmup: '1',
    'max-time-ms': '2000',
  };

  it('a table stamped before max-time-ms was recorded resumes; one stamped with it is checked', () => {
    const old: Record<string, string> = { ...stamp };
    delete old['max-time-ms'];
    expect(() => checkResumeStamp('t.yaml', old, stamp)).not.toThrow();
    expect(() => checkResumeStamp('t.yaml', stamp, { ...stamp, 'max-time-ms': '40' })).toThrow(/max-time-ms/);
    const noRepeats: Record<string, string> = { ...stamp };
    delete noRepeats.repeats;
    expect(() => checkResumeStamp('t.yaml', noRepeats, stamp)).toThrow(/its stamp has no 'repeats'/);
  });
});
