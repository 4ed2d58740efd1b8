/**
 * "Nothing lost" audit: SIGKILLs writing commands at named kill points (WGNAS_TEST_KILL_AT) and at
 * random moments, many times, and checks after every kill that each output file is absent, the old
 * complete version or the new complete one (never torn), that a multi-file output is consistent,
 * and that the run after the kill (a resume where the command resumes, else the same command)
 * ends with exactly the uninterrupted run's bytes (timing fields aside) and no leftovers. Too slow for the test suite (each trial starts a process); the fast
 * tests pin what it found (docs/reliability.md, "Kill points the test suite survives").
 *
 *   npx tsx scripts/kill-audit.ts [--trials N] [--only NAME,...] [--keep]
 *
 * Scenarios: evolve-space, search-cells, search-cells-train, train, export, correlate, bench, data-fetch.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { create } from 'tar';
import { readWeights } from '../src/export/weights.js';
import { BIN, type ChildResult, nodeChild } from '../test/helpers/child.js';
import { tinyNb201 } from '../test/helpers/flags.js';

const { values: opt } = parseArgs({
  options: { trials: { type: 'string', default: '12' }, only: { type: 'string' }, keep: { type: 'boolean' } },
});
const TRIALS = Number(opt.trials);
const work = mkdtempSync(join(tmpdir(), 'wgnas-kill-audit-'));

type Run = ChildResult & { ms: number };

/** Runs `wgnas ARGS` (or, for args starting with '--import', node itself) in `cwd`, as long as it takes. */
async function wgnas(args: string[], cwd: string, o: { killAt?: string; killAfterMs?: number } = {}): Promise<Run> {
  const t0 = performance.now();
  const r = await nodeChild(args[0] === '--import' ? args : [BIN, ...args], { ...o, cwd, timeoutMs: Infinity });
  return { ...r, ms: performance.now() - t0 };
}

/** Every regular file under `dir`, relative path -> bytes. */
function snapshot(dir: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) m.set(relative(dir, p), readFileSync(p));
    }
  };
  if (existsSync(dir)) walk(dir);
  return m;
}

