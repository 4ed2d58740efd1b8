import { BASELINE_ALIASES, BASELINES, DEFAULT_BASELINES } from '../../bench/baselines.js';
import { GPUJS_MODES } from '../../bench/gpujs.js';
import { defaultRegistry } from '../../bench/kernels/index.js';
import { SHAPE_SETS } from '../../bench/registry.js';
import { defineCommand, defineMode, flag, inFile, int, list, num, oneOf, outFile } from '../spec.js';
import { cpuThreads, device, quiet } from './common.js';

/** appliesWhen for an option of these baselines (aliases included: --baselines keeps the spelling given). */
function baselineIn(...names: string[]) {
  const aliases = Object.keys(BASELINE_ALIASES).filter((a) => names.includes(BASELINE_ALIASES[a]));
  return { option: 'baselines', values: [...names, ...aliases] };
}

export const BENCH_OPTIONS = {
  shapes: oneOf(SHAPE_SETS, {
    help: 'shape sweep',
    metavar: 'SET',
    defaultText: 'small on software adapters and the CPU backend, else default',
  }),
  only: list({
    help: 'only the shapes with these labels, as the tables print them (e.g. 4096x4096x4096): one or two shapes of a sweep',
    metavar: 'LABELS',
  }),
  repeats: int({
    help: 'timed repeats per shape (fewer where a measurement reaches --max-seconds)',
    defaultText: '10 on software adapters and the CPU backend, else 30',
    min: 1,
    max: 100_000,
  }),
  'max-seconds': num({
    help: 'time budget of one measurement (ours or one baseline on one shape), seconds of timed samples: repeating stops once they add up to this, even short of --repeats; the table then shows samples/repeats and the JSON budgetCut',
    defaultText: '30 for ours and the GPU baselines, 3 for the CPU baselines',
    metavar: 'S',
    gt: 0,
    max: 86_400,
  }),
  warmup: int({
    help: 'untimed runs before timing',
    defaultText: '2 on software adapters and the CPU backend, else 5',
    min: 0,
    max: 100_000,
  }),
  'warmup-ms': num({
    help: 'after the warm-up runs, back-to-back runs at least this long in all, ms, before timing ours and each GPU baseline: a GPU clocks up under sustained load only (host-bound kernels stop at twice this plus 100 ms of wall clock)',
    defaultText: '200 on a hardware GPU, else 0',
    metavar: 'MS',
    min: 0,
    max: 600_000,
  }),
  baselines: list({
    help: "implementations to compare against, or 'none'",
    default: DEFAULT_BASELINES,
    choices: [...BASELINES, ...Object.keys(BASELINE_ALIASES), 'none'],
    noun: 'baseline',
    allowEmpty: true,
  }),
  'gpujs-mode': list({
    help: 'gpu.js modes to try in order',
    default: GPUJS_MODES,
    choices: GPUJS_MODES,
    noun: 'gpu.js mode',
    appliesWhen: { ...baselineIn('gpujs'), why: '--gpujs-mode picks the modes of the gpujs baseline: add gpujs to --baselines' },
  }),
  'native-threads': int({
    help: 'threads of the onednn / xnnpack baselines (ours on --device cpu takes --cpu-threads)',
    default: 1,
    min: 1,
    max: 1024,
    appliesWhen: {
      ...baselineIn('onednn', 'xnnpack'),
      why: '--native-threads sets the threads of the onednn and xnnpack baselines: add one of them to --baselines',
    },
  }),
  json: outFile({
    help: 'write the full report as JSON (schema in docs/bench.md): schemaVersion (MAJOR.MINOR), the run (tool, date, version, machine, adapter, device, timing, peak with its origin: table, measured or cached, options with the threads, where) and per kernel and shape its results (kernel, label, flops, bytes, intensity; ours and each of baselines with medianMs, p10Ms, p90Ms, meanMs, minMs, gflops, gbps and, for a baseline, status and speedup); a run stopped by Ctrl-C writes the cases that finished, marked partial',
  }),
  compare: inFile({
    help: 'also print our median per kernel and shape beside an earlier run (a --json report of wgnas bench of the same schema major version), with the change and whether the two p10-p90 ranges overlap, and the settings in which the runs differ',
    noun: 'bench report',
  }),
  svg: outFile({ help: 'write a roofline plot (log-log, one point per kernel/shape)' }),
  markdown: flag({ help: 'print the tables as markdown' }),
  'side-by-side': flag({ help: 'also print GFLOP/s and GB/s of every implementation side by side' }),
  calibrate: flag({
    help: 'use a measured peak FLOP/s and bandwidth even if the adapter is in the datasheet table (measured once per adapter and driver, then cached like --autotune)',
  }),
  recalibrate: flag({
    help: 'measure the peak now (best of 3 rounds) and replace the cached one (peaks.json in the user cache); a GPU in the datasheet table is then measured too',
  }),
  autotune: flag({
    help: 'tune the matmul tile for this adapter first and cache it (autotune.json in the user cache: $WGNAS_CACHE_DIR, else $XDG_CACHE_HOME/wgnas, else ~/.cache/wgnas); with no kernels named, only tunes',
  }),
  device: {
    ...device,
    help: "where 'ours' runs: 'gpu' the WGSL kernels (default; on a software adapter too), 'cpu' the native CPU backend's ops (timed inside the addon, as the onednn/xnnpack baselines; the GPU-only baselines, the WGSL-only kernels and --autotune need gpu), 'auto' a hardware GPU if there is one, else the CPU",
    default: 'gpu',
  },
  'cpu-threads': cpuThreads,
  quiet: { ...quiet, help: 'no progress lines on stderr' },
};

export const BENCH = defineCommand({
  name: 'bench',
  summary: 'benchmark the WGSL kernels against tfjs, gpu.js, oneDNN/XNNPACK and TypeScript baselines',
  description:
    "Times each kernel over a shape sweep (warm-up, then repeats; GPU time from timestamp queries when the adapter has them, else wall clock), and the same computation in the baselines, after checking they agree with ours: tfjs-webgpu (same Dawn device, same timer), tfjs-wasm (XNNPACK in WebAssembly), gpujs (gpu.js in the first working mode of --gpujs-mode), onednn / xnnpack (the native addon running the same op on the CPU) and cpu (plain TypeScript). Prints median, p10, p90, GFLOP/s, GB/s, % of the adapter's roofline (its datasheet peak, else a measured one, cached per adapter and driver), and our speed relative to each baseline. What each time includes and the --json schema: docs/bench.md.",
  modes: [
    defineMode({
      id: 'bench',
      module: 'bench',
      label: 'wgnas bench',
      usage: ['[KERNEL...] [options]'],
      options: BENCH_OPTIONS,
      positionals: {
        metavar: 'KERNEL...',
        help: "kernels to time (default: all but the calibration ones; 'all' for every one, less the WGSL-only ones on --device cpu)",
        noun: 'benchmark kernel',
        choices: () => [...defaultRegistry().names(), 'all'],
      },
    }),
  ],
  epilog: () =>
    'kernels:\n' +
    defaultRegistry()
      .all()
      .map(
        (k) =>
          `  ${k.name.padEnd(18)} ${k.description}${k.inDefaultRun === false ? ' [only when named]' : ''}${k.gpuOnly ? ' [--device gpu]' : ''}`,
      )
      .join('\n'),
});
