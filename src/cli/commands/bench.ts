/** wgnas bench: time the WGSL kernels against tfjs (webgpu, wasm), gpu.js, oneDNN and TypeScript baselines. */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../util/durable.js';
import { Progress } from '../../util/progress.js';

import { type Backend, gpuOf, webgpuBackend } from '../../backend/index.js';
import type { Gpu } from '../../gpu/index.js';
import { BASELINE_ALIASES, type BaselineName, type BenchReport, runBench } from '../../bench/harness.js';
import type { GpuJsMode } from '../../bench/gpujs.js';
import { defaultRegistry } from '../../bench/kernels/index.js';
import { compareReports, parseBenchReport } from '../../bench/compare.js';
import {
  formatCompare,
  formatNotes,
  formatSideBySide,
  formatTable,
  reportHeader,
  rooflinePoints,
  threadsNote,
} from '../../bench/report.js';
import { rooflineSvg } from '../../bench/roofline.js';
import { type BenchKernel, type ShapeSet, shapeLabel, sweepShapes } from '../../bench/registry.js';
import { autotuneCachePath, autotuneMatmul, tileName } from '../../bench/autotune.js';
import { codeVersion } from '../../queue/code-version.js';
import { UsageError } from '../args.js';
import { setInterruptSave } from '../interrupt.js';
import { deviceOf, openDevice, warnThreads } from '../device.js';
import { checkCacheDir } from '../paths.js';
import { runCommand, type RunContext } from '../run.js';
import type { ValuesOf } from '../spec.js';
import { BENCH, type BENCH_OPTIONS } from '../specs/bench.js';

export const summary = BENCH.summary;

export interface BenchIo {
  /** Use this GPU instead of acquiring (and destroying) one. */
  gpu?: Gpu;
  out?: (s: string) => void;
  err?: (s: string) => void;
}

/** The command's body; returns the report (null for --help or a tune-only run). */
export async function benchCommand(argv: string[], io: BenchIo = {}): Promise<BenchReport | null> {
  const out = io.out ?? ((s: string) => void process.stdout.write(s));
  const err = io.err ?? ((s: string) => void process.stderr.write(s));
  const r = await runCommand(BENCH, argv, async () => ({ bench: (v: BenchValues, ctx: RunContext) => bench(v, ctx, io.gpu) }), {
    out,
    err,
  });
  return (r as BenchReport | null | undefined) ?? null;
}

type BenchValues = ValuesOf<typeof BENCH_OPTIONS>;

