/**
 * Bad input, command by command: each case must end with exactly one line on stderr naming the
 * problem, no stack, exit 2 (the command line is wrong) or 1 (a file's content is bad), before any
 * work: the GPU and the native addon are mocked to fail loudly, so a case that got through to the
 * work would show GPU_REACHED / NATIVE_REACHED. No output file may appear.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ARCH,
  DEFAULT_SPLIT,
  type Fixtures,
  makeFixtures,
  NET,
  refusalProblems,
  TABLE,
  tinyNb201,
  TRAIN_IMAGES,
  wgnasInProcess,
} from '../helpers/cli.js';

vi.mock('../../src/gpu/index.js', async (orig) =>
  (await import('../helpers/refusing-mocks.js')).refusingGpu(await orig<typeof import('../../src/gpu/index.js')>()),
);
vi.mock('../../src/native/binding.js', async (orig) =>
  (await import('../helpers/refusing-mocks.js')).refusingNative(await orig<typeof import('../../src/native/binding.js')>()),
);

interface Case {
  argv: string[];
  code: 1 | 2;
  match: RegExp;
}

const root = mkdtempSync(join(tmpdir(), 'wgnas-bad-'));
const outDir = join(root, 'out');
const fx: Fixtures = makeFixtures(join(root, 'in'));
const hand = join(root, 'hand.json');
const OUT = join(outDir, 'result.csv');
const OUTJ = join(outDir, 'result.json');
const MISSING = join(root, 'no-such-dir', 'x.csv');
const UNDER_FILE = join(fx.aFile, 'x.csv');
// Outputs that are not regular files: a fifo, a character device (a fake /dev/null: mknod needs root,
// elsewhere a second fifo stands in; never the real /dev/null, which a broken check would replace),
// and a link to the device.
const FIFO = join(root, 'fifo');
execFileSync('mkfifo', [FIFO]);
const FAKE_DEV = join(root, 'fake-dev');
let DEV_KIND = 'a character device';
try {
  execFileSync('mknod', ['-m', '666', FAKE_DEV, 'c', '1', '3'], { stdio: 'ignore' });
} catch {
  execFileSync('mkfifo', [FAKE_DEV]);
  DEV_KIND = 'a fifo \\(named pipe\\)';
}
const TO_DEV = join(root, 'to-dev.csv');
symlinkSync(FAKE_DEV, TO_DEV);
// evolve-space --redis writes one file per seed: each expanded name is checked, not just the pattern
// (seed 2's name a directory, seed 1's history a link to the device).
mkdirSync(join(root, 'space-2.json'));
symlinkSync(FAKE_DEV, join(root, 'hist-1.json'));
const REDIS = ['--budget-madds', '3M', '--redis', 'redis://127.0.0.1:1', '--seeds', '1,2'];
// '{seed}' in a directory: e-1/ and e-2/ exist (no 'e-{seed}/'), f-2/ is missing.
for (const d of ['e-1', 'e-2', 'f-1']) mkdirSync(join(root, d));

// Inputs that a case also names as an output (copies, written in beforeAll: a broken check would
// write over them, and the last test checks they are as written).
const ARCHS_IN = join(root, 'archs-in.txt');
const ARCHS_LINK = join(root, 'archs-link.txt');
const SPACE_IN = join(root, 'space-in.json');
const SPACE_YAML_IN = join(root, 'space-in.yaml');
const TABLE_IN = join(root, 'table-in.yaml');
const NET_IN = join(root, 'net-in.config');
const REPORT_IN = join(root, 'report-in.json');
const INPUTS = [ARCHS_IN, SPACE_IN, SPACE_YAML_IN, TABLE_IN, NET_IN, REPORT_IN];
const TRAIN_OUT = join(outDir, 'train');

const c = (code: 1 | 2, match: RegExp, ...argv: string[]): Case => ({ argv, code, match });
const c2 = (match: RegExp, ...argv: string[]) => c(2, match, ...argv);
const c1 = (match: RegExp, ...argv: string[]) => c(1, match, ...argv);

/** Checks common to the commands that write a file: each output flag gets the same four bad paths. */
function badOutputs(cmd: string, flag: string, base: string[]): Case[] {
  return [
    c2(new RegExp(`--${flag} .*cannot write under /proc or /sys`), cmd, ...base, `--${flag}`, '/proc/self/wgnas-out'),
    c2(new RegExp(`--${flag} .* is a directory`), cmd, ...base, `--${flag}`, root),
    c2(new RegExp(`--${flag} .*directory .*no-such-dir does not exist`), cmd, ...base, `--${flag}`, MISSING),
    c2(new RegExp(`--${flag} .*(not a directory|is a file)`), cmd, ...base, `--${flag}`, UNDER_FILE),
    c2(new RegExp(`--${flag} is empty`), cmd, ...base, `--${flag}`, ''),
    c2(
      new RegExp(`--${flag} '.*fifo' is a fifo \\(named pipe\\), not a file; name a regular file`),
      cmd,
      ...base,
      `--${flag}`,
      FIFO,
    ),
    c2(new RegExp(`--${flag} '.*fake-dev' is ${DEV_KIND}, not a file; name a regular file`), cmd, ...base, `--${flag}`, FAKE_DEV),
    c2(
      new RegExp(`--${flag} '.*to-dev\\.csv' \\(a link to '.*fake-dev'\\) is ${DEV_KIND}, not a file`),
      cmd,
      ...base,
      `--${flag}`,
      TO_DEV,
    ),
  ];
}

function common(cmd: string, base: string[] = []): Case[] {
  return [
    c2(new RegExp(`unknown option --bogus for 'wgnas ${cmd}'`), cmd, ...base, '--bogus'),
    c2(/unknown option -x/, cmd, ...base, '-x'),
    c2(/unknown option --bogus/, cmd, ...base, '--bogus=3'),
  ];
}

const T = ['--latency-table', TABLE, '--target-ms', '40'];
// Counts in the messages follow the images found (N) and the default split they give (train + val = N below 5000).
const N = TRAIN_IMAGES;
const { train: TRAIN, val: VAL } = DEFAULT_SPLIT;

