/** wgnas bench: time the WGSL kernels against tfjs (webgpu, wasm), gpu.js, oneDNN and TypeScript baselines. */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { acquireGpu, type Gpu } from '../../gpu/index.js';
import { BASELINE_ALIASES, BASELINES, type BaselineName, type BenchReport, DEFAULT_BASELINES, runBench } from '../../bench/harness.js';
import { GPUJS_MODES, type GpuJsMode } from '../../bench/gpujs.js';
import { defaultRegistry } from '../../bench/kernels/index.js';
import { formatNotes, formatSideBySide, formatTable, reportHeader, rooflinePoints } from '../../bench/report.js';
import { rooflineSvg } from '../../bench/roofline.js';
import { SHAPE_SETS, type ShapeSet } from '../../bench/registry.js';
import { autotuneCachePath, autotuneMatmul, tileName } from '../../bench/autotune.js';

export const summary = 'benchmark the WGSL kernels against baselines';

function help(): string {
  const reg = defaultRegistry();
  const list = reg
    .all()
    .map((k) => `  ${k.name.padEnd(18)} ${k.description}${k.inDefaultRun === false ? ' [only when named]' : ''}`)
    .join('\n');
  return `usage: wgnas bench [kernels...] [options]

Times each kernel over a shape sweep (warm-up, then repeats; GPU time from timestamp queries when the
adapter has them, else wall clock), and the same computation in the baselines, after checking they
agree with ours: tfjs-webgpu (same Dawn device, same timer), tfjs-wasm (XNNPACK in WebAssembly),
gpujs (gpu.js in the first working mode of --gpujs-mode; the mode is in the column label), onednn /
xnnpack (the native addon running the same op on the CPU: conv/depthwise, matmul as a 1x1 conv;
its output is checked too) and cpu (plain TypeScript). Prints median, p10, p90, GFLOP/s, GB/s, % of the adapter's roofline, and our
speed relative to each baseline side by side.

kernels (default: all but the calibration ones; 'all' for every one):
${list}

options:
  --shapes SET        ${SHAPE_SETS.join(' | ')}   [small on software adapters, else default]
  --repeats N         timed repeats per shape              [10 on software adapters, else 30]
  --warmup N          untimed runs before timing            [2 on software adapters, else 5]
  --baselines LIST    comma list of ${BASELINES.join(', ')}, or none
                      [${DEFAULT_BASELINES.join(',')}]
  --gpujs-mode LIST   gpu.js modes to try in order: ${GPUJS_MODES.join(', ')}   [${GPUJS_MODES.join(',')}]
  --native-threads N  oneDNN / XNNPACK threads                   [1]
  --json FILE         write the full report (all statistics) as JSON
  --svg FILE          write a roofline plot (log-log, one point per kernel/shape)
  --markdown          print the tables as markdown
  --side-by-side      also print GFLOP/s and GB/s of every implementation side by side
  --calibrate         measure peak FLOP/s and bandwidth even if the adapter is in the datasheet table
  --autotune          tune the matmul tile for this adapter first and cache it
                      (${autotuneCachePath()}; set WGNAS_CACHE_DIR to move it);
                      with no kernels named, only tunes
  --quiet             no progress lines on stderr
  -h, --help          this help
`;
}

export interface BenchIo {
  /** Use this GPU instead of acquiring (and destroying) one. */
  gpu?: Gpu;
  out?: (s: string) => void;
  err?: (s: string) => void;
}

function int(v: string | undefined, name: string, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return x;
}

