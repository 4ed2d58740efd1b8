// Huge numeric values, run for real (CPU, tiny shapes) under a timeout: crash, hang without a word, or running.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The checkout whose bin/wgnas.js runs: AUDIT_REPO, else the one holding this folder.
const REPO = process.env.AUDIT_REPO ?? join(import.meta.dirname, '..', '..', '..', '..');
const TABLE = join(REPO, 'data/latency/proxylessnas_mobile_trim.yaml');
const root = mkdtempSync(join(tmpdir(), 'wgnas-huge-'));
const out = join(root, 'out');
mkdirSync(out);
const H = '1000000000000';
const tiny = [
  '--latency-table',
  TABLE,
  '--target-ms',
  '40',
  '--warmup',
  '1',
  '--steps',
  '2',
  '--batch',
  '4',
  '--val-batch',
  '4',
  '--train',
  '64',
  '--val',
  '32',
  '--device',
  'cpu',
  '--cpu-threads',
  '1',
];
const set = (argv, flag, v) => {
  const i = argv.indexOf(flag);
  return i >= 0 ? [...argv.slice(0, i), flag, v, ...argv.slice(i + 2)] : [...argv, flag, v];
};
const evo = [
  'evolve-space',
  '--budget-madds',
  '3M',
  '--population',
  '2',
  '--k',
  '2',
  '--tournament',
  '2',
  '--iterations',
  '1',
  '--steps',
  '1',
  '--warmup',
  '0',
  '--batch',
  '4',
  '--train',
  '64',
  '--val',
  '32',
  '--device',
  'cpu',
  '--cpu-threads',
  '1',
];
const cases = [];
for (const f of ['--steps', '--warmup', '--arch-every', '--log-every', '--arch-warmup-steps', '--epochs'])
  cases.push(['proxyless', f, set(['proxyless', ...tiny], f, H)]);
cases.push([
  'proxyless',
  '--checkpoint-every',
  [...['proxyless', ...tiny], '--checkpoint', join(out, 'ck'), '--checkpoint-every', H],
]);
cases.push(['proxyless', '--train-derived', [...['proxyless', ...tiny], '--train-derived', H]]);
cases.push(['proxyless', '--lr', set(['proxyless', ...tiny], '--lr', '1e12')]);
cases.push(['proxyless', '--bn-eps', set(['proxyless', ...tiny], '--bn-eps', '1e12')]);
for (const f of ['--iterations', '--steps', '--warmup', '--min-evals', '--replace-every', '--guide'])
  cases.push(['evolve-space', f, set(evo, f, H)]);
cases.push(['evolve-space', '--lr', set(evo, '--lr', '1e12')]);
cases.push([
  'search',
  '--train-steps',
  [
    'search',
    '--space-file',
    join(root, 'hand.json'),
    '--budget-madds',
    '3M',
    '--budget',
    '2',
    '--batch',
    '4',
    '--device',
    'cpu',
    '--cpu-threads',
    '1',
    '--train-steps',
    H,
  ],
]);
cases.push([
  'profile',
  '--limit',
  ['profile', '--out', join(out, 't.yaml'), '--device', 'cpu', '--repeats', '1', '--warmup', '0', '--limit', H],
]);
const r0 = spawnSync('node', [join(REPO, 'bin/wgnas.js'), 'evolve-space', '--hand-designed', '--out', join(root, 'hand.json')], {
  encoding: 'utf8',
});
if (r0.status !== 0) throw new Error(r0.stderr);
const only = process.env.ONLY;
const recs = [];
for (const [cmd, flag, argv] of cases) {
  if (only && !flag.includes(only)) continue;
  for (const f of readdirSync(out)) rmSync(join(out, f), { recursive: true, force: true });
  const t0 = Date.now();
  const r = spawnSync('timeout', ['40', 'node', join(REPO, 'bin/wgnas.js'), ...argv], { cwd: REPO, encoding: 'utf8' });
  const ms = Date.now() - t0;
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  const rec = {
    cmd,
    flag,
    value: argv[argv.indexOf(flag) + 1],
    argv,
    code: r.status,
    errLines: lines.length,
    stack: /\n\s+at /.test(r.stderr),
    ms,
    err: r.stderr.slice(-1200),
    out: r.stdout.slice(-600),
  };
  recs.push(rec);
  console.log(
    `${cmd} ${flag} ${rec.value}: code=${r.status} lines=${lines.length} stack=${rec.stack} ${ms}ms\n   first: ${lines[0]?.slice(0, 200)}\n   last: ${lines.at(-1)?.slice(0, 300)}\n   stdout: ${r.stdout.trim().split('\n').at(-1)?.slice(0, 200)}`,
  );
}
writeFileSync(process.env.AUDIT_OUT ?? join(tmpdir(), 'wgnas-huge-audit.json'), JSON.stringify(recs, null, 1));
rmSync(root, { recursive: true, force: true });
