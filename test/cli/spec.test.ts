/** The declarative CLI: parsing from the specs, generated help and docs, path checks (devices, fifos, links), layering. */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { CLI_DOCS_PATH, renderCliDocs } from '../../src/cli/docs.js';
import { allSpecs, cliDocsRef, COMMANDS, errorLine, exitCodeOf, isInternal } from '../../src/cli/cli.js';
import { closest, editDistance, namingFile, oneLine, quote, UsageError } from '../../src/cli/errors.js';
import { SpaceConstraintError } from '../../src/autospace/search-space.js';
import { CsvError } from '../../src/data/csv.js';
import { DataError } from '../../src/data/data-error.js';
import { RowStreamError } from '../../src/data/row-stream.js';
import { dataFileNamed, findDataFile } from '../../src/data/paths.js';
import { ShapeError } from '../../src/gpu/errors.js';
import { LatencyTableError } from '../../src/latency/lut.js';
import { SpaceFileError } from '../../src/mobilenet/space-file.js';
import { CheckpointError } from '../../src/nn/checkpoint.js';
import { WriteError } from '../../src/util/durable.js';
import { ResumeMismatchError } from '../../src/util/run-settings.js';
import { ENVIRONMENT, envNames, INTERNAL_ENVIRONMENT } from '../../src/cli/environment.js';
import { formatHelp } from '../../src/cli/help.js';
import { convert, parseCommand, parseMadds } from '../../src/cli/parse.js';
import { checkCacheDir, checkPath, realFs } from '../../src/cli/paths.js';
import { packageVersion } from '../../src/cli/run.js';
import { int, list, num, oneOf } from '../../src/cli/spec.js';
import { SCORE } from '../../src/cli/specs/score.js';
import { SEARCH } from '../../src/cli/specs/search.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { ARCH, GPU_REACHED, TABLE, wgnasInProcess } from '../helpers/cli.js';
import { BIN, REPO, SRC } from '../helpers/paths.js';

vi.mock('../../src/gpu/index.js', async (orig) =>
  (await import('../helpers/refusing-mocks.js')).refusingGpu(await orig<typeof import('../../src/gpu/index.js')>()),
);

const run = (spec: Parameters<typeof parseCommand>[0], argv: string[]) => {
  const p = parseCommand(spec, argv);
  if (p.kind !== 'run') throw new Error(`expected a run, got ${p.kind}`);
  return p;
};

