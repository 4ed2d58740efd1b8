/**
 * The row stream of a `score --out` file (and `correlate --sample --out`, which writes the same
 * rows): the settings its sidecar OUT.settings.json records, so a resume, or a correlate of it
 * beside other files (score-files.ts), is refused with other settings.
 */
import type { DeviceKind } from '../backend/index.js';
import { RowStream } from '../data/row-stream.js';
import type { ZeroShotOptions } from '../zeroshot/index.js';
import { f16Setting, type GpuKernels, kernelsStreamRecord } from './device.js';
import { type QueuedThreads, streamRecord, type ThreadsOrigin } from './resume-settings.js';
import type { RunContext } from './run.js';
import { definitionsRecord, ZERO_SHOT_UNRECORDED } from './search-report.js';

/** What a score stream records of the run beside its flags (batchData, cpuThreadsOf, precisionOf, gpuKernelsOf). */
export interface ScoreRecorded {
  data: string;
  threads: QueuedThreads;
  f16: boolean;
  bn: GpuKernels;
  origin: ThreadsOrigin;
}

export function openScoreStream(
  path: string,
  proxies: readonly string[],
  o: ZeroShotOptions,
  aggs: readonly string[],
  device: DeviceKind,
  resume: boolean,
  io: RunContext['io'],
  dataset: string,
  recorded: ScoreRecorded,
): RowStream {
  const rec = streamRecord(path, resume, recorded.data, recorded.threads, recorded.origin);
  const defs = definitionsRecord(proxies, path, '--out');
  const kernels = kernelsStreamRecord(recorded.bn, '--out', true);
  return new RowStream(path, {
    settings: {
      '--proxies': [...proxies].sort().join(',') + aggs.map((a) => `,${a}`).join(''),
      ...defs.settings,
      '--batch': o.batchSize,
      '--seed': o.seed,
      '--channels': o.net.channels,
      '--cells-per-stage': o.net.cellsPerStage,
      '--device': device,
      '--dataset': dataset,
      '--init': o.init ?? 'pytorch',
      '--inputs': o.inputs ?? 'data',
      // Stacked scores equal separate ones within float rounding only: a file keeps one mode.
      '--group-mode': o.groupMode ?? 'separate',
      ...f16Setting(recorded.f16),
      ...kernels.settings,
      ...rec.settings,
    },
    // Files from before the mode was recorded read as separate, the default; stacked runs of those
    // few hours wrote no mode either, but their scores agree with separate ones within float
    // rounding (1e-5 relative), so such a file continues with --group-mode separate.
    unrecorded: {
      ...ZERO_SHOT_UNRECORDED,
      '--group-mode': 'separate',
      ...f16Setting(false),
      ...rec.unrecorded,
      ...defs.unrecorded,
    },
    unrecordedOf: kernels.unrecordedOf,
    unrecordedAdvice: {
      ...kernels.unrecordedAdvice,
      '--group-mode': `${path} predates the recorded --group-mode and reads as separate (stacked scores agree with separate ones within 1e-5 relative): resume with --group-mode separate, or write another --out`,
    },
    settingAdvice: (k, was, now) => defs.settingAdvice(k, was, now) ?? kernels.settingAdvice(k, was, now),
    resume,
    killTag: 'score.rows',
    onStaleLock: (w) => io.err(`note: ${path} was locked by process ${w.pid}, which is gone: taking it over\n`),
  });
}
