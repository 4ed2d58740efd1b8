// Subprocess audit of the WGNAS_* variables: each bad value against a command that reads it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The checkout whose bin/wgnas.js runs: AUDIT_REPO, else the one holding this folder.
const REPO = process.env.AUDIT_REPO ?? join(import.meta.dirname, '..', '..', '..', '..');
const A = '|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|';
const root = mkdtempSync(join(tmpdir(), 'wgnas-envaudit-'));
const out = join(root, 'out');
mkdirSync(out);
const aFile = join(root, 'afile');
writeFileSync(aFile, 'x');
const garbage = join(root, 'garbage.node');
writeFileSync(garbage, 'not an addon');
const emptyDir = join(root, 'emptydir');
mkdirSync(emptyDir);
const gpuScore = [
  'score',
  '--arch',
  A,
  '--device',
  'gpu',
  '--channels',
  '4',
  '--cells-per-stage',
  '1',
  '--batch',
  '2',
  '--proxies',
  'naswot',
  '--quiet',
  '--out',
  join(out, 's.csv'),
];
const gpuGroup = [
  'score',
  '--arch',
  A,
  '--arch',
  A.replace('nor_conv_3x3~2', 'none~2'),
  '--device',
  'gpu',
  '--channels',
  '4',
  '--cells-per-stage',
  '1',
  '--batch',
  '2',
  '--proxies',
  'naswot',
  '--group',
  'auto',
  '--quiet',
  '--out',
  join(out, 's.csv'),
];
const cpuScore = [
  'score',
  '--arch',
  A,
  '--device',
  'cpu',
  '--channels',
  '4',
  '--cells-per-stage',
  '1',
  '--batch',
  '2',
  '--proxies',
  'naswot',
  '--quiet',
  '--out',
  join(out, 's.csv'),
];
const cases = [];
const add = (name, values, argv) => values.forEach((v) => cases.push({ name, value: v, argv }));
add('WGNAS_CPU_THREADS', ['0', '-1', 'abc', '1.5', '1e12', '2000'], cpuScore);
add('WGNAS_CONV_CORE', ['fast', 'LEGACY'], gpuScore);
add('WGNAS_BN_WG', ['12', 'abc', '-64'], gpuScore);
add('WGNAS_BN_PLAN', ['two', 'Auto'], gpuScore);
add('WGNAS_F16', ['true', 'yes', '2'], gpuScore);
add('WGNAS_GPU_MEMORY_BYTES', ['abc', '8G', '-1', '0'], gpuGroup);
add('WGNAS_OVERRIDES', ['pipelines', 'yes'], gpuScore);
add('WGNAS_DAWN_STDERR', ['RAW', 'yes'], gpuScore);
add('WGNAS_WARN_LEAKS', ['yes', 'true'], gpuScore);
add('WGNAS_SHADER_DIR', [join(root, 'nope'), aFile, emptyDir], gpuScore);
add('WGNAS_ADAPTER', ['no-such-adapter'], gpuScore);
add('WGNAS_BACKEND', ['bogus'], gpuScore);
add('WGNAS_DAWN_FLAGS', ['garbage;;x=y'], gpuScore);
add('WGNAS_NATIVE_PATH', [join(root, 'nope.node'), emptyDir, garbage], cpuScore);
add('WGNAS_DATA_DIR', [join(root, 'nope'), aFile], cpuScore);
add(
  'WGNAS_SHARED_DATA_DIR',
  [join(root, 'nope'), aFile],
  [
    'score',
    '--sample',
    '2',
    '--device',
    'cpu',
    '--channels',
    '4',
    '--cells-per-stage',
    '1',
    '--batch',
    '2',
    '--proxies',
    'naswot',
    '--quiet',
  ],
);
add(
  'WGNAS_CACHE_DIR',
  [aFile, '/proc/self/x', join(aFile, 'sub')],
  ['data', 'fetch', 'cifar10', '--mirror', 'http://127.0.0.1:1/'],
);
add('WGNAS_CACHE_DIR', [aFile], ['bench', 'matmul', '--shapes', 'tiny', '--baselines', 'none', '--autotune', '--repeats', '1']);
add(
  'WGNAS_FETCH_IDLE_TIMEOUT_MS',
  ['abc', '-5', '0'],
  ['data', 'fetch', 'cifar10', '--mirror', 'http://127.0.0.1:1/', '--dir', join(root, 'fetchdir')],
);
add('WGNAS_QUEUE_LOCK_MS', ['abc', '-5'], ['worker', '--redis', 'redis://127.0.0.1:1']);
add('WGNAS_QUEUE_HEARTBEAT_MS', ['abc'], ['worker', '--redis', 'redis://127.0.0.1:1']);
add('WGNAS_QUEUE_OUTAGE_MS', ['abc'], ['queue', 'status', '--redis', 'redis://127.0.0.1:1']);
add(
  'WGNAS_SGMAT_TILE',
  ['3', 'axb', '9x9'],
  ['bench', 'matmul-sgmat', '--shapes', 'tiny', '--baselines', 'none', '--repeats', '1'],
);
add(
  'WGNAS_TARGET_BUNDLES',
  [join(root, 'nope')],
  ['profile', '--target', 'ssh://127.0.0.1:1', '--out', join(out, 't.yaml'), '--limit', '1'],
);
const only = process.env.ONLY?.split(',');
const recs = [];
for (const c of cases) {
  if (only && !only.includes(c.name)) continue;
  for (const f of readdirSync(out)) rmSync(join(out, f), { recursive: true, force: true });
  const t0 = Date.now();
  const r = spawnSync('timeout', ['60', 'node', join(REPO, 'bin/wgnas.js'), ...c.argv], {
    cwd: REPO,
    env: { ...process.env, [c.name]: c.value },
    encoding: 'utf8',
  });
  const ms = Date.now() - t0;
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  const rec = {
    cmd: c.argv[0],
    mode: 'env',
    flag: c.name,
    category: 'env',
    value: c.value,
    argv: c.argv,
    code: r.status,
    errLines: lines.length,
    firstLine: (lines.find((l) => !/^\s+at /.test(l) && !l.startsWith('scoring')) ?? '').slice(0, 300),
    allErr: r.stderr.slice(0, 1500),
    stack: /\n\s+at /.test(r.stderr),
    reached: false,
    hang: r.status === 124,
    wrote: readdirSync(out),
    stdout: r.stdout.length,
    namesIt: r.stderr.includes(c.name),
    expect: 'refuse',
    ms,
  };
  recs.push(rec);
  console.log(
    `${c.name}=${JSON.stringify(c.value)} ${c.argv[0]}: code=${rec.code} lines=${rec.errLines} stack=${rec.stack} wrote=${rec.wrote} names=${rec.namesIt} ${ms}ms :: ${rec.firstLine.slice(0, 220)}`,
  );
}
writeFileSync(process.env.AUDIT_OUT ?? join(tmpdir(), 'wgnas-env-audit.json'), JSON.stringify(recs, null, 1));
rmSync(root, { recursive: true, force: true });