const CASES: Record<string, Case[]> = {
  top: [
    c2(/unknown command 'frobnicate'/, 'frobnicate'),
    c2(/unknown command 'serch'; did you mean 'search'\?/, 'serch'),
    c2(/unknown command 'scor'; did you mean 'score'\?/, 'scor'),
    c2(/unknown command ''/, ''),
  ],
  info: [
    ...common('info'),
    c2(/--json takes no value/, 'info', '--json=yes'),
    c2(/unknown option --jsno.*did you mean --json\?/, 'info', '--jsno'),
    c2(/unexpected argument 'foo'/, 'info', 'foo'),
    c2(/unexpected argument 'json'.*did you mean --json\?/, 'info', 'json'),
    c2(/--json is given 2 times/, 'info', '--json', '--json'),
    c2(/unexpected argument 'x'/, 'info', '--', 'x'),
  ],
  score: [
    ...common('score', ['--sample', '2']),
    c2(/--out and --kernel-profile name the same file/, 'score', '--sample', '2', '--out', OUTJ, '--kernel-profile', OUTJ),
    c2(/--batch must be an integer >= 2, got '0x10'/, 'score', '--sample', '2', '--batch', '0x10'),
    c2(/--batch must be an integer.*got '1e3'/, 'score', '--sample', '2', '--batch', '1e3'),
    c2(/--batch must be an integer >= 2, got '-4'/, 'score', '--sample', '2', '--batch', '-4'),
    c2(/--batch must be an integer >= 2, got '1'/, 'score', '--sample', '2', '--batch', '1'),
    c2(
      new RegExp(`--batch ${N + 1} is more than the ${N} training images of cifar10`),
      'score',
      '--sample',
      '2',
      '--batch',
      `${N + 1}`,
    ),
    c2(/--batch must be an integer.*got '3\.5'/, 'score', '--sample', '2', '--batch', '3.5'),
    c2(/--batch must be an integer.*got 'abc'/, 'score', '--sample', '2', '--batch', 'abc'),
    c2(/--batch must be an integer.*got '99999999999999999999'/, 'score', '--sample', '2', '--batch', '99999999999999999999'),
    c2(/--batch is empty/, 'score', '--sample', '2', '--batch', ''),
    c2(/--batch must be an integer/, 'score', '--sample', '2', '--batch', ' '),
    c2(/--batch needs a value/, 'score', '--sample', '2', '--batch'),
    c2(/--batch is given 2 times/, 'score', '--sample', '2', '--batch', '8', '--batch', '16'),
    c2(/unknown option --batc.*did you mean --batch\?/, 'score', '--sample', '2', '--batc', '8'),
    c2(/--seed must be an integer >= 0, got '-1'/, 'score', '--sample', '2', '--seed', '-1'),
    c2(
      /--seed must be at most 4294967295, got '4294967296' \(seeds are 32-bit\)/,
      'score',
      '--sample',
      '2',
      '--seed',
      '4294967296',
    ),
    c2(/--seed must be an integer.*got '1e3'/, 'score', '--sample', '2', '--seed', '1e3'),
    c2(/--seed must be an integer.*got '0x1'/, 'score', '--sample', '2', '--seed', '0x1'),
    c2(/--sample must be an integer from 1 to 9445, got '0'|--sample must be an integer >= 1/, 'score', '--sample', '0'),
    c2(
      /--sample must be at most 9445, got '16000' \(the space's 15625 cells are 9445 distinct networks/,
      'score',
      '--sample',
      '16000',
    ),
    c2(/--sample must be an integer.*got '1e9'/, 'score', '--sample', '1e9'),
    c2(/--sample must be at most 9445, got '1000000000'/, 'score', '--sample', '1000000000'),
    c2(/--sample must be an integer >= 1, got '-3'/, 'score', '--sample', '-3'),
    c2(/--proxies has an empty item in ',,,'/, 'score', '--sample', '2', '--proxies', ',,,'),
    c2(/--proxies has an empty item in 'wrcor,,naswot'/, 'score', '--sample', '2', '--proxies', 'wrcor,,naswot'),
    c2(/unknown proxy 'foo' in --proxies/, 'score', '--sample', '2', '--proxies', 'foo'),
    c2(/unknown proxy 'wrcorr' in --proxies; did you mean wrcor\?/, 'score', '--sample', '2', '--proxies', 'wrcorr'),
    // A retired name: what it is now (WRCor definition 3), not an unknown proxy.
    c2(
      /^wgnas score: --proxies: proxy 'wrcor_module' is now 'wrcor' \(WRCor definition 3: 2\^module, the authors' weights; the former wrcor, 2\^stage, is 'wrcor_stage'\)\n$/,
      ...['score', '--sample', '2', '--proxies', 'naswot,wrcor_module'],
    ),
    c2(/--proxies is empty/, 'score', '--sample', '2', '--proxies', ''),
    c2(/--group must be an integer >= 1, got '0'/, 'score', '--sample', '2', '--group', '0'),
    c2(/--group must be at most 256/, 'score', '--sample', '2', '--group', '257'),
    c2(
      /--group works with wrcor\*, naswot, swap, reg_swap, params and flops only, not synflow/,
      'score',
      '--sample',
      '2',
      '--group',
      '4',
      '--proxies',
      'synflow',
    ),
    c2(
      /--group-mode stacked needs groups: --group 1 runs each architecture alone/,
      'score',
      '--sample',
      '2',
      '--group',
      '1',
      '--group-mode',
      'stacked',
    ),
    c2(
      /--group-mode stacked works with wrcor\*, naswot, swap, reg_swap, params and flops only, not synflow/,
      'score',
      '--sample',
      '2',
      '--group-mode',
      'stacked',
      '--proxies',
      'wrcor,synflow',
    ),
    c2(
      /--channels must be at most 256, got '100000' \(wider networks exceed GPU buffer limits\)/,
      'score',
      '--sample',
      '2',
      '--channels',
      '100000',
    ),
    c2(/--channels must be an integer >= 1, got '0'/, 'score', '--sample', '2', '--channels', '0'),
    c2(/--cells-per-stage must be an integer >= 1, got '0'/, 'score', '--sample', '2', '--cells-per-stage', '0'),
    c2(/--cells-per-stage must be at most 32/, 'score', '--sample', '2', '--cells-per-stage', '33'),
    c2(/--sample K and --all both choose the cells/, 'score', '--all', '--sample', '3'),
    c2(/--ground-truth restricts --sample K or --all/, 'score', '--arch', ARCH, '--ground-truth'),
    c2(/nothing to score/, 'score'),
    c1(/empty\.txt: no arch strings/, 'score', '--archs', fx.emptyArchs),
    c2(/--arch: parseArch/, 'score', '--arch', '|nor_conv_3x3~0|+|bogus~0|none~1|'),
    c2(/--arch is empty/, 'score', '--arch', ''),
    c2(/--arch: parseArch.*\.\.\. \(10000 chars\)/, 'score', '--arch', 'y'.repeat(10_000)),
    c2(/cannot read arch list .*nope\.txt \(--archs\): no such file/, 'score', '--archs', join(root, 'nope.txt')),
    c2(/--archs .* is a directory/, 'score', '--archs', root),
    c2(/--archs '\/dev\/zero' is not a regular file/, 'score', '--archs', '/dev/zero'),
    c1(/badline\.txt:5: .*bogus/, 'score', '--archs', fx.badLineArchs),
    c1(/long\.txt:1: .*\.\.\. \(10000 chars\)/, 'score', '--archs', fx.longArchs),
    c1(/garbage\.bin:1: parseArch/, 'score', '--archs', fx.binary),
    c2(/--out needs a value/, 'score', '--sample', '2', '--out', '--quiet'),
    c2(/--quiet takes no value/, 'score', '--sample', '2', '--quiet=yes'),
    ...badOutputs('score', 'out', ['--sample', '2']),
    c2(/--resume needs --out FILE/, 'score', '--sample', '2', '--resume'),
    c2(
      /--resume: .*scores\.csv has no .*scores\.csv\.settings\.json \(not written by a streaming run\)/,
      'score',
      '--sample',
      '2',
      '--out',
      fx.scoresCsv,
      '--resume',
    ),
  ],
  correlate: [
    ...common('correlate'),
    c2(/--sample must be an integer >= 2, got '1'/, 'correlate', '--sample', '1'),
    c2(/--sample must be at most 9445, got '9446' \(9445 cells have ground-truth accuracy\)/, 'correlate', '--sample', '9446'),
    c2(/--sample must be an integer/, 'correlate', '--sample', 'x'),
    c2(/unknown proxy 'foo' in --proxies/, 'correlate', '--proxies', 'foo'),
    c2(
      /^wgnas correlate: --proxies: proxy 'WRCOR_MODULE' is now 'wrcor' \(WRCor definition 3/,
      'correlate',
      '--proxies',
      'WRCOR_MODULE',
    ),
    // --scores takes any column of the files: a retired name is refused where no file has it, saying what it is now.
    c1(
      /--versus: wrcor_module has no column in .*; wrcor_module is now 'wrcor' \(WRCor definition 3/,
      ...['correlate', '--scores', fx.scoresCsv, '--versus', 'wrcor_module'],
    ),
    c2(/--proxies has an empty item/, 'correlate', '--proxies', ',,'),
    c2(/--seed must be at most 4294967295/, 'correlate', '--seed', '4294967296'),
    c2(/--cells-per-stage must be an integer >= 1/, 'correlate', '--cells-per-stage', '0'),
    c2(/--batch must be an integer >= 2, got '0x10'/, 'correlate', '--batch', '0x10'),
    c2(/--batch is not used with --reference/, 'correlate', '--reference', '--batch', '3'),
    c2(/--sample is not used with --reference/, 'correlate', '--reference', '--sample', '5'),
    c2(/--proxies is not used with --reference/, 'correlate', '--reference', '--proxies', 'foo'),
    c2(/--out is not used with --reference/, 'correlate', '--reference', '--out', OUT),
    c2(/--reference is not used with --scores/, 'correlate', '--reference', '--scores', fx.scoresCsv),
    c2(/--batch is not used with --scores/, 'correlate', '--scores', fx.scoresCsv, '--batch', '8'),
    c2(/--out is not used with --scores/, 'correlate', '--scores', fx.scoresCsv, '--out', OUT),
    c1(/--proxies: foo not in .*scores\.csv \(columns: /, 'correlate', '--scores', fx.scoresCsv, '--proxies', 'foo'),
    c1(/--proxies: synflow not in .*scores\.csv/, 'correlate', '--scores', fx.scoresCsv, '--proxies', 'synflow'),
    c2(/cannot read scores file .*nope\.csv \(--scores\): no such file/, 'correlate', '--scores', join(root, 'nope.csv')),
    c2(/--scores .* is a directory/, 'correlate', '--scores', root),
    c1(/garbage\.csv: not a CSV file \(binary data\)/, 'correlate', '--scores', fx.binaryCsv),
    c1(/truncated\.csv:2: unterminated quoted field/, 'correlate', '--scores', fx.truncatedCsv),
    c1(/nonnumeric\.csv:4: wrcor score 'abc' is not a number/, 'correlate', '--scores', fx.nonNumericCsv),
    c1(/badarch\.csv:3: parseArch/, 'correlate', '--scores', fx.badArchCsv),
    c1(/noarch\.csv: needs an 'arch' column/, 'correlate', '--scores', fx.noArchCsv),
    c1(/ragged\.csv:2: expected 2 fields/, 'correlate', '--scores', fx.raggedCsv),
    c1(/empty\.csv: empty CSV/, 'correlate', '--scores', fx.emptyCsv),
    c1(/header\.csv: no rows/, 'correlate', '--scores', fx.headerOnlyCsv),
    // A bare wrcor column (no settings, no wrcor_stage): WRCor definition 1's, read as wrcor_stage.
    c1(/wrcor_stage: fewer than 2 cells with both a score and a known accuracy/, 'correlate', '--scores', fx.allEmptyCsv),
    c1(/huge\.csv:2: wrcor score .* is not a number|wrcor_stage: fewer than 2 cells/, 'correlate', '--scores', fx.hugeCsv),
    c1(/obj\.json: expected a JSON array of rows, got object/, 'correlate', '--scores', fx.objJson),
    c1(/nums\.json: row 1 is not an object/, 'correlate', '--scores', fx.numsJson),
    c1(/trunc\.json: not valid JSON/, 'correlate', '--scores', fx.truncJson),
    c1(/nested\.json: row 1: field 'wrcor' is not a plain value/, 'correlate', '--scores', fx.nestedJson),
    c1(/null\.json: expected a JSON array of rows, got null/, 'correlate', '--scores', fx.nullJson),
    c1(/garbage\.json: not valid JSON/, 'correlate', '--scores', fx.binaryJson),
    ...badOutputs('correlate', 'out', []),
  ],
  search: [
    ...common('search'),
    c2(/--strategy must be one of random, evolution, reinforce, got 'annealing'/, 'search', '--strategy', 'annealing'),
    c2(/--proxy must be one of .*got 'foo'/, 'search', '--proxy', 'foo'),
    c2(/--proxy must be one of .*got 'wrcorr'; did you mean wrcor\?/, 'search', '--proxy', 'wrcorr'),
    c2(/^wgnas search: --proxy: proxy 'wrcor_module' is now 'wrcor' \(WRCor definition 3/, 'search', '--proxy', 'wrcor_module'),
    c2(/--budget must be an integer >= 1, got '0'/, 'search', '--budget', '0'),
    c2(/--budget must be an integer >= 1, got '-5'/, 'search', '--budget', '-5'),
    c2(/--budget must be an integer.*got '1e3'/, 'search', '--budget', '1e3'),
    c2(/--budget must be an integer.*got '0x10'/, 'search', '--budget', '0x10'),
    c2(/--budget must be at most 1000000/, 'search', '--budget', '1000001'),
    c2(/unknown option --budgt for 'wgnas search'; did you mean --budget\?/, 'search', '--budgt', '5'),
    c2(/--population must be an integer >= 1/, 'search', '--population', '0'),
    c2(
      /--population applies only with --strategy evolution \(here --strategy is random\)/,
      'search',
      '--population',
      '5',
      '--strategy',
      'random',
    ),
    c2(/--sample-size applies only with --strategy evolution/, 'search', '--sample-size', '2', '--strategy', 'reinforce'),
    c2(/--batch must be an integer >= 2/, 'search', '--batch', '1'),
    c2(/--seed must be an integer >= 0/, 'search', '--seed', '-1'),
    c2(/--seed must be at most 4294967295/, 'search', '--seed', '4294967296'),
    c2(/--space must be nb201 or proxyless, got 'foo'/, 'search', '--space', 'foo'),
    c2(/--json takes no value/, 'search', '--json=1'),
    c2(/--budget-madds needs --space-file/, 'search', '--budget-madds', '3M'),
    c2(/--max-latency-ms needs --space-file/, 'search', '--max-latency-ms', '3'),
    c2(/--train-steps needs --space-file/, 'search', '--train-steps', '5'),
    // NAS-Bench-201's --out writes the cell found (a wgnas-nb201 file): a bad path is refused before the search.
    ...badOutputs('search', 'out', []),
    ...badOutputs('search', 'evaluated', []),
    c2(/--resume needs --evaluated FILE/, 'search', '--resume'),
    c2(/--cells-per-stage is not used with --space-file/, 'search', '--space-file', hand, '--cells-per-stage', '2'),
    c2(/--resume needs --evaluated FILE/, 'search', '--space-file', hand, '--resume'),
    c2(/--resume and --force contradict/, 'search', '--space-file', hand, '--evaluated', OUT, '--resume', '--force'),
    c2(/--resume: .*scores\.csv has no .*settings\.json/, 'search', '--evaluated', fx.scoresCsv, '--resume'),
    c2(/--space is not used with --space-file/, 'search', '--space', 'nb201', '--space-file', hand),
    c2(/cannot read space file .*none\.json \(--space-file\): no such file/, 'search', '--space-file', join(root, 'none.json')),
    c2(/--space-file .* is a directory/, 'search', '--space-file', root),
    c1(/garbage\.json is not valid JSON/, 'search', '--space-file', fx.binaryJson),
    c1(/truncspace\.json is not valid JSON/, 'search', '--space-file', fx.truncSpace),
    c1(/nulls\.json/, 'search', '--space-file', fx.nullsSpace),
    c1(/layoutobj\.json/, 'search', '--space-file', fx.layoutObjSpace),
    c2(
      /--budget-madds must be a positive number like 12e6 or 12M, got 'lots'/,
      'search',
      '--space-file',
      hand,
      '--budget-madds',
      'lots',
    ),
    c2(/--budget-madds must be a positive number.*got '0'/, 'search', '--space-file', hand, '--budget-madds', '0'),
    c2(/--budget-madds must be a positive number.*got '-1'/, 'search', '--space-file', hand, '--budget-madds', '-1'),
    c2(/--budget-madds must be a positive number.*got '1e400'/, 'search', '--space-file', hand, '--budget-madds', '1e400'),
    c2(/--budget-madds must be a positive number.*got '12X'/, 'search', '--space-file', hand, '--budget-madds', '12X'),
    c2(/--budget-madds must be a positive number.*got '0x10'/, 'search', '--space-file', hand, '--budget-madds', '0x10'),
    c2(/--min-madds must be a positive number/, 'search', '--space-file', hand, '--min-madds', 'NaN'),
    c2(
      /--min-madds \(9000000\) is above --budget-madds \(3000000\)/,
      'search',
      '--space-file',
      hand,
      '--min-madds',
      '9M',
      '--budget-madds',
      '3M',
    ),
    c2(
      /--budget-madds: .*budget 0\.00 M MAdds is below the cheapest architecture/,
      'search',
      '--space-file',
      hand,
      '--budget-madds',
      '1K',
    ),
    c2(/--min-madds: .*minimum .* is above the most expensive architecture/, 'search', '--space-file', hand, '--min-madds', '1G'),
    // The latency ceiling's twin of the MAdds budget: a usage error too, before the data or the GPU.
    c2(
      /^wgnas search: --max-latency-ms: .*latency ceiling 0\.001 ms is below the fastest architecture \(\d+\.\d+ ms\)$/m,
      'search',
      '--space-file',
      hand,
      '--max-latency-ms',
      '0.001',
      '--latency-table',
      TABLE,
    ),
    c2(/--max-latency-ms must be > 0, got '0'/, 'search', '--space-file', hand, '--max-latency-ms', '0'),
    c2(/--max-latency-ms must be > 0, got '-1'/, 'search', '--space-file', hand, '--max-latency-ms', '-1'),
    c2(/--max-latency-ms must be a finite number > 0, got 'NaN'/, 'search', '--space-file', hand, '--max-latency-ms', 'NaN'),
    c2(
      /--max-latency-ms must be a finite number > 0, got 'Infinity'/,
      'search',
      '--space-file',
      hand,
      '--max-latency-ms',
      'Infinity',
    ),
    c2(/--max-latency-ms must be a finite number > 0, got '1e999'/, 'search', '--space-file', hand, '--max-latency-ms', '1e999'),
    c2(/--backend prices cells for --max-latency-ms/, 'search', '--space-file', hand, '--backend', 'onednn'),
    c2(
      /--backend must be onednn or xnnpack, got 'tpu'/,
      'search',
      '--space-file',
      hand,
      '--max-latency-ms',
      '3',
      '--backend',
      'tpu',
    ),
    c2(/--proxy must be one of .*got 'vote'/, 'search', '--space-file', hand, '--proxy', 'vote'),
    c2(/--strategy must be random or evolution, got 'reinforce'/, 'search', '--space-file', hand, '--strategy', 'reinforce'),
    c2(/--train-steps must be an integer >= 1/, 'search', '--space-file', hand, '--train-steps', '0'),
    c2(/--cells-per-stage is not used with --space-file/, 'search', '--space-file', hand, '--cells-per-stage', '3'),
    ...badOutputs('search', 'out', ['--space-file', hand]),
    c2(/--latency-table is required/, 'search', '--space', 'proxyless'),
    c2(/--budget is not used with --space proxyless/, 'search', '--space', 'proxyless', '--budget', '3'),
    c2(/--target-ms must be > 0, got '0'/, 'search', '--space', 'proxyless', '--latency-table', TABLE, '--target-ms', '0'),
    c2(/--checkpoint .*cannot write under \/proc or \/sys/, 'search', '--space=proxyless', ...T, '--checkpoint', '/proc/1/wgnas'),
  ],
  proxyless: [
    ...common('proxyless', T),
    c2(/--latency-table is required/, 'proxyless'),
    c2(/--latency-table is required/, 'proxyless', '--target-ms', '40'),
    c2(/--target-ms is required/, 'proxyless', '--latency-table', TABLE),
    c2(/--target-ms must be > 0, got '0'/, 'proxyless', '--latency-table', TABLE, '--target-ms', '0'),
    c2(/--target-ms must be > 0, got '-1'/, 'proxyless', '--latency-table', TABLE, '--target-ms', '-1'),
    c2(/--target-ms must be a finite number > 0, got 'NaN'/, 'proxyless', '--latency-table', TABLE, '--target-ms', 'NaN'),
    c2(
      /--target-ms must be a finite number > 0, got 'Infinity'/,
      'proxyless',
      '--latency-table',
      TABLE,
      '--target-ms',
      'Infinity',
    ),
    c2(/--target-ms must be a finite number > 0, got '1e999'/, 'proxyless', '--latency-table', TABLE, '--target-ms', '1e999'),
    c2(/--target-ms must be a finite number > 0, got '0x10'/, 'proxyless', '--latency-table', TABLE, '--target-ms', '0x10'),
    c2(/--target-ms must be a finite number > 0, got 'abc'/, 'proxyless', '--latency-table', TABLE, '--target-ms', 'abc'),
    c2(/--lambda must be a number >= 0, got '-1'/, 'proxyless', ...T, '--lambda', '-1'),
    c2(/--beta must be a number >= 0, got '-0.5'/, 'proxyless', ...T, '--beta', '-0.5'),
    // Each loss takes only its own weight: mul#log has an exponent, no λ; add and hinge no exponent.
    c2(
      /--lambda weighs --loss add and hinge; --loss mul is CE·\(ln E\/ln T\)\^β: set its strength with --beta/,
      'proxyless',
      ...T,
      '--loss',
      'mul',
      '--lambda',
      '0.5',
    ),
    c2(/--beta is the exponent of --loss mul; --loss hinge is weighed by --lambda/, 'proxyless', ...T, '--beta', '0.5'),
    c2(
      /--beta is the exponent of --loss mul; --loss add is weighed by --lambda/,
      'proxyless',
      ...T,
      '--loss',
      'add',
      '--beta',
      '1',
    ),
    c2(/--reward-w must be a number >= 0/, 'proxyless', ...T, '--mode', 'reinforce', '--reward-w', '-1'),
    c2(/--reward-w applies only with --mode reinforce \(here --mode is gradient\)/, 'proxyless', ...T, '--reward-w', '0.2'),
    c2(/--rl-samples must be an integer >= 1/, 'proxyless', ...T, '--mode', 'reinforce', '--rl-samples', '0'),
    c2(/--lr must be a finite number >= 0, got 'nan'/, 'proxyless', ...T, '--lr', 'nan'),
    c2(/--lr must be a number >= 0, got '-1'/, 'proxyless', ...T, '--lr', '-1'),
    c2(/--arch-lr must be a finite number >= 0, got 'inf'/, 'proxyless', ...T, '--arch-lr', 'inf'),
    c2(/--warmup-lr must be a finite number/, 'proxyless', ...T, '--warmup-lr', '1/2'),
    c2(/--paths must be at most 2, got '3'/, 'proxyless', ...T, '--paths', '3'),
    c2(/--paths must be an integer >= 1, got '0'/, 'proxyless', ...T, '--paths', '0'),
    c2(/--paths applies only with --mode gradient/, 'proxyless', ...T, '--paths', '2', '--mode', 'reinforce'),
    c2(
      /--gate-grads all evaluates every candidate: use it with --paths 1/,
      'proxyless',
      ...T,
      '--gate-grads',
      'all',
      '--paths',
      '2',
    ),
    c2(/--gate-grads must be sampled or all/, 'proxyless', ...T, '--gate-grads', 'some'),
    c2(/--loss must be one of add, mul, hinge, got 'square'/, 'proxyless', ...T, '--loss', 'square'),
    c2(/--loss mul needs --target-ms > 1/, 'proxyless', '--latency-table', TABLE, '--target-ms', '0.5', '--loss', 'mul'),
    c2(/--mode must be gradient or reinforce, got 'sgd'/, 'proxyless', ...T, '--mode', 'sgd'),
    c2(/--layout must be imagenet or cifar, got 'mnist'/, 'proxyless', ...T, '--layout', 'mnist'),
    c2(/--layout comes from the --space-file/, 'proxyless', '--space-file', hand, '--target-madds', '3', '--layout', 'cifar'),
    c2(/--missing must be one of error, nearest, scale, got 'guess'/, 'proxyless', ...T, '--missing', 'guess'),
    c2(/--missing needs --latency-table/, 'proxyless', '--space-file', hand, '--target-madds', '3', '--missing', 'nearest'),
    c2(/--warmup must be an integer >= 0, got '-1'/, 'proxyless', ...T, '--warmup', '-1'),
    c2(/--steps must be an integer >= 1, got '0'/, 'proxyless', ...T, '--steps', '0'),
    c2(/--steps must be an integer/, 'proxyless', ...T, '--steps=abc'),
    c2(/--epochs must be > 0, got '0'/, 'proxyless', ...T, '--epochs', '0'),
    c2(/--epochs must be > 0, got '-1'/, 'proxyless', ...T, '--epochs', '-1'),
    c2(/--arch-every must be an integer >= 1/, 'proxyless', ...T, '--arch-every', '0'),
    c2(/--batch must be an integer >= 1, got '0'/, 'proxyless', ...T, '--batch', '0'),
    c2(
      new RegExp(`--batch ${N + 1} is more than the --train split of ${TRAIN} images`),
      'proxyless',
      ...T,
      '--batch',
      `${N + 1}`,
    ),
    c2(/--val-batch must be an integer >= 1/, 'proxyless', ...T, '--val-batch', '0'),
    c2(
      new RegExp(
        `--train ${TRAIN} \\(default\\) \\+ --val ${N - TRAIN + 1} = ${N + 1} images, more than the ${N} training images of cifar10`,
      ),
      'proxyless',
      ...T,
      '--val',
      `${N - TRAIN + 1}`,
    ),
    c2(/--train must be an integer >= 1/, 'proxyless', ...T, '--train', '0'),
    c2(
      new RegExp(
        `--train ${N + 1000} \\+ --val ${VAL} \\(default\\) = ${N + 1000 + VAL} images, more than the ${N} training images of cifar10`,
      ),
      'proxyless',
      ...T,
      '--train',
      `${N + 1000}`,
      '--batch',
      '8',
    ),
    c2(/--seed must be at most 4294967295/, 'proxyless', ...T, '--seed', '4294967296'),
    c2(/--checkpoint-every must be an integer >= 0/, 'proxyless', ...T, '--checkpoint-every', '-1'),
    c2(/--log-every must be an integer >= 1/, 'proxyless', ...T, '--log-every', '0'),
    c2(/--train-derived must be an integer >= 1/, 'proxyless', ...T, '--train-derived', '0'),
    c2(/--resume needs --checkpoint DIR/, 'proxyless', ...T, '--resume'),
    c2(/--force starts over in a --checkpoint DIR; give --checkpoint DIR/, 'proxyless', ...T, '--force'),
    c2(
      /--resume and --force contradict each other/,
      'proxyless',
      ...T,
      '--checkpoint',
      join(root, 'ck-none'),
      '--resume',
      '--force',
    ),
    c2(/--resume: no checkpoint in .*ck-none/, 'proxyless', ...T, '--checkpoint', join(root, 'ck-none'), '--resume'),
    c2(
      /--checkpoint .*ck-held holds a checkpoint: pass --resume to continue it or --force to start over/,
      'proxyless',
      ...T,
      '--checkpoint',
      join(root, 'ck-held'),
    ),
    c1(
      /^wgnas proxyless: \S*ck-held\/ckpt-000001: state\.json missing/,
      'proxyless',
      ...T,
      '--checkpoint',
      join(root, 'ck-held'),
      '--resume',
    ),
    c2(/--checkpoint .*cannot write under \/proc or \/sys/, 'proxyless', ...T, '--checkpoint', '/proc/self/ckpt'),
    c2(/--checkpoint .*cannot write under \/proc or \/sys/, 'proxyless', ...T, '--checkpoint', '/sys/kernel/ckpt'),
    c2(/--checkpoint .* is a file; give a directory/, 'proxyless', ...T, '--checkpoint', fx.aFile),
    c2(/--checkpoint '.*fifo' is a fifo \(named pipe\); give a directory/, 'proxyless', ...T, '--checkpoint', FIFO),
    c2(
      /--checkpoint '.*dangling' is a link to '.*no-such-ck', which does not exist; create that directory or name another/,
      'proxyless',
      ...T,
      '--checkpoint',
      join(root, 'dangling'),
    ),
    c2(
      /--checkpoint .*directory .*no-such-dir does not exist/,
      'proxyless',
      ...T,
      '--checkpoint',
      join(root, 'no-such-dir', 'ckpt'),
    ),
    ...badOutputs('proxyless', 'out', T),
    ...badOutputs('proxyless', 'plot', T),
    // Two outputs in one place: one would replace the other, or fail on it after the search.
    c2(
      /--out and --plot name the same file '.*result\.json'/,
      'proxyless',
      ...T,
      '--out',
      OUTJ,
      '--plot',
      join(outDir, '.', 'result.json'),
    ),
    c2(/--out and --checkpoint name the same path '.*result\.json'/, 'proxyless', ...T, '--out', OUTJ, '--checkpoint', OUTJ),
    c2(/--price-cells prices the cells of a --space-file/, 'proxyless', '--price-cells', '--target-ms', '1'),
    c2(/--price-cells and --latency-table are two sources of latency/, 'proxyless', '--space-file', hand, '--price-cells', ...T),
    c2(/--backend picks the --price-cells library/, 'proxyless', ...T, '--backend', 'onednn'),
    c2(/--threads sets the --price-cells library threads/, 'proxyless', ...T, '--threads', '2'),
    c2(
      /--backend must be onednn or xnnpack/,
      'proxyless',
      '--space-file',
      hand,
      '--price-cells',
      '--target-ms',
      '1',
      '--backend',
      'tflite',
    ),
    c2(
      /--threads must be an integer >= 1/,
      'proxyless',
      '--space-file',
      hand,
      '--price-cells',
      '--target-ms',
      '1',
      '--threads',
      '0',
    ),
    c2(
      /cannot read latency table .*nope\.yaml \(--latency-table\): no such file/,
      'proxyless',
      '--latency-table',
      join(root, 'nope.yaml'),
      '--target-ms',
      '40',
    ),
    c2(/--latency-table .* is a directory/, 'proxyless', '--latency-table', root, '--target-ms', '40'),
    c1(/garbage\.yaml/, 'proxyless', '--latency-table', fx.binaryYaml, '--target-ms', '40'),
    c1(/empty\.yaml/, 'proxyless', '--latency-table', fx.emptyYaml, '--target-ms', '40'),
    c1(/bad\.yaml:2: field 'mean'/, 'proxyless', '--latency-table', fx.badYaml, '--target-ms', '40'),
    c2(/--target-madds/, 'proxyless', '--space-file', hand),
    c2(/--target-ms needs a latency source/, 'proxyless', '--space-file', hand, '--target-madds', '3', '--target-ms', '3'),
    c2(/--target-madds must be > 0/, 'proxyless', '--space-file', hand, '--target-madds', '0'),
    c2(/--target-madds is the target when the cost is multiply-adds/, 'proxyless', ...T, '--target-madds', '3'),
    c1(/nulls\.json/, 'proxyless', '--space-file', fx.nullsSpace, '--target-madds', '3'),
  ],
  'evolve-space': [
    ...common('evolve-space', ['--budget-madds', '3M']),
    c2(/--budget-madds N is required/, 'evolve-space'),
    c2(/--budget-madds must be a positive number like 12e6 or 12M, got 'lots'/, 'evolve-space', '--budget-madds', 'lots'),
    c2(/--budget-madds must be a positive number.*got '0'/, 'evolve-space', '--budget-madds', '0'),
    c2(/--budget-madds must be a positive number.*got '-3M'/, 'evolve-space', '--budget-madds', '-3M'),
    c2(/--budget-madds must be a positive number.*got '1e999'/, 'evolve-space', '--budget-madds', '1e999'),
    c2(/--budget-madds is empty/, 'evolve-space', '--budget-madds', ''),
    c2(/skeleton alone takes 0\.79M/, 'evolve-space', '--budget-madds', '0.5M'),
    c2(/--k \(9\) cannot exceed --population \(8\)/, 'evolve-space', '--budget-madds', '3M', '--k', '9'),
    c2(/--max-nodes must be at most 6, got '9' \(the largest cell\)/, 'evolve-space', '--budget-madds', '3M', '--max-nodes', '9'),
    c2(/--max-nodes must be an integer >= 1, got '0'/, 'evolve-space', '--budget-madds', '3M', '--max-nodes', '0'),
    c2(/--init must be reference or hand-designed, got 'mbconv'/, 'evolve-space', '--budget-madds', '3M', '--init', 'mbconv'),
    c2(/--warmup-mix must be population or random-k, got 'all'/, 'evolve-space', '--budget-madds', '3M', '--warmup-mix', 'all'),
    c2(/--layout must be imagenet or cifar, got 'mnist'/, 'evolve-space', '--budget-madds', '3M', '--layout', 'mnist'),
    c2(
      /--budget-madds 3\.00M leaves nothing for the searchable layers: the imagenet skeleton alone takes 42\.22M/,
      'evolve-space',
      '--budget-madds',
      '3M',
      '--layout',
      'imagenet',
    ),
    c2(/--population must be an integer >= 1/, 'evolve-space', '--budget-madds', '3M', '--population', '0'),
    c2(/--tournament must be an integer >= 1/, 'evolve-space', '--budget-madds', '3M', '--tournament', '0'),
    c2(/--iterations must be an integer >= 1/, 'evolve-space', '--budget-madds', '3M', '--iterations', '0'),
    c2(/--steps must be an integer >= 1/, 'evolve-space', '--budget-madds', '3M', '--steps', '0'),
    c2(/--guide must be an integer >= 0/, 'evolve-space', '--budget-madds', '3M', '--guide', '-1'),
    c2(/--warmup must be an integer >= 0/, 'evolve-space', '--budget-madds', '3M', '--warmup', '-1'),
    c2(/--min-evals must be an integer >= 1/, 'evolve-space', '--budget-madds', '3M', '--min-evals', '0'),
    c2(/--replace-every must be an integer >= 1/, 'evolve-space', '--budget-madds', '3M', '--replace-every', '0'),
    c2(/--batch must be an integer >= 2/, 'evolve-space', '--budget-madds', '3M', '--batch', '1'),
    c2(/--lr must be a number >= 0/, 'evolve-space', '--budget-madds', '3M', '--lr', '-1'),
    c2(/--fitness-lr must be a finite number/, 'evolve-space', '--budget-madds', '3M', '--fitness-lr', 'nan'),
    c2(/--penalty must be a number >= 0/, 'evolve-space', '--budget-madds', '3M', '--penalty', '-1'),
    c2(/--slack must be > 0, got '0'/, 'evolve-space', '--budget-madds', '3M', '--slack', '0'),
    c2(
      new RegExp(
        `--train ${N - VAL + 1} \\+ --val ${VAL} \\(default\\) = ${N + 1} images, more than the ${N} training images of cifar10`,
      ),
      'evolve-space',
      '--budget-madds',
      '3M',
      '--train',
      `${N - VAL + 1}`,
    ),
    c2(
      /--batch 64 is more than the --val split of 32 images/,
      'evolve-space',
      '--budget-madds',
      '3M',
      '--val',
      '32',
      '--batch',
      '64',
    ),
    c2(/--seed must be an integer >= 0/, 'evolve-space', '--budget-madds', '3M', '--seed', '-1'),
    ...badOutputs('evolve-space', 'out', ['--budget-madds', '3M']),
    ...badOutputs('evolve-space', 'history', ['--budget-madds', '3M']),
    c2(/--out and --history name the same file/, 'evolve-space', '--budget-madds', '3M', '--out', OUTJ, '--history', OUTJ),
    c2(
      /^wgnas evolve-space: --out '[^']*space-2\.json' is a directory; give a file name\n$/,
      'evolve-space',
      ...REDIS,
      '--out',
      join(root, 'space-{seed}.json'),
    ),
    c2(
      new RegExp(
        `^wgnas evolve-space: --history '[^']*hist-1\\.json' \\(a link to '[^']*fake-dev'\\) is ${DEV_KIND}, not a file`,
      ),
      'evolve-space',
      ...REDIS,
      '--out',
      join(outDir, 's-{seed}.json'),
      '--history',
      join(root, 'hist-{seed}.json'),
    ),
    c2(
      /^wgnas evolve-space: --out '[^']*f-2[/]s\.json': directory .*f-2 does not exist\n$/,
      'evolve-space',
      ...REDIS,
      '--out',
      join(root, 'f-{seed}', 's.json'),
    ),
    // The pattern's own directory need not exist: e-1/ and e-2/ pass, and the unreachable server is what is named.
    c2(
      /^wgnas evolve-space: --redis: cannot connect to 127\.0\.0\.1:1 \(connection refused/,
      'evolve-space',
      ...REDIS,
      '--out',
      join(root, 'e-{seed}', 's.json'),
    ),
    // Without --redis '{seed}' is not filled in: the name as given is checked.
    c2(
      /^wgnas evolve-space: --out '[^']*e-\{seed\}[/]s\.json': directory .*e-\{seed\} does not exist\n$/,
      'evolve-space',
      '--budget-madds',
      '3M',
      '--out',
      join(root, 'e-{seed}', 's.json'),
    ),
    c2(/--population is not used with --hand-designed/, 'evolve-space', '--hand-designed', '--population', '3'),
    c2(/--budget-madds is not used with --hand-designed/, 'evolve-space', '--hand-designed', '--budget-madds', '3M'),
    c2(/--layout must be imagenet or cifar, got 'mnist'/, 'evolve-space', '--hand-designed', '--layout', 'mnist'),
    c2(/--out .*no-such-dir does not exist/, 'evolve-space', '--hand-designed', '--out', MISSING),
    c2(/unknown option --budget for 'wgnas evolve-space'; did you mean --budget-madds\?/, 'evolve-space', '--budget', '3M'),
  ],
  // An output that lands on an input of the same run, in any spelling: refused before it is read.
  'output is an input': [
    c2(
      /^wgnas score: --out '[^']*archs-in\.txt' is the file --archs reads: the run would write over its own input; give --out another name\n$/,
      ...['score', '--archs', ARCHS_IN, '--out', ARCHS_IN],
    ),
    c2(
      /--out '[^']*\/\.\/archs-in\.txt' is the file --archs reads/,
      'score',
      '--archs',
      ARCHS_IN,
      '--out',
      `${root}/./archs-in.txt`,
    ),
    c2(/--out '[^']*archs-link\.txt' is the file --archs reads/, 'score', '--archs', ARCHS_IN, '--out', ARCHS_LINK),
    c2(/--kernel-profile '[^']*' is the file --archs reads/, 'score', '--archs', ARCHS_IN, '--kernel-profile', ARCHS_IN),
    c2(
      /--out '[^']*' is the file --space-file reads/,
      'search',
      '--space-file',
      SPACE_IN,
      '--budget-madds',
      '3M',
      '--out',
      SPACE_IN,
    ),
    c2(
      /--evaluated '[^']*' is the file --space-file reads/,
      ...['search', '--space-file', SPACE_IN, '--budget-madds', '3M', '--evaluated', SPACE_IN],
    ),
    c2(
      /--out '[^']*' is the file --latency-table reads/,
      'proxyless',
      '--latency-table',
      TABLE_IN,
      '--target-ms',
      '40',
      '--out',
      TABLE_IN,
    ),
    c2(
      /--plot '[^']*' is the file --space-file reads/,
      'proxyless',
      '--space-file',
      SPACE_IN,
      '--target-madds',
      '3',
      '--plot',
      SPACE_IN,
    ),
    c2(/--out '[^']*' is the file --net reads/, 'export', '--net', NET_IN, '--out', NET_IN),
    c2(/--json '[^']*' is the file --compare reads/, 'bench', 'matmul', '--compare', REPORT_IN, '--json', REPORT_IN),
    c2(
      /--out '[^']*' is the file --space-file reads/,
      'profile',
      '--space-file',
      SPACE_YAML_IN,
      '--out',
      SPACE_YAML_IN,
      '--force',
    ),
  ],
  // The training set's fallback note waits for the checks: a refusal stays one line.
  train: [
    c2(
      new RegExp(`^wgnas train: --train-images 100000000: cifar10 has ${N} training images\n$`),
      ...['train', ...tinyNb201(ARCH), '--device', 'cpu', '--out', TRAIN_OUT, '--train-images', '100000000'],
    ),
    c2(
      /^wgnas train: --test-images 100000000: cifar10 has \d+ test images\n$/,
      ...['train', ...tinyNb201(ARCH), '--device', 'cpu', '--out', TRAIN_OUT, '--test-images', '100000000'],
    ),
    c2(
      /^wgnas train: --val 100000000 leaves -\d+ of the \d+ training images/,
      ...['train', ...tinyNb201(ARCH), '--device', 'cpu', '--out', TRAIN_OUT, '--val', '100000000'],
    ),
  ],
  profile: [
    ...common('profile', ['--out', join(outDir, 't.yaml')]),
    c2(
      /^wgnas profile: --target: port must be 1 to 65535, got 99999 in 'ssh:\/\/h:99999'\n$/,
      'profile',
      '--out',
      OUT,
      '--target',
      'ssh://h:99999',
    ),
    c2(/--target: port must be 1 to 65535, got 0 /, 'profile', '--out', OUT, '--target', 'ssh://user@[::1]:0'),
    c2(/--out FILE is required/, 'profile'),
    c2(/--out FILE is required/, 'profile', '--repeats', '3'),
    ...badOutputs('profile', 'out', []),
    c2(/--out: .*t\.json: the table is written as YAML, not JSON: name it \.yaml/, 'profile', '--out', join(outDir, 't.json')),
    c2(/--space must be proxyless or cifar, got 'nb201'/, 'profile', '--out', OUT, '--space', 'nb201'),
    c2(/--backend must be onednn or xnnpack, got 'tpu'/, 'profile', '--out', OUT, '--backend', 'tpu'),
    c2(/--resolution must be an integer >= 8, got '4'/, 'profile', '--out', OUT, '--resolution', '4'),
    c2(/--resolution must be at most 1024/, 'profile', '--out', OUT, '--resolution', '2000'),
    c2(/--resolution must be an integer.*got '22\.4'/, 'profile', '--out', OUT, '--resolution', '22.4'),
    c2(/--threads must be an integer >= 1/, 'profile', '--out', OUT, '--threads', '0'),
    c2(/--repeats must be an integer >= 1/, 'profile', '--out', OUT, '--repeats', '0'),
    c2(/--warmup must be an integer >= 0/, 'profile', '--out', OUT, '--warmup', '-1'),
    c2(/--max-time-ms must be an integer >= 0/, 'profile', '--out', OUT, '--max-time-ms', '-1'),
    c2(/--cache-flush must be auto, off or a byte count, got 'lots'/, 'profile', '--out', OUT, '--cache-flush', 'lots'),
    c2(/--cache-flush must be auto, off or a byte count, got '-1'/, 'profile', '--out', OUT, '--cache-flush', '-1'),
    c2(/--cache-flush must be auto, off or a byte count, got '1e6'/, 'profile', '--out', OUT, '--cache-flush', '1e6'),
    c2(
      /^wgnas profile: --cache-flush must be at most 10000000000 bytes/,
      'profile',
      '--out',
      OUT,
      '--cache-flush',
      '20000000000',
    ),
    c2(/--limit must be an integer >= 1/, 'profile', '--out', OUT, '--limit', '0'),
    c2(/--resume and --force contradict each other/, 'profile', '--out', OUT, '--resume', '--force'),
    c2(/unknown option --repeat for 'wgnas profile'; did you mean --repeats\?/, 'profile', '--out', OUT, '--repeat', '3'),
    c2(/--no-pin takes no value/, 'profile', '--out', OUT, '--no-pin=1'),
  ],
  predict: [
    ...common('predict', ['--table', TABLE, '--net', NET]),
    c2(/--table FILE is required/, 'predict'),
    c2(/--net FILE is required/, 'predict', '--table', TABLE),
    c2(/--table FILE is required/, 'predict', '--net', NET),
    c2(
      /cannot read latency table .*nope\.yaml \(--table\): no such file/,
      'predict',
      '--table',
      join(root, 'nope.yaml'),
      '--net',
      NET,
    ),
    c2(/--table .* is a directory/, 'predict', '--table', root, '--net', NET),
    c2(
      /cannot read network config .*nope\.json \(--net\): no such file/,
      'predict',
      '--table',
      TABLE,
      '--net',
      join(root, 'nope.json'),
    ),
    c1(/is not valid JSON/, 'predict', '--table', TABLE, '--net', TABLE),
    c1(/truncnet\.json is not valid JSON/, 'predict', '--table', TABLE, '--net', fx.truncNet),
    c1(/network config .*badnet\.json/, 'predict', '--table', TABLE, '--net', fx.badNet),
    c1(/network config .*arraynet\.json/, 'predict', '--table', TABLE, '--net', fx.arrayNet),
    c1(/garbage\.json is not valid JSON/, 'predict', '--table', TABLE, '--net', fx.binaryJson),
    c1(/garbage\.yaml/, 'predict', '--table', fx.binaryYaml, '--net', NET),
    c1(/trunc\.yaml/, 'predict', '--table', fx.truncYaml, '--net', NET),
    c1(/bad\.yaml:2: field 'mean'/, 'predict', '--table', fx.badYaml, '--net', NET),
    c2(
      /--missing must be one of error, nearest, scale, got 'guess'/,
      'predict',
      '--table',
      TABLE,
      '--net',
      NET,
      '--missing',
      'guess',
    ),
    c2(/--field must be mean or median, got 'max'/, 'predict', '--table', TABLE, '--net', NET, '--field', 'max'),
    // A published table has means only: summing them as 'median' would be a silently wrong number.
    c2(
      /^wgnas predict: --field median: .*proxylessnas_mobile_trim\.yaml has no 'median' field/,
      ...['predict', '--table', TABLE, '--net', NET, '--missing', 'nearest', '--field', 'median'],
    ),
    c2(/--resolution must be an integer >= 8/, 'predict', '--table', TABLE, '--net', NET, '--resolution', '4'),
    c2(/--resolution must be an integer/, 'predict', '--table', TABLE, '--net', NET, '--resolution', 'x'),
    c2(/--threads, --repeats and --backend set up --measure/, 'predict', '--table', TABLE, '--net', NET, '--threads', '2'),
    c2(/--threads, --repeats and --backend set up --measure/, 'predict', '--table', TABLE, '--net', NET, '--repeats', '3'),
    c2(
      /--backend must be onednn or xnnpack, got 'tpu'/,
      'predict',
      '--table',
      TABLE,
      '--net',
      NET,
      '--measure',
      '--backend',
      'tpu',
    ),
    c2(/--repeats must be an integer >= 1/, 'predict', '--table', TABLE, '--net', NET, '--measure', '--repeats', '0'),
    c2(/unknown option --jsn for 'wgnas predict'; did you mean --json\?/, 'predict', '--table', TABLE, '--net', NET, '--jsn'),
  ],
  bench: [
    ...common('bench'),
    c2(/unknown benchmark kernel 'nope'/, 'bench', 'nope', '--baselines', 'none'),
    c2(/unknown benchmark kernel 'matmull'; did you mean matmul\?/, 'bench', 'matmull'),
    c2(/--shapes must be one of tiny, small, default, large, got 'huge'/, 'bench', '--shapes', 'huge'),
    c2(/--repeats must be an integer >= 1/, 'bench', '--repeats', '0'),
    c2(/--warmup must be an integer >= 0/, 'bench', '--warmup', '-1'),
    c2(/unknown baseline 'numpy' in --baselines/, 'bench', '--baselines', 'tfjs,numpy'),
    c2(/--baselines has an empty item/, 'bench', '--baselines', ','),
    c2(/--baselines none cannot be combined/, 'bench', '--baselines', 'none,cpu'),
    c2(/unknown gpu\.js mode 'foo' in --gpujs-mode/, 'bench', '--gpujs-mode', 'foo'),
    c2(/--gpujs-mode is empty/, 'bench', '--gpujs-mode', ''),
    c2(/--native-threads must be an integer >= 1/, 'bench', '--native-threads', '0'),
    // An option of a baseline that is not run would be ignored silently.
    c2(
      /^wgnas bench: --native-threads sets the threads of the onednn and xnnpack baselines: add one of them to --baselines \(here --baselines is tfjs,cpu\)\n$/,
      ...['bench', '--baselines', 'tfjs,cpu', '--native-threads', '4'],
    ),
    c2(
      /--native-threads sets the threads .* \(here --baselines is none\)\n$/,
      'bench',
      '--baselines',
      'none',
      '--native-threads',
      '4',
    ),
    c2(
      /--gpujs-mode picks the modes of the gpujs baseline: add gpujs to --baselines \(here --baselines is onednn\)\n$/,
      ...['bench', '--baselines', 'onednn', '--gpujs-mode', 'cpu'],
    ),
    // --only before the device opens (the GPU is mocked to fail): with --shapes, and with the sweep the adapter would pick.
    c2(
      /^wgnas bench: --only 65x65x65: no shape of --shapes tiny has that label \(64x64x64, b2 33x47x29\)\n$/,
      ...['bench', 'matmul', '--shapes', 'tiny', '--only', '65x65x65'],
    ),
    c2(
      /^wgnas bench: --only 65x65x65: no shape of --shapes small or default has that label \(256x256x256, /,
      'bench',
      'matmul',
      '--only',
      '65x65x65',
    ),
    ...badOutputs('bench', 'json', []),
    ...badOutputs('bench', 'svg', []),
    // One file for both: the SVG would replace the report. Same file through another spelling too.
    c2(
      new RegExp(
        `--json and --svg name the same file '${outDir}/\\./r\\.out': the run writes both, one over the other; give each its own`,
      ),
      ...['bench', 'matmul', '--json', join(outDir, 'r.out'), '--svg', `${outDir}/./r.out`],
    ),
    c2(/--quiet takes no value/, 'bench', '--quiet=1'),
  ],
  queue: [
    ...common('queue', ['status']),
    // The action first: a missing or unknown one is named before the missing --redis.
    c2(/^wgnas queue: give an action: 'wgnas queue status --redis URL' \(got none\)\n$/, 'queue'),
    c2(/^wgnas queue: give an action/, 'queue', '--json'),
    c2(/^wgnas queue: unknown queue action 'bogus' \(known: status\)\n$/, 'queue', 'bogus'),
    c2(/^wgnas queue: unknown queue action 'stats'; did you mean status\? /, 'queue', 'stats'),
    c2(/^wgnas queue: --redis URL is required\n$/, 'queue', 'status'),
    c2(
      /^wgnas queue: 'queue status' takes no more arguments \(got status\)\n$/,
      ...['queue', 'status', 'status', '--redis', 'redis://127.0.0.1:1'],
    ),
    c2(/^wgnas queue: --redis.*redis:\/\//, 'queue', 'status', '--redis', 'http://x'),
    c2(/^wgnas queue: --queue must be 1-64 letters/, 'queue', 'status', '--redis', 'redis://127.0.0.1:1', '--queue', 'a b'),
  ],
  data: [
    ...common('data', ['list']),
    c2(/give an action: 'wgnas data list' or 'wgnas data fetch NAME' \(got none\)/, 'data'),
    c2(/give an action: .*\(got 'cifar10'\)/, 'data', 'cifar10'),
    c2(/unknown data action or dataset 'imagenet'/, 'data', 'fetch', 'imagenet'),
    c2(/'data fetch' needs the datasets to fetch: cifar10, cifar100/, 'data', 'fetch'),
    c2(/'data list' takes no names \(got cifar10\)/, 'data', 'list', 'cifar10'),
    c2(/--mirror only applies to 'data fetch'/, 'data', 'list', '--mirror', 'http://127.0.0.1:1/'),
    c2(/--json only applies to 'data list'/, 'data', 'fetch', 'cifar10', '--json'),
    c2(/--mirror must be an http\(s\) URL, got 'ftp:\/\/x'/, 'data', 'fetch', 'cifar10', '--mirror', 'ftp://x'),
    c2(
      /^wgnas data: --mirror must be an http\(s\) URL, got 'http:\/\/\[::1' \(not a valid URL\)/,
      'data',
      'fetch',
      'cifar10',
      '--mirror',
      'http://[::1',
    ),
    c2(/--dir .*cannot write under \/proc or \/sys/, 'data', 'fetch', 'cifar10', '--dir', '/proc/self/wgnas-data'),
    c2(/--dir .*no-such-dir/, 'data', 'fetch', 'cifar10', '--dir', join(root, 'no-such-dir', 'deeper', 'x')),
  ],
};

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  // A checkpoint directory whose pointer names a checkpoint that is not there.
  mkdirSync(join(root, 'ck-held'));
  writeFileSync(join(root, 'ck-held', 'current'), 'ckpt-000001\n');
  symlinkSync(join(root, 'no-such-ck'), join(root, 'dangling'));
  const r = await wgnasInProcess(['evolve-space', '--hand-designed', '--out', hand]);
  expect(r.code, r.err).toBe(0);
  writeFileSync(ARCHS_IN, `${ARCH}\n`);
  symlinkSync(ARCHS_IN, ARCHS_LINK);
  copyFileSync(hand, SPACE_IN);
  copyFileSync(hand, SPACE_YAML_IN);
  copyFileSync(TABLE, TABLE_IN);
  copyFileSync(NET, NET_IN);
  writeFileSync(REPORT_IN, '{}');
  inputsBefore = INPUTS.map((f) => readFileSync(f, 'utf8'));
});
let inputsBefore: string[] = [];
afterAll(() => rmSync(root, { recursive: true, force: true }));

