/**
 * The in-process part of the bad-input audit of every wgnas command (matrix.md): per option of
 * every mode, values by its type (numbers: 0, -1, NaN, abc, 1.5, 1e12, a huge integer, empty,
 * Infinity; enums and lists: unknown, wrong case, empty; files: missing, a directory, empty, the
 * wrong format, binary, chmod 000, /dev/zero; outputs: a missing parent, a directory, an input of
 * the same run), each declared conflict, a missing required flag, an unknown flag, a stray
 * argument, plus hand-written cases (environment variables, seed lists, URLs, positionals). The GPU
 * and the addon are mocked to refuse (GPU_REACHED / NATIVE_REACHED: the command got past its
 * checks); each case has 60 s. Not part of `npm test` (2300 cases):
 *
 *   AUDIT_OUT=/tmp/audit.json npx vitest run --config bench/results/cli-bad-input/2026-12-06/vitest.config.ts
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { it, vi } from 'vitest';
import { allSpecs } from '../../../../src/cli/cli.js';
import { choicesOf, type CommandSpec, type ModeSpec, type OptDef } from '../../../../src/cli/spec.js';
import { ARCH, makeFixtures, NET, TABLE, wgnasInProcess } from '../../../../test/helpers/cli.js';

vi.mock('../../../../src/gpu/index.js', async (orig) =>
  (await import('../../../../test/helpers/refusing-mocks.js')).refusingGpu(
    await orig<typeof import('../../../../src/gpu/index.js')>(),
  ),
);
vi.mock('../../../../src/native/binding.js', async (orig) =>
  (await import('../../../../test/helpers/refusing-mocks.js')).refusingNative(
    await orig<typeof import('../../../../src/native/binding.js')>(),
  ),
);

const root = mkdtempSync(join(tmpdir(), 'wgnas-audit-'));
const outDir = join(root, 'out');
mkdirSync(outDir);
const fx = makeFixtures(join(root, 'in'));
const hand = join(root, 'hand.json');
const unreadable = join(root, 'unreadable.csv');
const emptyFile = join(root, 'empty.json');
const jsonForCsv = join(root, 'jsonforcsv.csv');
const csvForJson = join(root, 'csvforjson.json');
const csvForYaml = join(root, 'csvforyaml.yaml');
const aDir = join(root, 'adir');
const MISSING_PARENT = join(root, 'no-such-dir', 'x');
const O = (n: string) => join(outDir, n);

interface Rec {
  cmd: string;
  mode: string;
  flag: string;
  category: string;
  value: string;
  argv: string[];
  code: number;
  errLines: number;
  firstLine: string;
  stack: boolean;
  reached: boolean;
  hang: boolean;
  wrote: string[];
  stdout: number;
  namesIt: boolean;
  expect: 'refuse' | 'accept' | 'judge';
  ms: number;
}

/** A valid base command line per mode, reaching the (mocked) work. */
function baseOf(cmd: string, mode: ModeSpec): string[] {
  const m = mode.label;
  if (cmd === 'info') return [];
  if (cmd === 'score') return ['--arch', ARCH, '--device', 'cpu'];
  if (cmd === 'correlate') {
    if (m.includes('--scores')) return ['--scores', fx.scoresCsv];
    if (m.includes('--reference')) return ['--reference'];
    return ['--sample', '3', '--device', 'cpu'];
  }
  if (cmd === 'search') {
    if (m.includes('proxyless'))
      return ['--space', 'proxyless', '--latency-table', TABLE, '--target-ms', '40', '--device', 'cpu'];
    if (m.includes('space-file')) return ['--space-file', hand, '--budget-madds', '3M', '--device', 'cpu'];
    return ['--budget', '2', '--device', 'cpu'];
  }
  if (cmd === 'proxyless') return ['--latency-table', TABLE, '--target-ms', '40', '--device', 'cpu'];
  if (cmd === 'evolve-space') {
    if (m.includes('hand')) return ['--hand-designed', '--out', O('hd.json')];
    return ['--budget-madds', '3M', '--device', 'cpu'];
  }
  if (cmd === 'profile') return ['--out', O('t.yaml'), '--device', 'cpu'];
  if (cmd === 'predict') return ['--table', TABLE, '--net', NET, '--missing', 'nearest'];
  if (cmd === 'train')
    return ['--nb201', ARCH, '--channels', '4', '--cells-per-stage', '1', '--out', O('train'), '--device', 'cpu'];
  if (cmd === 'export') return ['--nb201', ARCH, '--channels', '4', '--cells-per-stage', '1', '--out', O('m.onnx')];
  if (cmd === 'bench') return ['matmul', '--shapes', 'tiny', '--baselines', 'none', '--device', 'cpu'];
  if (cmd === 'worker') return ['--redis', 'redis://127.0.0.1:1'];
  if (cmd === 'queue') return ['status', '--redis', 'redis://127.0.0.1:1'];
  if (cmd === 'data') return ['list'];
  return [];
}

