/**
 * In-process CLI runs for the bad-input and fuzz tests: `wgnas <argv>` through runCli with captured
 * output, plus a folder of corrupt input files. The test files mock the GPU and the native addon
 * (./refusing-mocks.ts) so that a command line wrongly accepted fails fast (with GPU_REACHED)
 * instead of starting real work.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { openDataset, parseDatasetSpec } from '../../src/data/dataset-spec.js';
import { defaultSplitSizes } from '../../src/data/search-split.js';
import { TABLE } from './flags.js';

export { NET, TABLE, TINY_PROXYLESS, tinyNb201 } from './flags.js';
export { GPU_REACHED, NATIVE_REACHED } from './refusing-mocks.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function wgnasInProcess(argv: readonly string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

/**
 * What is wrong with a refusal that should exit `code` with one line on stderr matching `match`
 * (no stack, no error class before the message, not past the mocked GPU and addon, nothing on
 * stdout); empty when nothing is.
 */
export function refusalProblems(r: CliResult, code: number, match: RegExp): string[] {
  const lines = r.err.split('\n').filter((l) => l !== '');
  return [
    r.code !== code && `exit ${r.code}, expected ${code}`,
    lines.length !== 1 && `${lines.length} lines on stderr`,
    /\n\s+at /.test(r.err) && 'a stack trace',
    /GPU_REACHED|NATIVE_REACHED/.test(r.err) && 'got past the checks',
    !match.test(r.err) && `message does not match ${match}`,
    /^wgnas[^:]*: [A-Z]\w*Error: /m.test(r.err) && 'a class name before the message',
    r.out !== '' && 'wrote to stdout',
  ].filter((p): p is string => typeof p === 'string');
}

/**
 * wgnasInProcess with process.stderr captured too: what a command writes there directly (its
 * progress bar, header and step lines), beside its io.err lines.
 */
export async function wgnasCapturingStderr(argv: readonly string[]): Promise<CliResult & { stderr: string }> {
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  });
  try {
    return { ...(await wgnasInProcess(argv)), stderr };
  } finally {
    spy.mockRestore();
  }
}

export const ARCH = '|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|';

/**
 * The training images of the default --dataset (cifar10) where the tests run: the 5000-image subset of
 * ../shared/data, the committed 1000-image fixture of a clone without it, or a fetched release. The
 * messages that quote a count, and the searches' default split, follow it.
 */
export const TRAIN_IMAGES = (await openDataset(parseDatasetSpec('cifar10'), 'train')).ds.count;
export const DEFAULT_SPLIT = defaultSplitSizes(TRAIN_IMAGES);

/** Corrupt and valid input files under `dir`; the keys name what each one is. */
export function makeFixtures(dir: string) {
  mkdirSync(dir, { recursive: true });
  const f = (name: string, content: string | Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const binary = Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919 + 13) % 256));
  const table = readFileSync(TABLE, 'utf8');
  return {
    dir,
    binary: f('garbage.bin', binary),
    binaryCsv: f('garbage.csv', binary),
    binaryJson: f('garbage.json', binary),
    binaryYaml: f('garbage.yaml', binary),
    emptyCsv: f('empty.csv', ''),
    headerOnlyCsv: f('header.csv', 'arch,wrcor\n'),
    truncatedCsv: f('truncated.csv', `arch,wrcor\n"${ARCH.slice(0, 20)}`),
    nonNumericCsv: f('nonnumeric.csv', `arch,wrcor\n${ARCH},0.5\n\n${ARCH},abc\n`),
    badArchCsv: f('badarch.csv', `arch,wrcor\n${ARCH},1\nfoo,2\n`),
    noArchCsv: f('noarch.csv', 'x,wrcor\n1,2\n'),
    raggedCsv: f('ragged.csv', `arch,wrcor\n${ARCH},1,2\n`),
    allEmptyCsv: f('allempty.csv', `arch,wrcor\n${ARCH},\n${ARCH},\n`),
    hugeCsv: f('huge.csv', `arch,wrcor\n${ARCH},1e999999\n${ARCH},${'9'.repeat(5000)}\n`),
    scoresCsv: f(
      'scores.csv',
      `arch,wrcor\n${ARCH},1\n|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|,2\n|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|,3\n`,
    ),
    objJson: f('obj.json', '{"arch": "x"}'),
    numsJson: f('nums.json', '[1, 2, 3]'),
    truncJson: f('trunc.json', `[{"arch": "${ARCH.slice(0, 10)}`),
    nestedJson: f('nested.json', JSON.stringify([{ arch: ARCH, wrcor: { x: 1 } }])),
    nullJson: f('null.json', 'null'),
    badLineArchs: f('badline.txt', `# archs\n${ARCH}\n\n# a comment\n|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|\n`),
    longArchs: f('long.txt', `${'x'.repeat(10_000)}\n`),
    emptyArchs: f('empty.txt', '# nothing here\n\n'),
    nullsSpace: f(
      'nulls.json',
      JSON.stringify({ format: 'wgnas-space', version: 1, layout: 'cifar', layers: [null, 3, { cells: [null] }] }),
    ),
    layoutObjSpace: f('layoutobj.json', JSON.stringify({ format: 'wgnas-space', version: 1, layout: {}, layers: [] })),
    truncSpace: f('truncspace.json', '{"format": "wgnas-space", "version": 1, "layo'),
    emptyYaml: f('empty.yaml', ''),
    truncYaml: f('trunc.yaml', table.slice(0, 150)),
    badYaml: f('bad.yaml', 'Conv-input:8x8x3-output:4x4x4:\n  mean: fast\n'),
    badNet: f('badnet.json', '{"blocks": 3}'),
    truncNet: f('truncnet.json', '{"name": "ProxylessNASNets", "first_conv": {'),
    arrayNet: f('arraynet.json', '[]'),
    aFile: f('plain.txt', 'x'),
  };
}

export type Fixtures = ReturnType<typeof makeFixtures>;

/** The rows of a JSON-lines output without time_ms (the one column that differs between runs). */
export function jsonlRowsWithoutTime(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { time_ms: _t, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
}