/** The command's body; returns the report (null for --help or a tune-only run). */
export async function benchCommand(argv: string[], io: BenchIo = {}): Promise<BenchReport | null> {
  const out = io.out ?? ((s: string) => void process.stdout.write(s));
  const err = io.err ?? ((s: string) => void process.stderr.write(s));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      shapes: { type: 'string' },
      repeats: { type: 'string' },
      warmup: { type: 'string' },
      baselines: { type: 'string', default: DEFAULT_BASELINES.join(',') },
      'gpujs-mode': { type: 'string', default: GPUJS_MODES.join(',') },
      'native-threads': { type: 'string' },
      json: { type: 'string' },
      svg: { type: 'string' },
      markdown: { type: 'boolean', default: false },
      'side-by-side': { type: 'boolean', default: false },
      calibrate: { type: 'boolean', default: false },
      autotune: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out(help());
    return null;
  }
  const registry = defaultRegistry();
  const names = positionals.includes('all') ? registry.names() : positionals;
  const kernels = names.length ? names.map((n) => registry.get(n)) : registry.all().filter((k) => k.inDefaultRun !== false);
  if (values.shapes !== undefined && !(SHAPE_SETS as readonly string[]).includes(values.shapes)) {
    throw new Error(`--shapes must be one of ${SHAPE_SETS.join(', ')}, got '${values.shapes}'`);
  }
  const bl = values.baselines.trim();
  const baselines = (bl === 'none' || bl === '' ? [] : bl.split(',').map((s) => BASELINE_ALIASES[s.trim()] ?? s.trim())) as BaselineName[];
  for (const b of baselines) {
    if (!(BASELINES as readonly string[]).includes(b)) throw new Error(`--baselines: unknown baseline '${b}' (expected ${BASELINES.join(', ')} or none)`);
  }
  const gpujsModes = values['gpujs-mode'].split(',').map((m) => m.trim()) as GpuJsMode[];
  for (const m of gpujsModes) {
    if (!(GPUJS_MODES as readonly string[]).includes(m)) throw new Error(`--gpujs-mode: unknown mode '${m}' (expected ${GPUJS_MODES.join(', ')})`);
  }
  const nativeThreads = int(values['native-threads'], 'native-threads', 1, 1);
  const log = values.quiet ? () => {} : (line: string) => err(`${line}\n`);

  const gpu = io.gpu ?? (await acquireGpu());
  try {
    const soft = gpu.adapter.isSoftware;
    const shapes = (values.shapes ?? (soft ? 'small' : 'default')) as ShapeSet;
    const repeats = int(values.repeats, 'repeats', soft ? 10 : 30, 1);
    const warmup = int(values.warmup, 'warmup', soft ? 2 : 5, 0);

    if (values.autotune) {
      log(`autotuning the matmul tile on ${gpu.name}...`);
      const t = await autotuneMatmul(gpu, { log });
      out(
        `autotune: best matmul tile ${tileName(t.best)} (WG_X x WG_Y x TK) of ${t.results.length} candidates ` +
          `on ${t.shapes.map((s) => `${s.batch}x${s.M}x${s.N}x${s.K}`).join(', ')} (${t.timing}); saved to ${t.cachePath}\n`,
      );
      if (names.length === 0) return null;
    }

    const report = await runBench(gpu, { kernels, shapes, warmup, repeats, baselines: [...new Set(baselines)], calibrate: values.calibrate, gpujsModes, nativeThreads, log });
    const md = values.markdown;
    out(`${reportHeader(report)}\n\n${formatTable(report, { markdown: md })}`);
    if (values['side-by-side']) out(`\n${formatSideBySide(report, { markdown: md })}`);
    const notes = formatNotes(report);
    if (notes) out(`\n${notes}`);
    if (values.json) {
      writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
      log(`wrote ${values.json}`);
    }
    if (values.svg) {
      const svg = rooflineSvg(rooflinePoints(report), {
        title: `Roofline: ${report.adapter.name}`,
        subtitle: `wgnas bench, ${report.date.slice(0, 10)}, ${report.timing}, peak ${report.peak.source === 'table' ? report.peak.name : 'measured'}`,
        peak: { gflops: report.peak.gflops, gbps: report.peak.gbps, source: report.peak.source },
      });
      writeFileSync(values.svg, svg);
      log(`wrote ${values.svg}`);
    }
    return report;
  } finally {
    if (!io.gpu) gpu.destroy();
  }
}

export async function run(argv: string[]): Promise<void> {
  await benchCommand(argv);
}