/** Drops `--flag X` (or a bare flag) from a base. */
function without(base: string[], flag: string, o?: OptDef): string[] {
  const i = base.indexOf(`--${flag}`);
  if (i < 0) return base;
  const n = o && o.type === 'bool' ? 1 : 1 + (base[i + 1] !== undefined && !base[i + 1].startsWith('--') ? 1 : 0);
  return [...base.slice(0, i), ...base.slice(i + n)];
}

function intCases(o: OptDef): Array<[string, string, Rec['expect']]> {
  const inRange = (n: number) =>
    (o.min === undefined || n >= o.min) && (o.max === undefined || n <= o.max) && (o.gt === undefined || n > o.gt);
  return [
    ['zero', '0', inRange(0) ? 'accept' : 'refuse'],
    ['negative', '-1', inRange(-1) ? 'accept' : 'refuse'],
    ['NaN', 'NaN', 'refuse'],
    ['abc', 'abc', 'refuse'],
    ['fraction', '1.5', o.type === 'int' ? 'refuse' : inRange(1.5) ? 'accept' : 'refuse'],
    ['huge-1e12', '1e12', o.type === 'int' ? 'refuse' : inRange(1e12) ? 'judge' : 'refuse'],
    ['huge-int', '1000000000000', inRange(1e12) ? 'judge' : 'refuse'],
    ['empty', '', 'refuse'],
    ['Infinity', 'Infinity', 'refuse'],
  ];
}

function caseValues(o: OptDef): Array<[string, string, Rec['expect']]> {
  switch (o.type) {
    case 'int':
    case 'number':
      return intCases(o);
    case 'madds':
      return [
        ['zero', '0', 'refuse'],
        ['negative', '-1', 'refuse'],
        ['abc', 'abc', 'refuse'],
        ['NaN', 'NaN', 'refuse'],
        ['huge', '1e30', 'judge'],
        ['empty', '', 'refuse'],
        ['fraction', '1.5', 'judge'],
      ];
    case 'enum':
    case 'list': {
      const ch = o.choices ? choicesOf(o.choices) : [];
      const up = ch[0] ? ch[0].toUpperCase() : 'X';
      return [
        ['unknown', 'bogus', ch.length ? 'refuse' : 'judge'],
        ['wrong-case', up, up === ch[0] ? 'accept' : o.ignoreCase ? 'accept' : 'refuse'],
        ['empty', '', o.allowEmpty ? 'judge' : 'refuse'],
        ...(o.type === 'list' ? ([['commas', ',', 'refuse']] as Array<[string, string, Rec['expect']]>) : []),
      ];
    }
    case 'text':
      return [
        ['empty', '', 'refuse'],
        ['garbage', 'bogus', 'judge'],
        ['whitespace', ' ', 'refuse'],
      ];
    case 'bool':
      return [['with-value', '=1', 'refuse']];
    case 'path':
      if (o.path === 'in-file')
        return [
          ['missing', join(root, 'nope.csv'), 'refuse'],
          ['directory', aDir, 'refuse'],
          ['empty-file', emptyFile, 'refuse'],
          ['binary', fx.binary, 'refuse'],
          ['json-as-csv', jsonForCsv, 'refuse'],
          ['csv-as-json', csvForJson, 'refuse'],
          ['csv-as-yaml', csvForYaml, 'refuse'],
          ['chmod-000', unreadable, 'judge'],
          ['/dev/zero', '/dev/zero', 'refuse'],
          ['empty', '', 'refuse'],
        ];
      if (o.path === 'out-file')
        return [
          ['parent-missing', MISSING_PARENT, 'refuse'],
          ['existing-dir', aDir, 'refuse'],
          ['empty', '', 'refuse'],
        ];
      return [
        ['parent-missing', join(MISSING_PARENT, 'd'), 'refuse'],
        ['a-file', fx.aFile, 'refuse'],
        ['empty', '', 'refuse'],
      ];
  }
  return [];
}