describe('values', () => {
  it('integers are decimal only and range-checked', () => {
    const o = int({ help: '', min: 2, max: 100 });
    expect(convert('batch', o, '64')).toBe(64);
    expect(convert('batch', o, '+8')).toBe(8);
    for (const bad of [
      '0x10',
      '1e3',
      '1.0',
      '3.5',
      'abc',
      '',
      ' ',
      '1_000',
      'Infinity',
      '-4',
      '1',
      '101',
      '99999999999999999999',
    ]) {
      expect(() => convert('batch', o, bad), bad).toThrow(UsageError);
    }
    expect(() => convert('batch', o, '-4')).toThrow("--batch must be an integer >= 2, got '-4'");
    expect(() => convert('batch', o, '101')).toThrow("--batch must be at most 100, got '101'");
  });

  it('numbers are finite decimals', () => {
    const o = num({ help: '', min: 0 });
    expect(convert('lr', o, '1e-3')).toBe(0.001);
    expect(convert('lr', o, '.5')).toBe(0.5);
    for (const bad of ['NaN', 'nan', 'Infinity', '-Infinity', '1e999', '0x10', '1/2', '', '5%', '-1'])
      expect(() => convert('lr', o, bad), bad).toThrow(UsageError);
    expect(() => convert('t', num({ help: '', gt: 0 }), '0')).toThrow("--t must be > 0, got '0'");
  });

  it('multiply-adds take a k/M/G suffix and must be positive and finite', () => {
    expect(parseMadds('12M')).toBe(12e6);
    expect(parseMadds('1.5G')).toBe(1.5e9);
    expect(parseMadds('12e6')).toBe(12e6);
    expect(parseMadds('3k')).toBe(3000);
    for (const bad of ['0', '-3M', 'lots', '12X', '1e400', '0x10', '', 'NaN', 'M'])
      expect(() => parseMadds(bad), bad).toThrow(UsageError);
  });

  it('lists refuse empty items and unknown choices, with a suggestion', () => {
    const o = list({ help: '', choices: ['wrcor', 'naswot', 'vote'], noun: 'proxy', ignoreCase: true });
    expect(convert('proxies', o, 'WRCOR, naswot')).toEqual(['wrcor', 'naswot']);
    expect(() => convert('proxies', o, ',,,')).toThrow("--proxies has an empty item in ',,,'");
    expect(() => convert('proxies', o, 'wrcor,')).toThrow(/empty item/);
    expect(() => convert('proxies', o, 'naswto')).toThrow(
      "unknown proxy 'naswto' in --proxies; did you mean naswot? (known: wrcor, naswot, vote)",
    );
  });

  it('enums list the valid choices', () => {
    expect(() => convert('strategy', oneOf(['random', 'evolution', 'reinforce'], { help: '' }), 'evolutoin')).toThrow(
      "--strategy must be one of random, evolution, reinforce, got 'evolutoin'; did you mean evolution?",
    );
    expect(() => convert('field', oneOf(['mean', 'median'], { help: '' }), 'max')).toThrow(
      "--field must be mean or median, got 'max'",
    );
  });

  it('echoes long or binary values cut short, and errors stay on one line', () => {
    expect(quote('a'.repeat(10_000))).toBe(`'${'a'.repeat(80)}... (10000 chars)'`);
    expect(quote('a\u0000b\nc')).toBe("'a\\x00b\\x0ac'");
    expect(oneLine('x\n  y\n')).toBe('x y');
    expect(oneLine('z'.repeat(1000)).length).toBeLessThan(410);
  });

  it('suggests near names: typos, transpositions and unique prefixes', () => {
    expect(editDistance('jsno', 'json')).toBe(1);
    expect(closest('budgt', ['budget', 'batch'])).toBe('budget');
    expect(closest('cells-per', ['cells-per-stage', 'channels'])).toBe('cells-per-stage');
    expect(closest('bogus', ['budget', 'batch'])).toBeUndefined();
  });
});

describe('parsing a command', () => {
  it('applies typed defaults and records what was given', () => {
    const p = run(SCORE, ['--sample', '3', '--proxies', 'vote,params']);
    expect(p.values).toMatchObject({
      sample: 3,
      batch: 64,
      seed: 0,
      group: 'auto',
      'cells-per-stage': 5,
      channels: 16,
      proxies: ['vote', 'params'],
      all: false,
      arch: [],
    });
    expect([...p.given].sort()).toEqual(['proxies', 'sample']);
  });

  it('takes --name=value, a negative value after the flag (then range-checks it) and repeated options', () => {
    expect(run(SCORE, ['--batch=8', '--arch', ARCH, '--arch', ARCH]).values).toMatchObject({ batch: 8, arch: [ARCH, ARCH] });
    expect(() => parseCommand(SCORE, ['--batch', '-4'])).toThrow("--batch must be an integer >= 2, got '-4'");
  });

  it('answers --help and --version before anything else', () => {
    expect(parseCommand(SCORE, ['--batch', 'x', '--help']).kind).toBe('help');
    expect(parseCommand(SCORE, ['-h']).kind).toBe('help');
    expect(parseCommand(SCORE, ['--bogus', '--version']).kind).toBe('version');
  });

  it('picks a mode by its flag, never by rewriting argv', () => {
    expect(run(SEARCH, []).mode.id).toBe('nb201');
    expect(run(SEARCH, ['--space', 'nb201']).mode.id).toBe('nb201');
    const px = run(SEARCH, ['--space', 'proxyless', '--latency-table', TABLE, '--target-ms', '40', '--steps', '3']);
    expect(px.mode).toMatchObject({ id: 'proxyless', module: 'proxyless' });
    expect(px.values).toMatchObject({ space: 'proxyless', 'target-ms': 40, steps: 3, 'latency-table': TABLE });
    expect(() => parseCommand(SEARCH, ['--budget-madds', '3M'])).toThrow('--budget-madds needs --space-file');
    expect(() => parseCommand(SEARCH, ['--space=proxyless', '--budget', '3'])).toThrow(
      '--budget is not used with --space proxyless',
    );
  });

  it('search --space proxyless runs the proxyless command itself', async () => {
    const r = await wgnasInProcess([
      'search',
      '--space',
      'proxyless',
      '--latency-table',
      TABLE,
      '--target-ms',
      '40',
      '--missing',
      'nearest',
    ]);
    // The proxyless handler read the table and stopped at the (mocked) GPU.
    expect(r.err).toContain(GPU_REACHED);
    expect(r.code).toBe(1);
  });
});