const total = Object.values(CASES).reduce((n, cs) => n + cs.length, 0);

describe(`bad input (${total} cases)`, () => {
  it('covers every command with at least 200 cases', () => {
    expect(total).toBeGreaterThanOrEqual(200);
    for (const cmd of [
      'info',
      'score',
      'correlate',
      'search',
      'proxyless',
      'evolve-space',
      'profile',
      'predict',
      'bench',
      'data',
    ]) {
      expect(CASES[cmd]?.length, cmd).toBeGreaterThanOrEqual(8);
    }
  });

  for (const [cmd, cases] of Object.entries(CASES)) {
    it(`${cmd}: ${cases.length} cases refused in one line, before any work, writing nothing`, async () => {
      const failures: string[] = [];
      for (const k of cases) {
        const r = await wgnasInProcess(k.argv);
        const shown = `wgnas ${k.argv.map((a) => (a.length > 60 ? `${a.slice(0, 60)}...` : a)).join(' ')}`;
        const problems = [
          ...refusalProblems(r, k.code, k.match),
          readdirSync(outDir).length > 0 && `created ${readdirSync(outDir).join(', ')}`,
          existsSync(MISSING) && 'created the missing directory',
        ].filter(Boolean);
        if (problems.length) failures.push(`${shown}\n    -> ${problems.join('; ')}\n    stderr: ${r.err.trim()}`);
        for (const f of readdirSync(outDir)) rmSync(join(outDir, f), { recursive: true });
      }
      expect(failures, failures.join('\n')).toEqual([]);
    });
  }

  it('left the fifo, the device and the link as they were', () => {
    expect(lstatSync(FIFO).isFIFO()).toBe(true);
    expect(lstatSync(FAKE_DEV).isFIFO() || lstatSync(FAKE_DEV).isCharacterDevice()).toBe(true);
    expect(lstatSync(TO_DEV).isSymbolicLink()).toBe(true);
    expect(existsSync(join(root, 'no-such-ck'))).toBe(false);
  });

  it('left the inputs named as outputs as they were', () => {
    expect(INPUTS.map((f) => readFileSync(f, 'utf8'))).toEqual(inputsBefore);
    expect(lstatSync(ARCHS_LINK).isSymbolicLink()).toBe(true);
  });
});