const VALID: Record<string, string> = {
  redis: 'redis://127.0.0.1:1',
  target: 'ssh://127.0.0.1:1',
  resolution: '32',
  nb201: ARCH,
  net: NET,
};

const reachedRe = /GPU_REACHED|NATIVE_REACHED/;

async function runCase(
  cmd: string,
  mode: string,
  flag: string,
  category: string,
  value: string,
  argv: string[],
  expect: Rec['expect'],
): Promise<Rec> {
  for (const f of readdirSync(outDir)) rmSync(join(outDir, f), { recursive: true, force: true });
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([wgnasInProcess(argv), new Promise<null>((res) => (timer = setTimeout(() => res(null), 60_000)))]);
  clearTimeout(timer);
  const ms = Date.now() - t0;
  const wrote = readdirSync(outDir);
  if (!r)
    return {
      cmd,
      mode,
      flag,
      category,
      value,
      argv,
      code: -1,
      errLines: 0,
      firstLine: '',
      stack: false,
      reached: false,
      hang: true,
      wrote,
      stdout: 0,
      namesIt: false,
      expect,
      ms,
    };
  const lines = r.err.split('\n').filter((l) => l !== '');
  const fileish = value.includes('/') ? basename(value) : '';
  const namesIt =
    flag.startsWith('(') ||
    (flag.startsWith('-') ? r.err.includes(flag.replace(/=.*/, '')) : r.err.includes(`--${flag}`)) ||
    (fileish !== '' && r.err.includes(fileish)) ||
    (value.length > 1 && !value.includes('/') && r.err.includes(value)) ||
    (flag.startsWith('WGNAS_') && r.err.includes(flag));
  return {
    cmd,
    mode,
    flag,
    category,
    value,
    argv,
    code: r.code,
    errLines: lines.length,
    firstLine: (lines.find((l) => !/^\s+at /.test(l)) ?? '').slice(0, 300),
    stack: /\n\s+at /.test(r.err),
    reached: reachedRe.test(r.err),
    hang: false,
    wrote,
    stdout: r.out.length,
    namesIt,
    expect,
    ms,
  };
}