/** Timing and date fields blanked, so two runs of the same work compare equal. */
function normal(name: string, b: Buffer): string {
  if (!/\.(json|jsonl|csv|svg|yaml)$/.test(name)) return createHash('sha256').update(b).digest('hex');
  return b
    .toString('utf8')
    .replace(/"(seconds|date|\w*At|time_ms|\w*Ms|ms|msPerStep)":\s*("[^"]*"|[-\d.eE+]+)/g, '"$1": 0')
    .replace(/\(\d+(\.\d+)? s\)/g, '(0 s)');
}

interface Scenario {
  name: string;
  /** Puts the old complete version (if any) into a fresh trial directory. */
  setup(dir: string): Promise<void> | void;
  args(dir: string): string[];
  /** The command that finishes the work after a kill (default: the same command again). */
  resume?(dir: string): string[];
  /** The files (relative to dir) whose state is audited; others (checkpoints) are the command's own. */
  outputs: string[];
  /** Named kill points to try (each also at its 2nd pass where given as NAME:2). */
  killPoints?: string[];
  /** A check of the outputs as a whole (multi-file consistency), or null when fine. */
  consistent?(dir: string): string | null;
  /** Whether a file is a complete new version (default: equals the reference run's, normalised). */
  completeNew?(name: string, b: Buffer): boolean;
  /** Leftovers that must not survive a finished resume (e.g. temporaries), by name pattern. */
  leftovers?: RegExp;
  /** Outputs are compared by validity only (timings), not to the reference. */
  noReference?: boolean;
}

const ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|skip_connect~2|';
const CPU = ['--device', 'cpu', '--cpu-threads', '1'];
const EVOLVE = ['evolve-space', '--budget-madds', '3M', '--iterations', '2', '--steps', '1', '--warmup', '1'];
const EVOLVE_SMALL = [...EVOLVE, '--train', '64', '--val', '32', '--batch', '8', '--population', '4', '--k', '2', ...CPU];
const TRAIN = (seed: string) => [
  'train',
  ...tinyNb201(ARCH),
  '--train-images',
  '32',
  '--test-images',
  '16',
  '--epochs',
  '3',
  '--batch',
  '8',
  '--latency-runs',
  '0',
  '--quiet',
  '--seed',
  seed,
  ...CPU,
];
const TRAIN_OUT = ['weights.json', 'weights.bin', 'curve.svg', 'report.json'];

const SEARCH_TRAIN = (seed: string) => [
  ...['search', '--space-file', spaceFile, '--budget', '4', '--batch', '8', '--seed', seed, ...CPU],
  ...['--evaluated', 'e.csv', '--train-steps', '6', '--out', 'o.json', '--quiet'],
];

/** The seed an --evaluated file's settings record (undefined when there is none). */
function evaluatedSeed(path: string): unknown {
  const side = `${path}.settings.json`;
  return existsSync(side)
    ? (JSON.parse(readFileSync(side, 'utf8')) as { settings?: Record<string, unknown> }).settings?.['--seed']
    : undefined;
}

/** A space file every trial of search-cells reads (made once). */
let spaceFile = '';
/** The data-fetch mirror, and the driver that fetches a dataset of its size and MD5 through it. */
let mirror = '';
let fetchDriver = '';
const TSX = import.meta.resolve('tsx');
const FETCH = (...more: string[]) => ['--import', TSX, fetchDriver, mirror, 'root', ...more];
const expectedCifar = new Map<string, Buffer>();

const scenarios: Scenario[] = [
  {
    name: 'evolve-space',
    setup: async (d) => void (await wgnas([...EVOLVE_SMALL, '--seed', '2', '--out', 's.json', '--history', 'h.json'], d)),
    args: () => [...EVOLVE_SMALL, '--seed', '1', '--out', 's.json', '--history', 'h.json'],
    outputs: ['s.json', 'h.json'],
    leftovers: /\.tmp$/,
  },
  {
    name: 'search-cells',
    setup: async (d) =>
      void (await wgnas(
        ['search', '--space-file', spaceFile, '--budget', '6', '--batch', '8', '--seed', '1', '--out', 'o.json', ...CPU],
        d,
      )),
    args: () => ['search', '--space-file', spaceFile, '--budget', '6', '--batch', '8', '--seed', '0', '--out', 'o.json', ...CPU],
    outputs: ['o.json'],
    leftovers: /\.tmp$/,
  },
  {
    // --train-steps with --evaluated keeps its training in e.csv.train-steps; the old version is a finished run of another seed.
    name: 'search-cells-train',
    setup: async (d) => void (await wgnas(SEARCH_TRAIN('1'), d)),
    args: () => [...SEARCH_TRAIN('0'), '--force'],
    // --resume continues this run; a kill before --force restarted e.csv leaves the old run's, which needs --force again.
    resume: (d) => [...SEARCH_TRAIN('0'), evaluatedSeed(join(d, 'e.csv')) === 0 ? '--resume' : '--force'],
    outputs: ['o.json'],
    killPoints: ['search.rows:2', 'train-fixed.step:3', 'checkpoint.file', 'checkpoint.switched:2'],
    leftovers: /\.tmp$|\.tmp\/|\.train-steps\/$/,
  },
  {
    name: 'train',
    // The old version: a finished run of another seed in the same DIR, replaced with --force.
    setup: async (d) => void (await wgnas([...TRAIN('1'), '--out', 't'], d)),
    args: () => [...TRAIN('0'), '--out', 't', '--force'],
    // --resume continues this run's checkpoint; a kill before --force discarded the old run's needs --force again.
    resume: (d) => [...TRAIN('0'), '--out', 't', checkpointSeed(join(d, 't/checkpoint')) === 0 ? '--resume' : '--force'],
    outputs: TRAIN_OUT.map((f) => `t/${f}`),
    killPoints: [
      'train.step:5',
      'checkpoint.file',
      'checkpoint.dir-renamed',
      'checkpoint.current.tmp-written',
      'checkpoint.switched:3',
      'weights.data.renamed',
      'weights.index.tmp-written',
    ],
    consistent: (d) => {
      if (!existsSync(join(d, 't/weights.json'))) return null;
      try {
        readWeights(join(d, 't/weights.json'));
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
    leftovers: /\.tmp$|\.tmp\//,
  },
  {
    name: 'export',
    setup: async (d) => void (await wgnas(['export', '--nb201', ARCH, '--seed', '1', '--out', 'm.onnx'], d)),
    args: () => ['export', '--nb201', ARCH, '--seed', '0', '--out', 'm.onnx'],
    outputs: ['m.onnx'],
    leftovers: /\.tmp$/,
  },
  {
    name: 'correlate',
    setup: async (d) =>
      void (await wgnas(
        ['correlate', '--sample', '6', '--proxies', 'params', '--batch', '8', '--seed', '1', '--out', 'c.json', ...CPU],
        d,
      )),
    args: () => ['correlate', '--sample', '6', '--proxies', 'params', '--batch', '8', '--out', 'c.json', ...CPU],
    outputs: ['c.json'],
    leftovers: /\.tmp$/,
  },
  {
    name: 'bench',
    setup: (d) => {
      writeFileSync(join(d, 'b.json'), '{"old": true}\n');
      writeFileSync(join(d, 'b.svg'), '<svg>old</svg>\n');
    },
    args: () => [
      'bench',
      'matmul',
      '--shapes',
      'tiny',
      '--repeats',
      '2',
      '--baselines',
      'none',
      '--json',
      'b.json',
      '--svg',
      'b.svg',
      ...CPU,
    ],
    outputs: ['b.json', 'b.svg'],
    noReference: true,
    completeNew: (name, b) => {
      const t = b.toString('utf8');
      if (name.endsWith('.svg')) return t.includes('<svg ') && t.trimEnd().endsWith('</svg>');
      try {
        return Array.isArray((JSON.parse(t) as { results?: unknown }).results);
      } catch {
        return false;
      }
    },
    leftovers: /\.tmp$/,
  },
  {
    name: 'data-fetch',
    // The old version: an earlier complete fetch, replaced with --force.
    setup: async (d) => void (await wgnas(FETCH(), d)),
    args: () => FETCH('force'),
    resume: () => FETCH('force'),
    outputs: [...Object.keys(expectedCifarNames()).map((f) => `root/cifar10/${f}`)],
    killPoints: ['fetch.unpacked', 'fetch.moved-aside'],
    // The folder as a whole: absent, or every member and the marker (the old or the new fetch).
    consistent: (d) => {
      const dir = join(d, 'root/cifar10');
      if (!existsSync(dir)) return null;
      const have = snapshot(dir);
      for (const [f, b] of expectedCifar) if (!have.get(f)?.equals(b)) return `root/cifar10/${f} is missing or differs`;
      if (!have.has('.complete.json')) return 'root/cifar10 has no .complete.json';
      return null;
    },
    completeNew: (name, b) => !!expectedCifar.get(name.replace(/^root\/cifar10\//, ''))?.equals(b),
    noReference: true,
    leftovers: /\.tmp|\.old-|\.partial$/,
  },
];

/** The seed a train checkpoint was saved with, or null when there is none. */
function checkpointSeed(dir: string): number | null {
  try {
    const current = readFileSync(join(dir, 'current'), 'utf8').trim();
    return (JSON.parse(readFileSync(join(dir, current, 'state.json'), 'utf8')) as { settings: { seed: number } }).settings.seed;
  } catch {
    return null;
  }
}

function expectedCifarNames(): Record<string, true> {
  return Object.fromEntries(
    [1, 2, 3, 4, 5]
      .map((i) => [`data_batch_${i}.bin`, true] as const)
      .concat([
        ['test_batch.bin', true],
        ['batches.meta.txt', true],
      ]),
  );
}

/** A CIFAR-10-shaped archive of `records` per batch, served slowly (so a kill can land mid-download). */
async function startMirror(): Promise<() => void> {
  const src = join(work, 'mirror-src');
  mkdirSync(join(src, 'cifar-10-batches-bin'), { recursive: true });
  const rec = (n: number, first: number) => {
    const b = Buffer.alloc(n * 3073);
    for (let i = 0; i < n; i++) {
      b[i * 3073] = (first + i) % 10;
      for (let p = 0; p < 3072; p++) b[i * 3073 + 1 + p] = ((first + i) * 7 + p * 13) & 255;
    }
    return b;
  };
  for (let i = 1; i <= 5; i++) writeFileSync(join(src, 'cifar-10-batches-bin', `data_batch_${i}.bin`), rec(60, i * 60));
  writeFileSync(join(src, 'cifar-10-batches-bin', 'test_batch.bin'), rec(40, 1000));
  writeFileSync(join(src, 'cifar-10-batches-bin', 'batches.meta.txt'), 'airplane\n');
  for (const f of readdirSync(join(src, 'cifar-10-batches-bin')))
    expectedCifar.set(f, readFileSync(join(src, 'cifar-10-batches-bin', f)));
  const file = join(work, 'cifar-10-binary.tar.gz');
  await create({ gzip: false, file, cwd: src }, ['cifar-10-batches-bin']);
  const archive = readFileSync(file);
  // `wgnas data fetch` knows the real release's size and MD5: the driver runs the same fetchDataset
  // with this archive's.
  fetchDriver = join(work, 'fetch-driver.mts');
  const md5 = createHash('md5').update(archive).digest('hex');
  const datasets = new URL('../src/data/datasets.ts', import.meta.url).pathname;
  writeFileSync(
    fetchDriver,
    `import { DATASETS, fetchDataset } from '${datasets}';\n` +
      `const [mirror, root, force] = process.argv.slice(2);\n` +
      `await fetchDataset({ ...DATASETS.cifar10, bytes: ${archive.length}, md5: '${md5}' }, { root, mirror, force: force === 'force' });\n`,
  );
  const server = createServer((req, res) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const body = archive.subarray(start);
    res.writeHead(start > 0 ? 206 : 200, { 'content-length': String(body.length) });
    let off = 0;
    const step = 64 * 1024;
    const tick = setInterval(() => {
      if (off >= body.length) {
        clearInterval(tick);
        res.end();
        return;
      }
      res.write(body.subarray(off, off + step));
      off += step;
    }, 40);
    res.on('close', () => clearInterval(tick));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return () => server.close();
}

interface Finding {
  scenario: string;
  trial: string;
  what: string;
}

async function audit(s: Scenario, findings: Finding[]): Promise<void> {
  const root = join(work, s.name);
  mkdirSync(root, { recursive: true });
  const oldDir = join(root, 'old');
  mkdirSync(oldDir);
  await s.setup(oldDir);
  const old = snapshot(oldDir);
  const refDir = join(root, 'ref');
  cpSync(oldDir, refDir, { recursive: true });
  const ref = await wgnas(s.args(refDir), refDir);
  if (ref.code !== 0) throw new Error(`${s.name}: the reference run failed: ${ref.stderr.trim().split('\n').pop()}`);
  const refFiles = snapshot(refDir);
  const isNew = (name: string, b: Buffer) =>
    s.completeNew ? s.completeNew(name, b) : refFiles.has(name) && normal(name, refFiles.get(name)!) === normal(name, b);
  const plans: Array<{ label: string; killAt?: string; killAfterMs?: number }> = [
    ...(s.killPoints ?? []).map((p) => ({ label: p, killAt: p })),
    ...Array.from({ length: TRIALS }, (_, i) => {
      const ms = Math.round(ref.ms * (0.1 + (0.9 * (i + Math.random())) / TRIALS));
      return { label: `after ${ms} ms`, killAfterMs: ms };
    }),
  ];
  let killed = 0;
  for (const [i, plan] of plans.entries()) {
    const dir = join(root, `trial-${i}`);
    cpSync(oldDir, dir, { recursive: true });
    const r = await wgnas(s.args(dir), dir, plan);
    const tag = `${plan.label}${r.signal ? '' : ` (not killed: exit ${r.code})`}`;
    if (r.signal === 'SIGKILL') killed++;
    else if (plan.killAt) findings.push({ scenario: s.name, trial: tag, what: `kill point ${plan.killAt} never reached` });
    const now = snapshot(dir);
    for (const out of s.outputs) {
      const b = now.get(out);
      if (b === undefined) continue;
      const o = old.get(out);
      if (o && o.equals(b)) continue;
      if (isNew(out, b)) continue;
      findings.push({
        scenario: s.name,
        trial: tag,
        what: `${out} is torn (${b.length} bytes, neither the old nor the new version)`,
      });
    }
    const bad = s.consistent?.(dir);
    if (bad) findings.push({ scenario: s.name, trial: tag, what: `inconsistent: ${bad}` });
    {
      const again = s.resume?.(dir) ?? s.args(dir);
      const fin = await wgnas(again, dir);
      if (fin.code !== 0) {
        findings.push({ scenario: s.name, trial: tag, what: `resume failed: ${fin.stderr.trim().split('\n').pop()}` });
        continue;
      }
      const end = snapshot(dir);
      for (const out of s.outputs) {
        const b = end.get(out);
        if (!b) findings.push({ scenario: s.name, trial: tag, what: `after the resume ${out} is missing` });
        else if (!isNew(out, b) || (!s.noReference && normal(out, b) !== normal(out, refFiles.get(out)!)))
          findings.push({ scenario: s.name, trial: tag, what: `after the resume ${out} differs from the uninterrupted run's` });
      }
      const bad2 = s.consistent?.(dir);
      if (bad2) findings.push({ scenario: s.name, trial: tag, what: `after the resume, inconsistent: ${bad2}` });
      const left = [...walkNames(dir)].filter((n) => s.leftovers?.test(n));
      if (left.length) findings.push({ scenario: s.name, trial: tag, what: `after the resume, leftovers: ${left.join(', ')}` });
    }
  }
  console.log(`${s.name}: ${plans.length} trials, ${killed} killed, reference ${(ref.ms / 1000).toFixed(1)} s`);
}

function* walkNames(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    yield relative(dir, p) + (e.isDirectory() ? '/' : '');
    if (e.isDirectory() && statSync(p).isDirectory()) for (const n of walkNames(p)) yield join(relative(dir, p), n);
  }
}

const only = opt.only?.split(',');
const chosen = scenarios.filter((s) => !only || only.includes(s.name));
let stopMirror = () => {};
if (chosen.some((s) => s.name === 'data-fetch')) stopMirror = await startMirror();
if (chosen.some((s) => s.name.startsWith('search-cells'))) {
  spaceFile = join(work, 'space.json');
  const r = await wgnas([...EVOLVE_SMALL, '--out', spaceFile], work);
  if (r.code !== 0) throw new Error(`cannot make the space file: ${r.stderr}`);
}
const findings: Finding[] = [];
for (const s of chosen) await audit(s, findings);
stopMirror();
for (const f of findings) console.log(`FINDING ${f.scenario} [${f.trial}]: ${f.what}`);
console.log(findings.length ? `${findings.length} finding(s)` : 'no findings');
if (!opt.keep) rmSync(work, { recursive: true, force: true });
else console.log(`kept ${work}`);
process.exitCode = findings.length ? 1 : 0;
