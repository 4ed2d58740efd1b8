/**
 * Property tests of the command line: random argv (every command's real option names with wrong,
 * huge, empty and hostile values) and random corrupt input files (truncated, binary, wrong JSON
 * shapes, huge numbers) never produce a stack, more than one error line, or a file from a refused
 * run. The GPU and the addon are mocked: a command line that is valid stops there (exit 1 with
 * GPU_REACHED / NATIVE_REACHED), so no real work runs.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { allSpecs } from '../../src/cli/cli.js';
import { optionNames } from '../../src/cli/parse.js';
import { ARCH, type Fixtures, GPU_REACHED, makeFixtures, NATIVE_REACHED, NET, TABLE, wgnasInProcess } from '../helpers/cli.js';

vi.mock('../../src/gpu/index.js', async (orig) =>
  (await import('../helpers/refusing-mocks.js')).refusingGpu(await orig<typeof import('../../src/gpu/index.js')>()),
);
vi.mock('../../src/native/binding.js', async (orig) =>
  (await import('../helpers/refusing-mocks.js')).refusingNative(await orig<typeof import('../../src/native/binding.js')>()),
);

const root = mkdtempSync(join(tmpdir(), 'wgnas-fuzz-'));
const outDir = join(root, 'out');
const fx: Fixtures = makeFixtures(join(root, 'in'));
const hand = join(root, 'hand.json');
let names: string[] = [];
let optionsOf: Record<string, string[]> = {};

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  expect((await wgnasInProcess(['evolve-space', '--hand-designed', '--out', hand])).code).toBe(0);
  const specs = await allSpecs();
  names = specs.map((s) => s.name);
  optionsOf = Object.fromEntries(specs.map((s) => [s.name, optionNames(s)]));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const reached = (err: string) => err.includes(GPU_REACHED) || err.includes(NATIVE_REACHED);

/** The properties every run must keep; returns what went wrong ('' when nothing). */
function check(argv: readonly string[], r: { code: number; out: string; err: string }): string {
  const lines = r.err.split('\n').filter((l) => l !== '');
  const written = readdirSync(outDir);
  for (const f of written) rmSync(join(outDir, f), { recursive: true, force: true });
  const problems = [
    ![0, 1, 2].includes(r.code) && `exit ${r.code}`,
    r.code !== 0 && lines.length !== 1 && `${lines.length} lines on stderr`,
    r.code !== 0 && !/^wgnas/.test(lines[0] ?? '') && 'the error line does not start with wgnas',
    /\n\s+at /.test(r.err) && 'a stack trace',
    r.code === 2 && r.out !== '' && 'a refused run wrote to stdout',
    r.code !== 0 && !reached(r.err) && written.length > 0 && `a failed run left ${written.join(', ')}`,
  ].filter(Boolean);
  return problems.length
    ? `wgnas ${argv.map((a) => JSON.stringify(a.slice(0, 80))).join(' ')}: ${problems.join('; ')}\n  ${r.err.trim().slice(0, 300)}`
    : '';
}

/** fc.assert, reporting the first failure in full (the property records it before returning false). */
async function assertAll<T>(failures: string[], prop: fc.IAsyncPropertyWithHooks<T>, params: fc.Parameters<T>): Promise<void> {
  try {
    await fc.assert(prop, { ...params, endOnFailure: true });
  } catch (e) {
    throw new Error(`${failures[0] ?? ''}\n${(e as Error).message.split('\n')[0]}`);
  }
}

const values = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.integer({ min: -100, max: 100 }).map(String),
    fc.integer().map(String),
    fc.double().map(String),
    fc.constantFrom(
      '0x10',
      '1e3',
      '1e999',
      '-1e999',
      'NaN',
      'Infinity',
      '',
      ' ',
      '-',
      '--',
      '3M',
      '12e6',
      '1.5G',
      ',,,',
      'a,,b',
      'none',
      'all',
      'vote',
      '4294967296',
      '99999999999999999999',
      '1/2',
      '+1',
      '.5',
    ),
    fc.string({ maxLength: 30 }),
    fc.string({ minLength: 1, maxLength: 3 }).map((s) => s.repeat(4000)),
    fc.constantFrom(
      ...Object.values(fx).filter((p) => p !== fx.dir),
      hand,
      TABLE,
      NET,
      root,
      '/dev/zero',
      '/proc/self/x',
      '/sys/x',
      join(outDir, 'o.csv'),
      join(outDir, 'o.json'),
      join(outDir, 'ck'),
      join(root, 'missing', 'o.csv'),
      ARCH,
    ),
  );