it('audit', async () => {
  mkdirSync(aDir);
  writeFileSync(emptyFile, '');
  writeFileSync(jsonForCsv, '[{"arch": "x", "wrcor": 1}]');
  writeFileSync(csvForJson, `arch,wrcor\n${ARCH},1\n`);
  writeFileSync(csvForYaml, `arch,wrcor\n${ARCH},1\n`);
  copyFileSync(fx.scoresCsv, unreadable);
  chmodSync(unreadable, 0o000);
  const r0 = await wgnasInProcess(['evolve-space', '--hand-designed', '--out', hand]);
  if (r0.code !== 0) throw new Error(r0.err);
  const specs: CommandSpec[] = await allSpecs();
  const only = process.env.AUDIT_ONLY?.split(',');
  const recs: Rec[] = [];
  for (const spec of specs) {
    if (only && !only.includes(spec.name)) continue;
    const cmd = spec.name;
    for (const mode of spec.modes) {
      const base = baseOf(cmd, mode);
      // the base itself
      recs.push(await runCase(cmd, mode.label, '(base)', 'valid base', '', [cmd, ...base], 'accept'));
      for (const [name, o] of Object.entries(mode.options)) {
        let b = without(base, name, o);
        if ((cmd === 'export' || cmd === 'train') && (name === 'net' || name === 'resolution'))
          b = without(without(without(b, 'nb201'), 'channels'), 'cells-per-stage');
        if (cmd === 'profile' && ['identity', 'known-hosts', 'target-dir', 'retries'].includes(name))
          b = [...without(b, 'device'), '--target', 'ssh://127.0.0.1:1'];
        for (const [cat, v, exp] of caseValues(o)) {
          const argv = o.type === 'bool' ? [cmd, ...b, `--${name}${v}`] : [cmd, ...b, `--${name}`, v];
          recs.push(await runCase(cmd, mode.label, name, cat, v, argv, exp));
        }
        // output == an input of the base
        if (o.type === 'path' && o.path !== 'in-file') {
          const inputs = Object.entries(mode.options)
            .filter(([, p]) => p.type === 'path' && p.path === 'in-file')
            .map(([n]) => n)
            .filter((n) => b.includes(`--${n}`));
          for (const n of inputs) {
            const src = b[b.indexOf(`--${n}`) + 1];
            const copy = join(root, `copy-of-${basename(src)}`);
            copyFileSync(src, copy);
            const bb = [...b];
            bb[bb.indexOf(`--${n}`) + 1] = copy;
            recs.push(await runCase(cmd, mode.label, name, `same-as --${n}`, copy, [cmd, ...bb, `--${name}`, copy], 'refuse'));
          }
        }
        if (o.required) recs.push(await runCase(cmd, mode.label, name, 'missing-required', '', [cmd, ...b], 'refuse'));
        for (const c of o.conflicts ?? []) {
          const co = mode.options[c];
          if (!co) continue;
          const val = (p: OptDef, n: string) =>
            p.type === 'bool'
              ? []
              : b.includes(`--${n}`)
                ? [b[b.indexOf(`--${n}`) + 1]]
                : [
                    VALID[n] ??
                      (p.path === 'in-file'
                        ? hand
                        : p.path
                          ? O(`${n}.x`)
                          : p.type === 'int' || p.type === 'number'
                            ? '2'
                            : p.type === 'enum'
                              ? choicesOf(p.choices!)[0]
                              : 'x'),
                  ];
          const argv = [cmd, ...without(without(b, c, co), name, o), `--${name}`, ...val(o, name), `--${c}`, ...val(co, c)];
          recs.push(await runCase(cmd, mode.label, name, `conflict --${c}`, '', argv, 'refuse'));
        }
      }
      recs.push(await runCase(cmd, mode.label, '--bogus', 'unknown flag', '', [cmd, ...base, '--bogus'], 'refuse'));
      if (!mode.positionals)
        recs.push(await runCase(cmd, mode.label, 'stray', 'unexpected positional', 'stray', [cmd, ...base, 'stray'], 'refuse'));
    }
  }
  // Hand-written cases: an output that is an input, pattern/seed lists, positionals, env variables.
  const archList = join(root, 'archs.txt');
  writeFileSync(archList, `${ARCH}\n`);
  const netCopy = join(root, 'net.config');
  copyFileSync(NET, netCopy);
  const spaceCopy = join(root, 'space.json');
  copyFileSync(hand, spaceCopy);
  const spaceYaml = join(root, 'space.yaml');
  copyFileSync(hand, spaceYaml);
  const report = join(root, 'report.json');
  writeFileSync(report, '{}');
  const X = (flag: string, category: string, value: string, argv: string[], exp: Rec['expect'] = 'refuse') =>
    runCase(argv[0], 'extra', flag, category, value, argv, exp);
  const extra: Array<Promise<Rec> | (() => Promise<Rec>)> = [];
  const E = (...a: Parameters<typeof X>) => extra.push(() => X(...a));
  E('out', 'same-as --archs', archList, ['score', '--archs', archList, '--device', 'cpu', '--out', archList]);
  E('out', 'same-as --archs (./ spelling)', archList, [
    'score',
    '--archs',
    archList,
    '--device',
    'cpu',
    '--out',
    `${root}/./archs.txt`,
  ]);
  E('kernel-profile', 'same-as --archs', archList, [
    'score',
    '--archs',
    archList,
    '--device',
    'cpu',
    '--kernel-profile',
    archList,
  ]);
  E('out', 'same-as --net', netCopy, ['export', '--net', netCopy, '--out', netCopy]);
  E('out', 'same-as --weights', spaceCopy, ['export', '--nb201', ARCH, '--weights', spaceCopy, '--out', spaceCopy]);
  E('json', 'same-as --compare', report, [
    'bench',
    'matmul',
    '--shapes',
    'tiny',
    '--baselines',
    'none',
    '--device',
    'cpu',
    '--compare',
    report,
    '--json',
    report,
  ]);
  E('svg', 'same-as --compare', report, [
    'bench',
    'matmul',
    '--shapes',
    'tiny',
    '--baselines',
    'none',
    '--device',
    'cpu',
    '--compare',
    report,
    '--svg',
    report,
  ]);
  E('out', 'same-as --space-file', spaceCopy, [
    'proxyless',
    '--space-file',
    spaceCopy,
    '--target-madds',
    '3',
    '--device',
    'cpu',
    '--out',
    spaceCopy,
  ]);
  E('plot', 'same-as --space-file', spaceCopy, [
    'proxyless',
    '--space-file',
    spaceCopy,
    '--target-madds',
    '3',
    '--device',
    'cpu',
    '--plot',
    spaceCopy,
  ]);
  E('out', 'same-as --space-file', spaceCopy, [
    'search',
    '--space',
    'proxyless',
    '--space-file',
    spaceCopy,
    '--target-madds',
    '3',
    '--device',
    'cpu',
    '--out',
    spaceCopy,
  ]);
  E('out', 'same-as --latency-table', TABLE, [
    'search',
    '--space-file',
    spaceCopy,
    '--latency-table',
    TABLE,
    '--max-latency-ms',
    '40',
    '--device',
    'cpu',
    '--out',
    TABLE,
  ]);
  E('out', 'same-as --space-file', spaceYaml, ['profile', '--space-file', spaceYaml, '--device', 'cpu', '--out', spaceYaml]);
  E('out', 'same-as --net', join(root, 'n.yaml'), [
    'profile',
    '--net',
    join(root, 'n.yaml'),
    '--device',
    'cpu',
    '--out',
    join(root, 'n.yaml'),
  ]);
  for (const v of ['', '1,,2', 'a', '-1', '1,1', '1e3', '1.5', '99999999999'])
    E(
      'seeds',
      'seed list',
      v,
      ['evolve-space', '--budget-madds', '3M', '--device', 'cpu', '--redis', 'redis://127.0.0.1:1', '--seeds', v],
      v === '1e3' ? 'judge' : 'refuse',
    );
  for (const v of ['', '0', 'abc', '-2', 'AUTO', '1.5', '1e12'])
    E('group', 'group value', v, ['score', '--arch', ARCH, '--device', 'cpu', '--group', v], v === 'AUTO' ? 'judge' : 'refuse');
  for (const v of ['', 'x', 'http://h', 'redis://', 'redis://h/abc']) E('redis', 'redis url', v, ['worker', '--redis', v]);
  for (const v of ['', 'a b', 'x'.repeat(100)])
    E('queue', 'queue name', v, ['queue', 'status', '--redis', 'redis://127.0.0.1:1', '--queue', v]);
  for (const v of ['', 'ssh://', 'http://h', 'ssh://h:99999', 'ssh://h:abc'])
    E('target', 'target url', v, ['profile', '--out', O('t.yaml'), '--target', v]);
  for (const v of ['', 'x', '|nor_conv_3x3~0|+|bogus~0|none~1|+|none~0|none~1|none~2|'])
    E('nb201', 'nb201 arch', v, ['train', '--nb201', v, '--out', O('tr'), '--device', 'cpu']);
  for (const v of ['', 'x', '|nor_conv_3x3~0|+|bogus~0|none~1|+|none~0|none~1|none~2|'])
    E('nb201', 'nb201 arch', v, ['export', '--nb201', v, '--out', O('m.onnx')]);
  E('out', 'same-as --space-file, --force', spaceYaml, [
    'profile',
    '--space-file',
    spaceYaml,
    '--device',
    'cpu',
    '--out',
    spaceYaml,
    '--force',
  ]);
  E('train-images', 'more than the images (note before the refusal?)', '100000000', [
    'train',
    '--nb201',
    ARCH,
    '--channels',
    '4',
    '--cells-per-stage',
    '1',
    '--out',
    O('tr'),
    '--device',
    'cpu',
    '--train-images',
    '100000000',
  ]);
  E('channels', 'in range, but the run exceeds the machine memory', '256', [
    'score',
    '--arch',
    ARCH,
    '--device',
    'cpu',
    '--channels',
    '256',
    '--cells-per-stage',
    '32',
  ]);
  E('(none)', 'no network', '', ['export', '--out', O('m.onnx')]);
  E('(none)', 'no network', '', ['train', '--out', O('tr'), '--device', 'cpu']);
  E('(positional)', 'missing action', '', ['data']);
  E('(positional)', 'missing action', '', ['queue', '--redis', 'redis://127.0.0.1:1']);
  E('(positional)', 'unknown kernel', 'nokernel', ['bench', 'nokernel']);
  E('(positional)', 'wrong-case kernel', 'MATMUL', ['bench', 'MATMUL', '--baselines', 'none', '--device', 'cpu']);
  E('(positional)', 'unknown dataset', 'cifar', ['data', 'fetch', 'cifar']);
  E('(positional)', 'wrong-case dataset', 'CIFAR10', ['data', 'fetch', 'CIFAR10', '--dir', O('d')]);
  E('(command)', 'wrong-case command', 'SCORE', ['SCORE']);
  E('(command)', 'help of unknown', 'bogus', ['help', 'bogus']);
  E('only', 'bench --only unknown', 'x', [
    'bench',
    'matmul',
    '--shapes',
    'tiny',
    '--device',
    'cpu',
    '--baselines',
    'none',
    '--only',
    'x',
  ]);
  E('only', 'bench --only empty item', ',', [
    'bench',
    'matmul',
    '--shapes',
    'tiny',
    '--device',
    'cpu',
    '--baselines',
    'none',
    '--only',
    ',',
  ]);
  for (const v of ['', 'x', '-1', '1e99', '10GB'])
    E('cache-flush', 'cache-flush', v, ['profile', '--out', O('t.yaml'), '--device', 'cpu', '--cache-flush', v]);
  for (const v of ['auto', '0', 'off'])
    E('cache-flush', 'cache-flush valid', v, ['profile', '--out', O('t.yaml'), '--device', 'cpu', '--cache-flush', v], 'accept');
  for (const [name, v] of [
    ['WGNAS_CPU_THREADS', '0'],
    ['WGNAS_CPU_THREADS', 'abc'],
    ['WGNAS_CPU_THREADS', '1.5'],
    ['WGNAS_CPU_THREADS', '1e12'],
    ['WGNAS_CONV_CORE', 'LEGACY'],
    ['WGNAS_BN_WG', '12'],
    ['WGNAS_BN_PLAN', 'Auto'],
    ['WGNAS_F16', 'yes'],
    ['WGNAS_F16', 'true'],
    ['WGNAS_GPU_MEMORY_BYTES', '8G'],
    ['WGNAS_GPU_MEMORY_BYTES', '-1'],
    ['WGNAS_QUEUE_LOCK_MS', 'abc'],
    ['WGNAS_QUEUE_HEARTBEAT_MS', '0'],
    ['WGNAS_QUEUE_OUTAGE_MS', '-5'],
    ['WGNAS_FETCH_IDLE_TIMEOUT_MS', 'abc'],
    ['WGNAS_OVERRIDES', 'pipelines'],
    ['WGNAS_DAWN_STDERR', 'RAW'],
    ['WGNAS_WARN_LEAKS', 'yes'],
    ['WGNAS_SGMAT_TILE', '3'],
    ['WGNAS_SHADER_DIR', join(root, 'nope')],
    ['WGNAS_SHADER_DIR', aDir],
    ['WGNAS_DATA_DIR', join(root, 'nope')],
    ['WGNAS_DATA_DIR', fx.aFile],
    ['WGNAS_SHARED_DATA_DIR', join(root, 'nope')],
    ['WGNAS_SHARED_DATA_DIR', fx.aFile],
  ] as const)
    extra.push(async () => {
      const saved = process.env[name];
      process.env[name] = v;
      try {
        return await X(name, 'env', v, ['score', '--sample', '2', '--device', 'cpu']);
      } finally {
        if (saved === undefined) delete process.env[name];
        else process.env[name] = saved;
      }
    });
  for (const e of extra) recs.push(await (typeof e === 'function' ? e() : e));
  writeFileSync(process.env.AUDIT_OUT ?? join(tmpdir(), 'wgnas-audit.json'), JSON.stringify(recs, null, 1));
  chmodSync(unreadable, 0o644);
  rmSync(root, { recursive: true, force: true });
});
