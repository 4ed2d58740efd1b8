/**
 * The environment variables wgnas reads, for the Environment section of docs/cli.md (a test checks
 * that src/ reads no other, and that each one listed is still read).
 */

export interface EnvVar {
  name: string;
  help: string;
}

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkAbEnvironment } from '../util/ab-env.js';
import { orList, quote, UsageError } from './errors.js';

/** The CPU backend's thread count where --cpu-threads is not given (specs/common.ts cpuThreads). */
export const CPU_THREADS_ENV = 'WGNAS_CPU_THREADS';

export const ENVIRONMENT: readonly EnvVar[] = [
  {
    name: 'WGNAS_DATA_DIR',
    help: 'a data root searched first, before the user cache (it must exist); `wgnas data list` shows what it holds',
  },
  {
    name: 'WGNAS_CACHE_DIR',
    help: "the user cache: `wgnas data fetch` writes DIR/data, `wgnas bench --autotune` DIR/autotune.json, a measured bench peak DIR/peaks.json (default: $XDG_CACHE_HOME/wgnas, else ~/.cache/wgnas). A hardware GPU's tuned tiles set where split-K cuts its sums: its results and checkpoints record them, and a resume with other ones is refused",
  },
  { name: 'XDG_CACHE_HOME', help: 'the user cache is $XDG_CACHE_HOME/wgnas when WGNAS_CACHE_DIR is not set' },
  {
    name: 'WGNAS_SHARED_DATA_DIR',
    help: "replaces ../shared/data, the data root beside a development checkout: a folder, or 'none' for no such root (a clone without it)",
  },
  {
    name: 'WGNAS_FETCH_IDLE_TIMEOUT_MS',
    help: '`wgnas data fetch`: how long an attempt may receive nothing before it is retried (30000)',
  },
  { name: 'WGNAS_NATIVE_PATH', help: "the native addon (wgnas_native.node) to load instead of the package's build/Release one" },
  {
    name: 'WGNAS_SKIP_NATIVE',
    help: '`npm install wgnas` does not build the addon (the CPU backend and the latency profiler are then unavailable)',
  },
  {
    name: 'CXX, CPATH',
    help: "`npm install wgnas` builds the addon only when it finds a C++ compiler ($CXX, else c++) and oneDNN's headers (/usr/include, /usr/local/include, $CPATH)",
  },
  { name: 'WGNAS_SHADER_DIR', help: "the WGSL shaders' folder (default: the package's shaders/)" },
  {
    name: 'WGNAS_ADAPTER',
    help: "Dawn's adapter=NAME: the GPU adapter to use (a name that matches none makes Dawn list the adapters). A GPU run's results and checkpoints record whether it was a hardware or a software adapter (their kernels differ): a resume on the other kind is refused",
  },
  { name: 'WGNAS_BACKEND', help: "Dawn's backend=NAME: vulkan, opengl, null, ..." },
  {
    name: 'WGNAS_DAWN_FLAGS',
    help: "more Dawn flags, ';'-separated, e.g. enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia (shader-f16 on NVIDIA)",
  },
  {
    name: 'WGNAS_DAWN_STDERR',
    help: "'raw': leave stderr alone (Dawn's start-up warnings, such as lavapipe's two 'artificially reduced' limit lines, are otherwise held back, shown by --verbose; the native addon holds them back: without it they pass, harmless)",
  },
  {
    name: 'WGNAS_F16',
    help: "'1': every GPU matmul and forward convolution (the proxies' too, but SynFlow's and Zen's, which stay f32: their magnitudes and differences are beyond f16) reads f16-rounded operands, with f32 sums, where the adapter has shader-f16 (for benchmarks; without it, one warning line and f32)",
  },
  {
    name: 'WGNAS_CONV_CORE',
    help: "'legacy': the hand-written convolution kernels instead of the generated ones ('program', the default), for A/B runs; depthwise convolutions too, on hardware adapters (software ones run the hand-written depthwise kernel either way). Recorded with a hardware GPU's results and checkpoints: a resume with the other core is refused",
  },
  {
    name: 'WGNAS_BN_WG',
    help: "64, 128 or 256: the batch norm statistics kernels' workgroup width, for A/B runs (default 256 on a GPU, 64 on a software adapter; 64 is the plan from before the width was chosen per adapter). The width sets the statistics' summation order, so scores differ in the last bits (recorded with GPU results and checkpoints: a resume with another width is refused)",
  },
  {
    name: 'WGNAS_BN_PLAN',
    help: "'auto' (default), 'single' or 'split': how training-mode batch norm is dispatched on a GPU, for A/B runs: 'auto' splits a channel into statistics chunks by shape, 'single' keeps every channel of up to 16384 elements in one kernel, 'split' always runs chunks then a per-plane pass. Wider than 64 (WGNAS_BN_WG) each plan sums in its own order, so scores differ in the last bits (recorded like the width); at 64 all three give the same",
  },
  {
    name: 'WGNAS_OVERRIDES',
    help: "'pipeline': pass tile constants as pipeline overrides instead of compiling them into each kernel (A/B runs)",
  },
  {
    name: 'WGNAS_GPU_MEMORY_BYTES',
    help: "`--group auto`: the GPU memory the groups may use (default twice the adapter's largest buffer, at most 16 GiB; WebGPU does not report memory)",
  },
  { name: 'WGNAS_SGMAT_TILE', help: '`wgnas bench matmul-sgmat`: the tile, TMxTN result fragments per subgroup (e.g. 2x2)' },
  { name: 'WGNAS_TARGET_BUNDLES', help: '`wgnas profile --target`: where the target profilers are built (default build/target)' },
  {
    name: 'WGNAS_TARGET_ARCH, WGNAS_TARGET_EMULATOR',
    help: "in the target's login environment (`profile --target`): the architecture to report instead of uname -m, and a command to run the profiler under (e.g. qemu-aarch64-static); under an emulator, qemu-user's QEMU_LD_PREFIX (the sysroot of the target's C library) defaults to /usr/ARCH-linux-gnu where that exists (Debian's libc6-arm64-cross)",
  },
  {
    name: 'WGNAS_QUEUE_LOCK_MS',
    help: "a worker's job lock (30000): a killed worker's job goes to another after it expires",
  },
  { name: 'WGNAS_QUEUE_HEARTBEAT_MS', help: "a worker's heartbeat period (2000); it counts as alive for 3 periods after a beat" },
  { name: 'WGNAS_QUEUE_OUTAGE_MS', help: 'how long a submitter rides out a Redis that went away before it stops (300000)' },
  {
    name: 'WGNAS_WARN_LEAKS',
    help: "'1': a process warning (TensorLeakWarning) each time tensors dropped without dispose() are garbage-collected, naming their shapes (read when a backend opens; `backend.memory().leakedTensors` counts them regardless)",
  },
  { name: 'WGNAS_DEBUG', help: 'any value: print the stack of every error, not only of a bug under --verbose' },
  {
    name: CPU_THREADS_ENV,
    help: "the CPU backend's threads where --cpu-threads is not given (the flag wins; an integer 1..1024, refused in one line naming the variable), for every command that takes --cpu-threads, --redis runs included, where it binds the workers as the flag does. Default: every core this process may use, which pays on an idle machine. Set 1 where the cores are busy with other work: on a loaded 2-core VM 2 threads scored no faster than 1 and took 8% more CPU time (docs/results.md), a server under load 15%; score --procs N shares the cores among its processes itself. Results record the count, and a resume needs the same",
  },
  {
    name: 'GOMP_SPINCOUNT, OMP_WAIT_POLICY',
    help: "OpenMP's (the CPU backend's threads): unless either is set, wgnas sets GOMP_SPINCOUNT=1000, as long spins stall a busy machine",
  },
];