describe('correlate --scores', () => {
  it('concatenates files with different columns (quoted pattern too), leaves NaN scores out, votes only over complete rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgnas-corr-'));
    const cells = [
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|',
      '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|',
      '|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|',
      '|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|',
      ARCH,
    ];
    // wrcor beside wrcor_stage, as a current score --out writes them (WRCor definition 3).
    writeFileSync(join(dir, 'chunk-0.csv'), `arch,wrcor,wrcor_stage,time_ms\n${cells[0]},3,1,10\n${cells[1]},2,2,10\n`);
    writeFileSync(join(dir, 'chunk-1.csv'), `arch,wrcor,wrcor_stage,time_ms\n${cells[2]},1,3,10\n`);
    writeFileSync(join(dir, 'all.csv'), `arch,wrcor,wrcor_stage,synflow,jacob_cov\n${cells[3]},0,4,NaN,1\n${cells[4]},4,0,5,2\n`);
    const r = await wgnasInProcess(['correlate', '--scores', join(dir, 'chunk-*.csv'), '--scores', join(dir, 'all.csv')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/\(5 cells, 10 ms\/arch/);
    expect(r.out).toMatch(/^wrcor\s+5\s/m);
    expect(r.out).toMatch(/^jacob_cov\s+2\s/m);
    expect(r.out).toMatch(/^synflow\s+1\s*$/m);
    expect(r.err).toMatch(/note: synflow: fewer than 2 cells with both a score and a known accuracy/);
    expect(r.out).not.toMatch(/^vote/m);
  });
});