async function bench(values: BenchValues, { positionals, io }: RunContext, ownGpu?: Gpu): Promise<BenchReport | null> {
  const { out, err } = io;
  const registry = defaultRegistry();
  const all = positionals.includes('all');
  // A kernel named twice is timed once.
  const names = all ? registry.names() : [...new Set(positionals)];
  let kernels = names.length ? names.map((n) => registry.get(n)) : registry.all().filter((k) => k.inDefaultRun !== false);
  if (values.baselines.includes('none') && values.baselines.length > 1)
    throw new UsageError(`--baselines none cannot be combined with other baselines`);
  const baselines = values.baselines.filter((b) => b !== 'none').map((b) => BASELINE_ALIASES[b] ?? b) as BaselineName[];
  const gpujsModes = values['gpujs-mode'] as GpuJsMode[];
  const nativeThreads = values['native-threads'];
  const log = values.quiet ? () => {} : (line: string) => err(`${line}\n`);
  // A label no sweep the run may take has is a typo: refused before the device opens. Without
  // --shapes the sweep follows the adapter (small on software ones and the CPU backend), checked
  // again once it is known.
  const sweeps: ShapeSet[] = values.shapes ? [values.shapes] : values.device === 'cpu' ? ['small'] : ['small', 'default'];
  checkOnly(kernels, values.only, sweeps, all ? [] : names);
  // The earlier run is read before any timing, so a wrong file costs nothing.
  const before = values.compare ? parseBenchReport(readFileSync(values.compare, 'utf8'), values.compare) : undefined;
  // --native-threads applies only with onednn/xnnpack (the spec refuses it otherwise): said as --cpu-threads is.
  if (values['native-threads'] !== 1) warnThreads('native-threads', nativeThreads, io);
  const device = await deviceOf(values);
  if (device === 'cpu' && values.autotune) throw new UsageError('--autotune tunes the WGSL matmul tile: it needs --device gpu');
  // The tile is saved in the user cache: a folder that cannot take it is refused before the tuning.
  if (values.autotune) checkCacheDir(dirname(autotuneCachePath()), 'set WGNAS_CACHE_DIR to a writable directory');
  if (device === 'cpu') {
    // The WGSL-only kernels have no CPU op: named, refused before any timing; under 'all', left out.
    const gpuOnly = kernels.filter((k) => k.gpuOnly);
    if (gpuOnly.length && !all)
      throw new UsageError(`${gpuOnly.map((k) => k.name).join(', ')}: WGSL-only (no CPU backend op): run with --device gpu`);
    if (gpuOnly.length)
      log(
        `note: leaving out the WGSL-only ${gpuOnly.map((k) => k.name).join(', ')} on the CPU backend (--device gpu times them)`,
      );
    kernels = kernels.filter((k) => !k.gpuOnly);
  }

  const backend: Backend = ownGpu && device === 'gpu' ? webgpuBackend(ownGpu) : await openDevice(device, values, io);
  try {
    const gpu = gpuOf(backend);
    // A software adapter, or the CPU: the small sweep and fewer repeats by default.
    const soft = gpu ? gpu.adapter.isSoftware : true;
    const shapes = (values.shapes ?? (soft ? 'small' : 'default')) as ShapeSet;
    const repeats = values.repeats ?? (soft ? 10 : 30);
    const warmup = values.warmup ?? (soft ? 2 : 5);
    const warmupMs = values['warmup-ms'] ?? (gpu && !soft ? 200 : 0);
    checkOnly(kernels, values.only, [shapes], all ? [] : names);

    if (values.autotune && gpu) {
      log(`autotuning the matmul tile on ${gpu.name}...`);
      const t = await autotuneMatmul(gpu, { log });
      out(
        `autotune: best matmul tile ${tileName(t.best)} (BMxBNxBK/TMxTN, +db double-buffered, +u unrolled) of ${t.results.length} candidates ` +
          `on ${t.shapes.map((s) => `${s.batch}x${s.M}x${s.N}x${s.K}`).join(', ')} (${t.timing}); ` +
          `${t.bestPlain ? `convolutions take ${tileName(t.bestPlain)} (the fastest without options); ` : ''}saved to ${t.cachePath}\n`,
      );
      if (names.length === 0) return null;
    }

    // The one progress bar (count, rate, ETA) on a terminal, the per-case lines above it; in pipes the lines alone.
    const total = kernels.reduce((a, k) => a + sweepShapes(k, shapes, values.only).length, 0);
    const bar = new Progress(
      total,
      'bench',
      { write: (s: string) => err(s), isTTY: process.stderr.isTTY, columns: process.stderr.columns },
      { quiet: values.quiet },
    );
    const barLog = values.quiet ? log : (line: string) => bar.log(line);
    const budgetMs = values['max-seconds'] === undefined ? undefined : values['max-seconds'] * 1e3;
    const json = values.json;
    const report = await runBench(backend, {
      kernels,
      shapes,
      only: values.only,
      warmup,
      warmupMs,
      repeats,
      gpuBudgetMs: budgetMs,
      cpuBudgetMs: budgetMs,
      baselines: [...new Set(baselines)],
      calibrate: values.calibrate,
      recalibrate: values.recalibrate,
      gpujsModes,
      nativeThreads,
      version: codeVersion(),
      log: barLog,
      onCase: (done) => bar.update(done),
      // Ctrl-C keeps what finished: the --json report of those cases, marked partial.
      onStart: (partialReport) => {
        if (json) setInterruptSave((signal) => savePartial(json, partialReport(), signal));
      },
    });
    setInterruptSave(null);
    bar.done();
    const md = values.markdown;
    out(`${reportHeader(report)}\n\n${formatTable(report, { markdown: md })}`);
    if (values['side-by-side']) out(`\n${formatSideBySide(report, { markdown: md })}`);
    const notes = formatNotes(report) + threadsNote(report, backend.threads, nativeThreads);
    if (notes) out(`\n${notes}`);
    if (before) out(`\n${formatCompare(compareReports(before, report), before, values.compare!, { markdown: md })}`);
    if (values.json) {
      writeFileAtomic(values.json, JSON.stringify(report, null, 2) + '\n');
      log(`wrote ${values.json}`);
    }
    if (values.svg) {
      const svg = rooflineSvg(rooflinePoints(report), {
        title: `Roofline: ${report.adapter.name}`,
        subtitle: `wgnas bench, ${report.date.slice(0, 10)}, ${report.timing}, peak ${report.peak.source === 'table' ? report.peak.name : 'measured'}`,
        peak: { gflops: report.peak.gflops, gbps: report.peak.gbps, source: report.peak.source },
      });
      writeFileAtomic(values.svg, svg);
      log(`wrote ${values.svg}`);
    }
    return report;
  } finally {
    setInterruptSave(null);
    backend.dispose();
  }
}

/** A stopped run's --json: the cases that finished, written atomically and marked partial; says what it wrote. */
function savePartial(path: string, r: BenchReport, signal: string): string {
  const { casesDone, casesTotal } = r.partial!;
  if (casesDone === 0) return `no case had finished: nothing written to --json ${path}`;
  writeFileAtomic(path, JSON.stringify({ ...r, partial: { ...r.partial, stoppedBy: signal } }, null, 2) + '\n');
  return `wrote the ${casesDone} finished case${casesDone === 1 ? '' : 's'} of ${casesTotal} to --json ${path}, marked partial`;
}

/**
 * --only: every label must be a shape of the kernels in one of `sets`, else a typo, named with the
 * labels there are; and each kernel named on the command line must have one of the labels, else it
 * would be dropped without a word (named with its shapes).
 */
function checkOnly(
  kernels: readonly BenchKernel[],
  only: readonly string[] | undefined,
  sets: readonly ShapeSet[],
  named: readonly string[],
): void {
  if (!only) return;
  const labelsOf = (k: BenchKernel) => [...new Set(sets.flatMap((set) => k.shapes[set].map((s) => shapeLabel(k, s))))];
  const labels = [...new Set(kernels.flatMap(labelsOf))];
  const unknown = only.filter((l) => !labels.includes(l));
  if (unknown.length)
    throw new UsageError(
      `--only ${unknown.join(',')}: no shape of --shapes ${sets.join(' or ')} has that label (${labels.join(', ')})`,
    );
  const missed = kernels.filter((k) => named.includes(k.name) && !labelsOf(k).some((l) => only.includes(l)));
  if (missed.length)
    throw new UsageError(
      `--only ${only.join(',')}: ${missed.map((k) => `${k.name} has no shape of --shapes ${sets.join(' or ')} with that label (its shapes: ${labelsOf(k).join(', ')})`).join('; ')}`,
    );
}

export const handlers = { bench: (v: BenchValues, ctx: RunContext) => bench(v, ctx) };
export async function run(argv: string[]): Promise<void> {
  await benchCommand(argv);
}
