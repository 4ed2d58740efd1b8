/**
 * The variables whose readers fall back to a default on a value they cannot use (WGNAS_F16=yes,
 * WGNAS_GPU_MEMORY_BYTES=8G, a data root that is a file, ...): refused by the CLI in one line naming
 * the variable, before any work (the GPU and the addon are mocked to fail loudly, as in
 * bad-input.test.ts), where the run would otherwise go on with the default, silently. Dawn's flags
 * and the addon's path, which only Dawn and the loader can judge, are named in their failure.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { checkEnvironmentValues } from '../../src/cli/environment.js';
import { wgnasChild } from '../helpers/child.js';
import { ARCH, NATIVE_REACHED, refusalProblems, wgnasInProcess } from '../helpers/cli.js';

vi.mock('../../src/gpu/index.js', async (orig) =>
  (await import('../helpers/refusing-mocks.js')).refusingGpu(await orig<typeof import('../../src/gpu/index.js')>()),
);
vi.mock('../../src/native/binding.js', async (orig) =>
  (await import('../helpers/refusing-mocks.js')).refusingNative(await orig<typeof import('../../src/native/binding.js')>()),
);

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-env-values-'));
const aFile = join(tmp, 'a-file');
writeFileSync(aFile, 'x');
const emptyDir = join(tmp, 'empty');
mkdirSync(emptyDir);
const OUT = join(tmp, 'scores.csv');
const SCORE = ['score', '--arch', ARCH, '--device', 'cpu', '--out', OUT];

const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** `wgnas score` in-process with `name=value` set. */
async function scoreWith(name: string, value: string) {
  process.env[name] = value;
  try {
    return await wgnasInProcess(SCORE);
  } finally {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
}

describe('variables read with a fallback', () => {
  it('accepts the values their readers use, and unset or empty ones', () => {
    for (const env of [
      {},
      { WGNAS_F16: '1', WGNAS_WARN_LEAKS: '0', WGNAS_OVERRIDES: 'pipeline', WGNAS_DAWN_STDERR: 'raw' },
      { WGNAS_F16: '0', WGNAS_WARN_LEAKS: '1' },
      { WGNAS_GPU_MEMORY_BYTES: String(2 ** 40), WGNAS_QUEUE_LOCK_MS: '2000', WGNAS_QUEUE_HEARTBEAT_MS: '500' },
      { WGNAS_QUEUE_OUTAGE_MS: '300000', WGNAS_FETCH_IDLE_TIMEOUT_MS: '150', WGNAS_SGMAT_TILE: '2x4' },
      { WGNAS_F16: '', WGNAS_GPU_MEMORY_BYTES: '', WGNAS_SHADER_DIR: '' },
      { WGNAS_SHADER_DIR: join(import.meta.dirname, '..', '..', 'shaders') },
    ])
      expect(() => checkEnvironmentValues(env)).not.toThrow();
  });

  it('a value its reader would ignore: one line naming the variable, exit 2, before any work', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['WGNAS_F16', 'yes', /^wgnas score: WGNAS_F16 must be '1' or '0' \(or unset\), got 'yes'\n$/],
      ['WGNAS_F16', 'true', /WGNAS_F16 must be '1' or '0' \(or unset\), got 'true'/],
      ['WGNAS_WARN_LEAKS', 'on', /WGNAS_WARN_LEAKS must be '1' or '0' \(or unset\), got 'on'/],
      ['WGNAS_OVERRIDES', 'pipelines', /WGNAS_OVERRIDES must be 'pipeline' \(or unset\), got 'pipelines'/],
      ['WGNAS_DAWN_STDERR', 'RAW', /WGNAS_DAWN_STDERR must be 'raw' \(or unset\), got 'RAW'/],
      ['WGNAS_GPU_MEMORY_BYTES', '8G', /^wgnas score: WGNAS_GPU_MEMORY_BYTES must be a positive number of bytes, got '8G'\n$/],
      ['WGNAS_GPU_MEMORY_BYTES', '-1', /WGNAS_GPU_MEMORY_BYTES must be a positive number of bytes, got '-1'/],
      ['WGNAS_GPU_MEMORY_BYTES', '0', /WGNAS_GPU_MEMORY_BYTES must be a positive number of bytes, got '0'/],
      ['WGNAS_QUEUE_LOCK_MS', 'abc', /WGNAS_QUEUE_LOCK_MS must be a positive number of milliseconds, got 'abc'/],
      // Longer than Node's longest timer, which would fire at once.
      ['WGNAS_QUEUE_HEARTBEAT_MS', '1e12', /WGNAS_QUEUE_HEARTBEAT_MS must be at most 2147483647 milliseconds, got '1e12'/],
      ['WGNAS_QUEUE_OUTAGE_MS', 'NaN', /WGNAS_QUEUE_OUTAGE_MS must be a positive number of milliseconds, got 'NaN'/],
      ['WGNAS_FETCH_IDLE_TIMEOUT_MS', '30s', /WGNAS_FETCH_IDLE_TIMEOUT_MS must be a positive number of milliseconds, got '30s'/],
      ['WGNAS_SGMAT_TILE', '3', /WGNAS_SGMAT_TILE must be TMxTN, result fragments per subgroup such as 2x4, got '3'/],
      // The A/B switches (checkAbEnvironment) exit with the same code.
      ['WGNAS_CONV_CORE', 'fast', /^wgnas score: [^\n]*WGNAS_CONV_CORE[^\n]*'fast'[^\n]*\n$/],
      ['WGNAS_BN_WG', '100', /^wgnas score: [^\n]*WGNAS_BN_WG[^\n]*\n$/],
      ['WGNAS_BN_PLAN', 'both', /^wgnas score: [^\n]*WGNAS_BN_PLAN[^\n]*'both'[^\n]*\n$/],
    ];
    const failures: string[] = [];
    for (const [name, value, match] of cases) {
      const r = await scoreWith(name, value);
      const problems = [...refusalProblems(r, 2, match), existsSync(OUT) && 'wrote --out'].filter(Boolean);
      if (problems.length) failures.push(`${name}=${value}: ${problems.join('; ')}\n  ${r.err.trim()}`);
    }
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it('a stale WGNAS_SHADER_DIR stops a run that may compile a kernel, not a CPU run', async () => {
    const stale = join(tmp, 'nope');
    const cases: Array<[string, string, RegExp]> = [
      [
        'gpu',
        emptyDir,
        /^wgnas score: WGNAS_SHADER_DIR '[^']*empty' holds no elementwise\.wgsl: name the package's shaders\/ folder, or unset it\n$/,
      ],
      ['auto', stale, /^wgnas score: WGNAS_SHADER_DIR '[^']*nope' holds no elementwise\.wgsl/],
    ];
    for (const [device, dir, match] of cases) {
      process.env.WGNAS_SHADER_DIR = dir;
      try {
        const r = await wgnasInProcess(['score', '--arch', ARCH, '--device', device, '--out', OUT]);
        expect([...refusalProblems(r, 2, match), existsSync(OUT) && 'wrote --out'].filter(Boolean), device).toEqual([]);
      } finally {
        delete process.env.WGNAS_SHADER_DIR;
      }
    }
    // --device cpu compiles no kernel: the run goes on to the (mocked) addon; `data list` has no device.
    expect((await scoreWith('WGNAS_SHADER_DIR', stale)).err).toContain(NATIVE_REACHED);
    process.env.WGNAS_SHADER_DIR = stale;
    try {
      expect((await wgnasInProcess(['data', 'list'])).err).not.toContain('WGNAS_SHADER_DIR');
    } finally {
      delete process.env.WGNAS_SHADER_DIR;
    }
    expect(() => checkEnvironmentValues({ WGNAS_SHADER_DIR: stale }, { gpu: false })).not.toThrow();
    expect(() => checkEnvironmentValues({ WGNAS_SHADER_DIR: stale })).toThrow(/holds no elementwise/);
  });

  it('a data root variable naming a missing folder or a file: one line naming it, before any work', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['WGNAS_DATA_DIR', aFile, /^wgnas score: \$WGNAS_DATA_DIR must name a folder; [^ ]*a-file is not one\n$/],
      ['WGNAS_DATA_DIR', join(tmp, 'nope'), /data directory [^ ]*nope \(from \$WGNAS_DATA_DIR\) does not exist/],
      [
        'WGNAS_SHARED_DATA_DIR',
        aFile,
        /^wgnas score: \$WGNAS_SHARED_DATA_DIR must name a folder \(or 'none'\); [^ ]*a-file is not one\n$/,
      ],
      ['WGNAS_SHARED_DATA_DIR', join(tmp, 'nope'), /data directory [^ ]*nope \(from \$WGNAS_SHARED_DATA_DIR\) does not exist/],
    ];
    const failures: string[] = [];
    for (const [name, value, match] of cases) {
      const r = await scoreWith(name, value);
      const problems = refusalProblems(r, 1, match);
      if (problems.length) failures.push(`${name}=${value}: ${problems.join('; ')}\n  ${r.err.trim()}`);
    }
    expect(failures, failures.join('\n')).toEqual([]);
    // The values the readers use go on to the (mocked) work.
    for (const [name, value] of [
      ['WGNAS_F16', '0'],
      ['WGNAS_GPU_MEMORY_BYTES', '1e12'],
      ['WGNAS_SHARED_DATA_DIR', 'none'],
    ] as const)
      expect((await scoreWith(name, value)).err, `${name}=${value}`).toContain(NATIVE_REACHED);
  });
});

describe('variables only Dawn or the loader can judge', () => {
  const child = async (env: Record<string, string>, args: string[]) => {
    Object.assign(process.env, env);
    try {
      return await wgnasChild(args, { timeoutMs: 60_000 });
    } finally {
      for (const k of Object.keys(env)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  };

  it('a Dawn flag that leaves no adapter is named in the one line saying there is none', async () => {
    const r = await child({ WGNAS_BACKEND: 'bogus' }, ['score', '--arch', ARCH, '--device', 'gpu', '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^wgnas score: .*Dawn could not enumerate adapters with WGNAS_BACKEND='bogus': /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('an addon at WGNAS_NATIVE_PATH that does not load is named with the variable', async () => {
    const r = await child({ WGNAS_NATIVE_PATH: aFile }, ['score', '--arch', ARCH, '--device', 'cpu', '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^wgnas score: .*a-file \(from WGNAS_NATIVE_PATH\) failed to load: /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