describe('CLI properties (fast-check)', () => {
  it('random argv for every command: exit 0/1/2, one error line, no stack, nothing written when refused', async () => {
    const failures: string[] = [];
    const token = (cmd: string) =>
      fc.oneof(
        { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...optionsOf[cmd]), values()).map(([n, v]) => [`--${n}`, v]) },
        { weight: 2, arbitrary: fc.constantFrom(...optionsOf[cmd]).map((n) => [`--${n}`]) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...optionsOf[cmd]), values()).map(([n, v]) => [`--${n}=${v}`]) },
        { weight: 1, arbitrary: values().map((v) => [v]) },
        { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map((s) => [`--${s}`]) },
      );
    const argv = fc
      .constantFrom(...names)
      .chain((cmd) => fc.array(token(cmd), { maxLength: 6 }).map((ts) => [cmd, ...ts.flat()]));
    await assertAll(
      failures,
      fc.asyncProperty(argv, async (a) => {
        const problem = check(a, await wgnasInProcess(a));
        if (problem) failures.push(problem);
        return problem === '';
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 200), seed: Number(process.env.FUZZ_SEED ?? 20261204) },
    );
  });

  it('random corrupt input files for every loader: one line naming the file, no stack', async () => {
    const valid = {
      csv: readFileSync(fx.scoresCsv, 'utf8'),
      yaml: readFileSync(TABLE, 'utf8'),
      space: readFileSync(hand, 'utf8'),
      net: readFileSync(NET, 'utf8'),
      archs: `${ARCH}\n${ARCH}\n`,
    };
    type Kind = keyof typeof valid;
    const content = (kind: Kind): fc.Arbitrary<string | Uint8Array> =>
      fc.oneof(
        fc.nat({ max: valid[kind].length }).map((n) => valid[kind].slice(0, n)),
        fc.uint8Array({ maxLength: 3000 }),
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc
          .tuple(
            fc.nat({ max: valid[kind].length }),
            fc.constantFrom('1e999', 'NaN', '-Infinity', '9'.repeat(400), 'null', '{}', '"', '\u0000', ',,,'),
          )
          .map(([n, junk]) => valid[kind].slice(0, n) + junk + valid[kind].slice(n)),
      );
    const runs: Array<{ kind: Kind; ext: string; argv: (f: string) => string[] }> = [
      { kind: 'csv', ext: 'csv', argv: (f) => ['correlate', '--scores', f] },
      { kind: 'csv', ext: 'json', argv: (f) => ['correlate', '--scores', f] },
      { kind: 'archs', ext: 'txt', argv: (f) => ['score', '--archs', f] },
      { kind: 'space', ext: 'json', argv: (f) => ['search', '--space-file', f, '--budget-madds', '3M'] },
      { kind: 'space', ext: 'json', argv: (f) => ['proxyless', '--space-file', f, '--target-madds', '3'] },
      { kind: 'yaml', ext: 'yaml', argv: (f) => ['predict', '--table', f, '--net', NET, '--missing', 'nearest'] },
      {
        kind: 'yaml',
        ext: 'yaml',
        argv: (f) => ['proxyless', '--latency-table', f, '--target-ms', '40', '--missing', 'nearest'],
      },
      { kind: 'net', ext: 'json', argv: (f) => ['predict', '--table', TABLE, '--net', f, '--missing', 'nearest'] },
    ];
    const failures: string[] = [];
    let n = 0;
    await assertAll(
      failures,
      fc.asyncProperty(
        fc.constantFrom(...runs).chain((r) => content(r.kind).map((c) => ({ r, c }))),
        async ({ r, c }) => {
          const file = join(root, `corrupt-${n++}.${r.ext}`);
          writeFileSync(file, c);
          const argv = r.argv(file);
          const res = await wgnasInProcess(argv);
          let problem = check(argv, res);
          if (!problem && res.code !== 0 && !reached(res.err) && !res.err.includes(basename(file)))
            problem = `wgnas ${argv.join(' ')}: the error does not name the file\n  ${res.err.trim()}`;
          rmSync(file);
          if (problem) failures.push(problem);
          return problem === '';
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 150), seed: Number(process.env.FUZZ_SEED ?? 42) },
    );
  });
});