/**
 * Test hooks, what wgnas passes its own child processes, and what npm passes the install hook
 * (npm_command: 'rebuild' under `npm rebuild wgnas`): not for users (docs/reliability.md names the kill hook).
 */
export const INTERNAL_ENVIRONMENT: readonly string[] = [
  'WGNAS_TEST_KILL_AT',
  'WGNAS_TEST_CODE_VERSION',
  'WGNAS_TEST_DEVICE_IDENTITY',
  'WGNAS_TEST_JOB_DELAY_MS',
  'WGNAS_TEST_MEMORY_BYTES',
  'WGNAS_SCORE_WORKER',
  'npm_command',
];

/** Each name a row lists (a row may list several, comma-separated). */
export const envNames = (v: EnvVar): string[] => v.name.split(',').map((s) => s.trim());

/** The Environment section of docs/cli.md. */
export function formatEnvironmentDocs(): string {
  return [
    '## Environment',
    '',
    'Variables wgnas reads; none is needed. A value wgnas can tell is wrong (not one a variable takes, a folder that is not there) is refused before any work, in one line naming the variable; WGNAS_SHADER_DIR only where the run may compile a kernel (not with `--device cpu`). (The test suite has its own hooks, `WGNAS_TEST_*`.)',
    '',
    '| variable | what it does |',
    '|---|---|',
    ...ENVIRONMENT.map(
      (v) =>
        `| ${envNames(v)
          .map((n) => `\`${n}\``)
          .join(', ')} | ${v.help.replace(/\|/g, '\\|')} |`,
    ),
    '',
  ].join('\n');
}

/** Node's longest timer: a longer one fires at once (TimeoutOverflowWarning), so a longer period is no period. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A positive number (as its reader takes it: Number(value) > 0), at most `max`. */
const positive =
  (unit: string, max = Infinity) =>
  (v: string): string | undefined => {
    const n = Number(v);
    if (!(Number.isFinite(n) && n > 0)) return `must be a positive number of ${unit}`;
    return n > max ? `must be at most ${max} ${unit}` : undefined;
  };
const oneOfValues =
  (...ok: string[]) =>
  (v: string): string | undefined =>
    ok.includes(v) ? undefined : `must be ${orList(ok.map((o) => `'${o}'`))} (or unset)`;

/**
 * What each variable read with a fallback accepts: its reader would take any other value for the
 * default, silently (WGNAS_F16=yes computing in f32, WGNAS_GPU_MEMORY_BYTES=8G sizing groups by the
 * default budget). Empty counts as unset, as for the readers.
 */
const VALUE_CHECKS: Readonly<Record<string, (v: string) => string | undefined>> = {
  WGNAS_F16: oneOfValues('1', '0'),
  WGNAS_WARN_LEAKS: oneOfValues('1', '0'),
  WGNAS_OVERRIDES: oneOfValues('pipeline'),
  WGNAS_DAWN_STDERR: oneOfValues('raw'),
  WGNAS_GPU_MEMORY_BYTES: positive('bytes'),
  WGNAS_QUEUE_LOCK_MS: positive('milliseconds', MAX_TIMER_MS),
  WGNAS_QUEUE_HEARTBEAT_MS: positive('milliseconds', MAX_TIMER_MS),
  WGNAS_QUEUE_OUTAGE_MS: positive('milliseconds', MAX_TIMER_MS),
  WGNAS_FETCH_IDLE_TIMEOUT_MS: positive('milliseconds', MAX_TIMER_MS),
  WGNAS_SGMAT_TILE: (v) => (/^[1-9]x[1-9]$/.test(v) ? undefined : 'must be TMxTN, result fragments per subgroup such as 2x4'),
  // Read when the first kernel compiles, after the device opened and the run said what it does.
  WGNAS_SHADER_DIR: (v) =>
    existsSync(join(resolve(v), 'elementwise.wgsl'))
      ? undefined
      : "holds no elementwise.wgsl: name the package's shaders/ folder, or unset it",
};

/**
 * Refuses a variable of ENVIRONMENT whose value its reader would ignore (one line naming it), and a
 * bad A/B switch (checkAbEnvironment), before any work: both exit 2 as a bad flag does. WGNAS_SHADER_DIR
 * is judged only where the run may compile a kernel (`gpu`: its --device is not cpu), so a stale
 * value does not stop a CPU run. WGNAS_CPU_THREADS is checked as --cpu-threads, the data roots where
 * they are looked up (src/data/paths.ts).
 */
export function checkEnvironmentValues(
  env: Readonly<Record<string, string | undefined>> = process.env,
  o: { gpu?: boolean } = {},
): void {
  try {
    checkAbEnvironment(env);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  for (const [name, check] of Object.entries(VALUE_CHECKS)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (name === 'WGNAS_SHADER_DIR' && o.gpu === false) continue;
    const problem = check(v);
    if (problem)
      throw new UsageError(
        problem.startsWith('must ') ? `${name} ${problem}, got ${quote(v)}` : `${name} ${quote(v)} ${problem}`,
      );
  }
}
