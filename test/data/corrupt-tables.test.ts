/** Corrupt shared tables: each load error names the file and line; nothing is dropped silently. */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadNb201Accuracies } from '../../src/data/nb201-bench.js';
import { CsvError, parseCsvLines, readCsvObjects, readCsvRecords } from '../../src/data/csv.js';
import { dataFile, findDataFile } from '../../src/data/paths.js';

// Wherever the data roots have them (../shared/data, the test data root, the package's data/).
const cifarDir = dirname(dataFile('cifar10', 'train_5000.bin'));
const nb201Files = Object.fromEntries(
  ['nb201_valid_nets.csv', 'nb201_zc_proxies.csv', 'zc_nasbench201.json'].map((f) => [f, findDataFile('nb201', f)]),
);
const savedDataDir = process.env.WGNAS_DATA_DIR;

/** A data dir like the shared one with nb201_valid_nets.csv replaced by `nets`. */
function dataDirWith(nets: string | Buffer): string {
  const d = mkdtempSync(join(tmpdir(), 'wgnas-data-'));
  mkdirSync(join(d, 'nb201'));
  symlinkSync(cifarDir, join(d, 'cifar10'));
  for (const f of ['nb201_zc_proxies.csv', 'zc_nasbench201.json'])
    if (nb201Files[f]) symlinkSync(nb201Files[f]!, join(d, 'nb201', f));
  writeFileSync(join(d, 'nb201', 'nb201_valid_nets.csv'), nets);
  return d;
}

/** Loads with a corrupt file (a failed load caches nothing, so every call reads the files again). */
async function loadWith(nets: string | Buffer): Promise<unknown> {
  process.env.WGNAS_DATA_DIR = dataDirWith(nets);
  return loadNb201Accuracies();
}

afterEach(() => {
  if (savedDataDir === undefined) delete process.env.WGNAS_DATA_DIR;
  else process.env.WGNAS_DATA_DIR = savedDataDir;
});

describe('csv reader', () => {
  it('keeps line numbers across blank lines and quoted newlines', () => {
    expect(parseCsvLines('a,b\n\n1,2\n"x\ny",3\n\n4,5').map((r) => r.line)).toEqual([1, 3, 4, 7]);
    expect(readCsvRecords('a,b\n\n\n1,2\n', 'f.csv')).toEqual([{ record: { a: '1', b: '2' }, line: 4 }]);
  });

  it('names the file and line of a truncated, ragged, binary or headless table', () => {
    expect(() => readCsvObjects('a,b\n1,2\n\n"3', 'f.csv')).toThrow(
      'f.csv:4: unterminated quoted field (is the file truncated?)',
    );
    expect(() => readCsvObjects('a,b\n1,2\n\n3', 'f.csv')).toThrow('f.csv:4: expected 2 fields (a,b), got 1');
    expect(() => readCsvObjects('a\u0000b', 'f.csv')).toThrow('f.csv: not a CSV file (binary data)');
    expect(() => readCsvObjects('', 'f.csv')).toThrow(CsvError);
    expect(() => readCsvObjects('x,y\n1,2', 'f.csv', { required: ['net', 'val_accs'] })).toThrow(
      'f.csv:1: missing column net, val_accs (header: x,y)',
    );
  });
});

describe('NAS-Bench-201 tables', () => {
  const nets = () => readFileSync(nb201Files['nb201_valid_nets.csv']!, 'utf8');
  it('refuses a garbage or truncated nb201_valid_nets.csv instead of dropping val_acc', async () => {
    await expect(loadWith('hello world\nfoo\n')).rejects.toThrow(
      /nb201_valid_nets\.csv:1: missing column net, net_str, val_accs/,
    );
    await expect(loadWith('net,net_str,val_accs\n')).rejects.toThrow(/nb201_valid_nets\.csv: no rows/);
    await expect(loadWith(Buffer.from([0, 1, 2, 255, 0]))).rejects.toThrow(/nb201_valid_nets\.csv: not a CSV file/);
    await expect(loadWith(nets().split('\n').slice(0, 100).join('\n'))).rejects.toThrow(
      /nb201_valid_nets\.csv has 99 rows, not the 9445 live NAS-Bench-201 cells \(is it truncated\?\)/,
    );
  });

  it('names the line of a bad tuple, arch string or accuracy', async () => {
    const lines = nets().split('\n');
    const edit = (i: number, line: string) => [...lines.slice(0, i), line, ...lines.slice(i + 1)].join('\n');
    await expect(loadWith(edit(3, lines[3].replace(/^"\(\d/, '"(9')))).rejects.toThrow(
      /nb201_valid_nets\.csv:4: NB201 index tuple entry/,
    );
    await expect(loadWith(edit(2, lines[2].replace(/,[\d.]+$/, ',abc')))).rejects.toThrow(
      /nb201_valid_nets\.csv:3: 'abc' is not a number/,
    );
    await expect(loadWith(edit(1, lines[1].replace('avg_pool_3x3~0', 'nor_conv_3x3~0')))).rejects.toThrow(
      /nb201_valid_nets\.csv:2: net \(4, 0, 3, 1, 4, 3\) decodes to \|avg_pool_3x3~0\|.* but net_str is \|nor_conv_3x3~0\|/,
    );
    await expect(loadWith(`${lines.slice(0, 5).join('\n')}\n"(4, 0, 3`)).rejects.toThrow(
      /nb201_valid_nets\.csv:6: unterminated quoted field/,
    );
  });
});

describe('the NAS-Bench-201 table read line by line, else by the CSV reader', () => {
  it('a CRLF copy (other bytes than the shipped table: every check runs) and one with a blank line (the CSV reader) load as the shipped one', async () => {
    // Fresh modules each time: the table loaded is kept, which would hide the file read after it.
    const fresh = async () => {
      vi.resetModules();
      return (await import('../../src/data/nb201-bench.js')).loadNb201Accuracies();
    };
    const shipped = await fresh();
    expect(shipped.size).toBe(9445);
    const text = readFileSync(nb201Files['nb201_valid_nets.csv']!, 'utf8');
    for (const variant of [text.replace(/\n/g, '\r\n'), text.replace('\n', '\n\n')]) {
      process.env.WGNAS_DATA_DIR = dataDirWith(variant);
      expect(await fresh()).toEqual(shipped);
    }
  });
});