describe('output paths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgnas-paths-'));
  it('accepts a new file in a writable directory and an existing file, creating nothing', () => {
    expect(() => checkPath('out', join(dir, 'new.csv'), 'out-file')).not.toThrow();
    writeFileSync(join(dir, 'old.csv'), 'x');
    expect(() => checkPath('out', join(dir, 'old.csv'), 'out-file')).not.toThrow();
    expect(() => checkPath('checkpoint', join(dir, 'ck'), 'out-dir')).not.toThrow();
    expect(readdirSync(dir)).toEqual(['old.csv']);
  });

  it('refuses an output named *.gz (written uncompressed, read back as gzip) in one line naming the flag, for every command', async () => {
    expect(() => parseCommand(SCORE, ['--sample', '3', '--out', join(dir, 's.csv.gz')])).toThrow(
      new UsageError(
        `--out '${join(dir, 's.csv.gz')}': the file is written uncompressed, and a .gz name is read back as gzip; name it '${join(dir, 's.csv')}' and gzip it afterwards`,
      ),
    );
    expect(() => parseCommand(SEARCH, ['--evaluated', 'e.jsonl.GZ'])).toThrow(
      /^--evaluated 'e\.jsonl\.GZ': the file is written uncompressed, .*; name it 'e\.jsonl' and gzip it afterwards$/,
    );
    let outFiles = 0;
    for (const spec of await allSpecs())
      for (const mode of spec.modes)
        for (const [name, o] of Object.entries(mode.options)) {
          if (o.path !== 'out-file') continue;
          outFiles++;
          expect(() => checkPath(name, join(dir, 'x.json.gz'), 'out-file'), `${spec.name} --${name}`).toThrow(/a \.gz name/);
          expect(() => checkPath(name, join(dir, 'x.json'), 'out-file'), `${spec.name} --${name}`).not.toThrow();
        }
    expect(outFiles).toBeGreaterThan(10);
    // A directory may be named so (its files are not).
    expect(() => checkPath('checkpoint', join(dir, 'ck.gz'), 'out-dir')).not.toThrow();
  });

  it("a missing input named as the checkout's data/latency/... (or bare) points at the data roots' file", () => {
    const shipped = findDataFile('latency', 'proxylessnas_mobile_trim.yaml')!;
    expect(existsSync(shipped)).toBe(true);
    expect(dataFileNamed('data/latency/proxylessnas_mobile_trim.yaml')).toBe(shipped);
    expect(dataFileNamed('./latency/proxylessnas_mobile_trim.yaml')).toBe(shipped);
    expect(dataFileNamed('nb201_valid_nets.csv')).toBe(findDataFile('nb201', 'nb201_valid_nets.csv'));
    for (const none of [
      'nope.yaml',
      '../data/latency/proxylessnas_mobile_trim.yaml',
      '/abs/proxylessnas_mobile_trim.yaml',
      'data',
    ]) {
      expect(dataFileNamed(none), none).toBeNull();
    }
    // Relative to the tests' cwd (the checkout: its data/latency/ exists, a latency/ beside it does not).
    expect(() => checkPath('table', 'latency/proxylessnas_mobile_trim.yaml', 'in-file', 'latency table')).toThrow(
      `cannot read latency table ${resolve('latency/proxylessnas_mobile_trim.yaml')} (--table): no such file; did you mean ${shipped}?`,
    );
    expect(() => checkPath('table', join(dir, 'nope.yaml'), 'in-file', 'latency table')).toThrow(/: no such file$/);
  });

  it('refuses /proc and /sys, also through a symlink, without touching them', () => {
    expect(() => checkPath('checkpoint', '/proc/self/ck', 'out-dir')).toThrow(
      "--checkpoint '/proc/self/ck': cannot write under /proc or /sys",
    );
    expect(() => checkPath('out', '/sys/x.csv', 'out-file')).toThrow(/cannot write under \/proc or \/sys/);
    symlinkSync('/proc/self', join(dir, 'link'));
    expect(() => checkPath('out', join(dir, 'link', 'x.csv'), 'out-file')).toThrow(/cannot write under \/proc or \/sys/);
  });

  it('names a read-only place (EROFS and EACCES, which a root user cannot provoke with chmod)', () => {
    for (const code of ['EROFS', 'EACCES']) {
      const failing = {
        ...realFs,
        access: () => {
          throw Object.assign(new Error(code), { code });
        },
      };
      expect(() => checkPath('out', join(dir, 'x.csv'), 'out-file', undefined, failing)).toThrow(
        code === 'EROFS' ? /cannot write in .* \(read-only file system\)/ : /cannot write in .* \(EACCES\)/,
      );
      expect(() => checkPath('out', join(dir, 'old.csv'), 'out-file', undefined, failing)).toThrow(/is not writable/);
    }
    // A writable file in a directory that is not: the temporary renamed over it cannot be made there.
    const dirOnly = {
      ...realFs,
      access: (p: string) => {
        if (p === dir) throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
      },
    };
    expect(() => checkPath('out', join(dir, 'old.csv'), 'out-file', undefined, dirOnly)).toThrow(
      `--out '${join(dir, 'old.csv')}': cannot write in ${dir} (EACCES)`,
    );
  });

  it('the user cache (data fetch, bench --autotune) is checked before the work, naming where it comes from', () => {
    const advice = 'set WGNAS_CACHE_DIR to a writable directory';
    vi.stubEnv('WGNAS_CACHE_DIR', '/x');
    try {
      // Levels that do not exist yet are created by the command: their nearest existing ancestor counts.
      expect(() => checkCacheDir(join(dir, 'a', 'b'), advice)).not.toThrow();
      expect(() => checkCacheDir('/proc/x/data', advice)).toThrow(
        "the user cache '/proc/x/data' ($WGNAS_CACHE_DIR) is under /proc or /sys; set WGNAS_CACHE_DIR to a writable directory",
      );
      expect(() => checkCacheDir(join(dir, 'old.csv'), advice)).toThrow(/is a regular file, not a directory/);
      expect(() => checkCacheDir(join(dir, 'old.csv', 'data'), advice)).toThrow(/a part of the path is a file/);
      const readOnly = {
        ...realFs,
        access: () => {
          throw Object.assign(new Error('EROFS'), { code: 'EROFS' });
        },
      };
      expect(() => checkCacheDir(join(dir, 'a'), advice, readOnly)).toThrow(
        `cannot be written (${dir}: read-only file system); ${advice}`,
      );
    } finally {
      vi.unstubAllEnvs();
    }
    vi.stubEnv('WGNAS_CACHE_DIR', '');
    vi.stubEnv('XDG_CACHE_HOME', '/sys/c');
    try {
      expect(() => checkCacheDir('/sys/c/wgnas', advice)).toThrow(/\(\$XDG_CACHE_HOME\/wgnas\) is under \/proc or \/sys/);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('refuses a device, a fifo and a socket, also through a link, naming the flag, without touching them', async () => {
    const d = mkdtempSync(join(tmpdir(), 'wgnas-paths-special-'));
    const fifo = join(d, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const sock = join(d, 'sock');
    const server = createServer();
    await new Promise<void>((done) => server.listen(sock, done));
    try {
      expect(() => checkPath('out', fifo, 'out-file')).toThrow(
        `--out '${fifo}' is a fifo (named pipe), not a file; name a regular file`,
      );
      expect(() => checkPath('evaluated', sock, 'out-file')).toThrow(/^--evaluated '.*sock' is a socket, not a file/);
      expect(() => checkPath('checkpoint', fifo, 'out-dir')).toThrow(
        /^--checkpoint '.*fifo' is a fifo \(named pipe\); give a directory$/,
      );
      symlinkSync(fifo, join(d, 'to-fifo.csv'));
      expect(() => checkPath('out', join(d, 'to-fifo.csv'), 'out-file')).toThrow(
        `--out '${join(d, 'to-fifo.csv')}' (a link to '${fifo}') is a fifo (named pipe), not a file; name a regular file`,
      );
      // A character device (mknod needs root: elsewhere /dev/null itself, which the check only stats).
      let dev = '/dev/null';
      try {
        execFileSync('mknod', ['-m', '666', join(d, 'fake'), 'c', '1', '3'], { stdio: 'ignore' });
        dev = join(d, 'fake');
      } catch {
        /* not root */
      }
      expect(() => checkPath('out', dev, 'out-file')).toThrow(
        `--out '${dev}' is a character device, not a file; name a regular file`,
      );
      expect(() => checkPath('kernel-profile', dev, 'out-file')).toThrow(/^--kernel-profile .* is a character device/);
      expect(lstatSync(fifo).isFIFO()).toBe(true);
      if (dev !== '/dev/null') expect(lstatSync(dev).isCharacterDevice()).toBe(true);
    } finally {
      server.close();
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('follows a link to a file (or to a new name in a writable directory) and a link to a directory', () => {
    const d = mkdtempSync(join(tmpdir(), 'wgnas-paths-links-'));
    mkdirSync(join(d, 'real'));
    writeFileSync(join(d, 'real', 'a.csv'), 'x');
    symlinkSync(join(d, 'real', 'a.csv'), join(d, 'to-file.csv'));
    symlinkSync('real/new.csv', join(d, 'to-new.csv'));
    symlinkSync(join(d, 'nowhere', 'x.csv'), join(d, 'to-missing-dir.csv'));
    symlinkSync(join(d, 'real'), join(d, 'to-dir'));
    symlinkSync(join(d, 'no-such-ck'), join(d, 'to-no-dir'));
    symlinkSync(join(d, 'loop-b'), join(d, 'loop-a'));
    symlinkSync(join(d, 'loop-a'), join(d, 'loop-b'));
    expect(() => checkPath('out', join(d, 'to-file.csv'), 'out-file')).not.toThrow();
    expect(() => checkPath('out', join(d, 'to-new.csv'), 'out-file')).not.toThrow();
    expect(() => checkPath('out', join(d, 'to-missing-dir.csv'), 'out-file')).toThrow(
      /^--out '.*to-missing-dir\.csv' \(a link to '.*nowhere\/x\.csv'\): directory .*nowhere does not exist$/,
    );
    expect(() => checkPath('checkpoint', join(d, 'to-dir'), 'out-dir')).not.toThrow();
    expect(() => checkPath('out', join(d, 'to-dir'), 'out-file')).toThrow(
      /\(a link to '.*real'\) is a directory; give a file name/,
    );
    expect(() => checkPath('checkpoint', join(d, 'to-no-dir'), 'out-dir')).toThrow(
      /^--checkpoint '.*to-no-dir' is a link to '.*no-such-ck', which does not exist; create that directory or name another$/,
    );
    expect(() => checkPath('out', join(d, 'loop-a'), 'out-file')).toThrow(/too many levels of symbolic links/);
    expect(readdirSync(join(d, 'real'))).toEqual(['a.csv']);
    rmSync(d, { recursive: true, force: true });
  });

  it(
    'score --out and --kernel-profile through links: the targets are written, the links stay links',
    { timeout: 120_000 },
    async ({ skip }) => {
      if (!cpuTestBackend()) return skip();
      const d = mkdtempSync(join(tmpdir(), 'wgnas-paths-score-'));
      mkdirSync(join(d, 'real'));
      symlinkSync('real/s.csv', join(d, 'link.csv'));
      writeFileSync(join(d, 'real', 'k.json'), 'old');
      symlinkSync(join(d, 'real', 'k.json'), join(d, 'k.json'));
      const tiny = ['--sample', '2', '--batch', '8', '--cells-per-stage', '1', '--channels', '4', '--device', 'cpu', '--quiet'];
      const r = await wgnasInProcess(['score', ...tiny, '--out', join(d, 'link.csv'), '--kernel-profile', join(d, 'k.json')]);
      expect(r.code, r.err).toBe(0);
      expect(lstatSync(join(d, 'link.csv')).isSymbolicLink()).toBe(true);
      expect(lstatSync(join(d, 'k.json')).isSymbolicLink()).toBe(true);
      expect(
        readFileSync(join(d, 'real', 's.csv'), 'utf8')
          .trim()
          .split('\n'),
      ).toHaveLength(3);
      expect(JSON.parse(readFileSync(join(d, 'real', 'k.json'), 'utf8'))).toBeTypeOf('object');
      // The settings record and the lock's place sit beside the target; nothing else is left.
      expect(readdirSync(d).sort()).toEqual(['k.json', 'link.csv', 'real']);
      expect(readdirSync(join(d, 'real')).sort()).toEqual(['k.json', 's.csv', 's.csv.settings.json']);
      // A resume through the link finds the rows.
      const again = await wgnasInProcess(['score', ...tiny, '--out', join(d, 'link.csv'), '--resume']);
      expect(again.code, again.err).toBe(0);
      expect(again.err).toMatch(/2 of 2 cells already scored/);
      rmSync(d, { recursive: true, force: true });
    },
  );
});

describe('error lines', () => {
  it('a user-facing error prints its message alone; a bug keeps its class name; bad input exits 2', () => {
    const full = new WriteError("cannot write 's.csv': no space left on device (ENOSPC); its earlier contents are kept", 's.csv');
    expect(errorLine('score', full)).toBe(
      "wgnas score: cannot write 's.csv': no space left on device (ENOSPC); its earlier contents are kept",
    );
    const plain = [
      new DataError('d'),
      new CsvError('c'),
      new RowStreamError('r'),
      new SpaceFileError('s'),
      new LatencyTableError('l'),
      new CheckpointError('k'),
      new SpaceConstraintError('b', 'maxLatencyMs'),
      new ResumeMismatchError('m'),
      new UsageError('u'),
    ];
    for (const e of plain) {
      expect(errorLine('search', e)).toBe(`wgnas search: ${e.message}`);
      expect(isInternal(e)).toBe(false);
    }
    for (const e of [new RangeError('bug'), new TypeError('bug'), new ShapeError('bug')]) {
      expect(errorLine('search', e)).toBe(`wgnas search: ${e.name}: bug`);
      expect(isInternal(e)).toBe(true);
      expect(exitCodeOf(e)).toBe(1);
    }
    expect(exitCodeOf(new UsageError('u'))).toBe(2);
    expect(exitCodeOf(new ResumeMismatchError('m'))).toBe(2);
    expect(exitCodeOf(new DataError('d'))).toBe(1);
    // namingFile adds the file to a user-facing error without turning it into a bug's line.
    let named: unknown;
    try {
      namingFile('t.yaml', () => {
        throw new LatencyTableError('no entry for x');
      });
    } catch (e) {
      named = e;
    }
    expect(named).toBeInstanceOf(LatencyTableError);
    expect(errorLine('predict', named)).toBe('wgnas predict: t.yaml: no entry for x');
  });
});

describe('generated help and docs', () => {
  it('wgnas --help names docs/cli.md where the reader has it: the shipped copy when installed', () => {
    expect(cliDocsRef('/home/u/app/node_modules/wgnas')).toBe('/home/u/app/node_modules/wgnas/docs/cli.md');
    expect(cliDocsRef(REPO)).toBe('docs/cli.md');
  });

  it('docs/cli.md is current (npm run docs:cli regenerates it)', async () => {
    expect(readFileSync(CLI_DOCS_PATH, 'utf8'), 'docs/cli.md is stale: run npm run docs:cli').toBe(await renderCliDocs());
  });

  it('every environment variable the code reads is in the docs (Environment), and each one there is still read', () => {
    const sources = [
      ...readdirSync(SRC, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join(SRC, f)),
      BIN,
      join(REPO, 'scripts', 'install-native.mjs'),
    ];
    const read = new Set<string>();
    for (const f of sources) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/\bWGNAS_[A-Z0-9_]*[A-Z0-9]\b/g)) read.add(m[0]);
      for (const m of text.matchAll(/process\.env\.([A-Z_][A-Z0-9_]*)/g)) read.add(m[1]);
    }
    const documented = ENVIRONMENT.flatMap(envNames);
    expect([...read].filter((n) => !documented.includes(n) && !INTERNAL_ENVIRONMENT.includes(n)).sort()).toEqual([]);
    expect(documented.filter((n) => !read.has(n))).toEqual([]);
    const docs = readFileSync(CLI_DOCS_PATH, 'utf8');
    for (const n of documented) expect(docs.slice(docs.indexOf('## Environment')), n).toContain(`\`${n}\``);
  });

  it('every option of every command is in its --help and in the docs', async () => {
    const docs = readFileSync(CLI_DOCS_PATH, 'utf8');
    for (const spec of await allSpecs()) {
      const help = formatHelp(spec);
      expect(help.startsWith(`usage: wgnas ${spec.name}`)).toBe(true);
      expect(docs).toContain(`## wgnas ${spec.name}`);
      for (const m of spec.modes) {
        if (m.optionsOf) continue;
        for (const [name, o] of Object.entries(m.options)) {
          expect(help, `${spec.name} --${name}`).toContain(`--${name}`);
          expect(docs, `${spec.name} --${name}`).toContain(`--${name}${o.type === 'bool' ? '' : ` ${o.metavar}`}\``);
        }
      }
    }
  });

  it('wgnas --help lists every command with its spec summary; --version prints the package version', async () => {
    const top = await wgnasInProcess(['--help']);
    for (const spec of await allSpecs()) expect(top.out).toContain(`${spec.name.padEnd(13)} ${spec.summary}`);
    expect(Object.keys(COMMANDS)).toEqual([
      'info',
      'score',
      'correlate',
      'search',
      'proxyless',
      'evolve-space',
      'profile',
      'predict',
      'train',
      'export',
      'bench',
      'worker',
      'queue',
      'data',
    ]);
    const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
    expect(packageVersion()).toBe(version);
    expect((await wgnasInProcess(['--version'])).out).toBe(`wgnas ${version}\n`);
    expect((await wgnasInProcess(['bench', '--version'])).out).toBe(`wgnas ${version}\n`);
    expect((await wgnasInProcess(['proxyless', '--help'])).out).toMatch(
      /^usage: wgnas proxyless --latency-table FILE --target-ms X/,
    );
  });

  it("wgnas help COMMAND prints that command's help; an unknown name is one line, exit 2", async () => {
    const help = await wgnasInProcess(['help', 'proxyless']);
    expect(help.code).toBe(0);
    expect(help.out).toBe((await wgnasInProcess(['proxyless', '--help'])).out);
    expect(help.out).toMatch(/^usage: wgnas proxyless --latency-table FILE --target-ms X/);
    const typo = await wgnasInProcess(['help', 'scroe']);
    expect(typo.code).toBe(2);
    expect(typo.out).toBe('');
    expect(typo.err).toBe("wgnas: unknown command 'scroe'; did you mean 'score'? (wgnas --help lists them)\n");
    expect((await wgnasInProcess(['help'])).out).toBe((await wgnasInProcess(['--help'])).out);
  });
});

describe('layering', () => {
  const src = new URL('../../src/', import.meta.url).pathname;
  const files = (dir: string): string[] =>
    readdirSync(join(src, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );

  it('commands do not import each other', () => {
    for (const f of files('cli/commands')) {
      const text = readFileSync(join(src, f), 'utf8');
      expect(text.match(/from '\.\/[^']+'|import\('\.\/[^']+'\)/g), f).toBeNull();
    }
  });

  it('library code does not print: only src/cli writes to stdout or stderr', () => {
    for (const f of files('.').filter((f) => !f.startsWith('cli/'))) {
      const text = readFileSync(join(src, f), 'utf8');
      expect(text.match(/process\.(stdout|stderr)\b|console\.(log|warn|error|info)\(/g), f).toBeNull();
    }
  });
});
