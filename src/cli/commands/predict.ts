/** wgnas predict: latency of a network from a lookup table (optionally vs a measured end-to-end run). */
import { cpus } from 'node:os';

import { exportGraph, jsonNetwork } from '../../export/index.js';
import { toOnnx } from '../../export/onnx.js';
import { timeOnnx } from '../../export/onnxruntime.js';
import { describeBackend, loadNative, requireBackend } from '../../native/binding.js';
import { archToNativeOps } from '../../latency/arch.js';
import { entryWithout, type LatencyTable, readLatencyTable, tableProvenance } from '../../latency/lut.js';
import {
  MissingLatencyError,
  type MissingPolicy,
  otherFamilyTable,
  predictParts,
  tableStemSizes,
} from '../../latency/predictor.js';
import { namingFile, UsageError } from '../errors.js';
import { netParts, readNetArch, unpricedCells } from '../network.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import type { ValuesOf } from '../spec.js';
import { PREDICT, type PREDICT_OPTIONS } from '../specs/predict.js';
import { shellCommand } from '../../util/shell.js';

export const summary = PREDICT.summary;

async function predict(values: ValuesOf<typeof PREDICT_OPTIONS>, { io }: RunContext): Promise<void> {
  const { missing, resolution, field } = values;
  const table = readLatencyTable(values.table!);
  const family = otherFamilyTable(table);
  if (family) throw new UsageError(`--table ${values.table}: ${family}`);
  const noMedian = field === 'median' ? entryWithout(table, 'median') : undefined;
  if (noMedian !== undefined) {
    // Summing means under the label 'median' would be a silently wrong number.
    throw new UsageError(
      `--field median: ${values.table} has no 'median' field (entry '${noMedian}'; tables profiled by wgnas have one, the published ones only mean and var/std): use --field mean`,
    );
  }
  const net = readNetArch(values.net!, resolution);
  const unpriced = unpricedCells(net, table, values.net!, values.table!);
  if (unpriced) throw new UsageError(unpriced);
  // The addon runs op chains: a cell network with a cell that is no MBConv is none (checked before any work).
  const ops = values.measure && values.runtime === 'native' ? net.arch && archToNativeOps(net.arch) : null;
  if (values.measure && values.runtime === 'native' && !ops)
    throw new UsageError(
      `--measure --runtime native: ${values.net} has cells that are no MBConv block; the addon runs chains of ops, not cell graphs: use --runtime onnxruntime`,
    );
  const parts = netParts(net, table);
  const pred = namingFile(values.table!, () => {
    try {
      return predictParts(table, parts, { missing, field });
    } catch (e) {
      if (!(e instanceof MissingLatencyError)) throw e;
      throw new MissingLatencyError(e.keys, missingWhy(table, net.inputSize, missing));
    }
  });

  let measured: { runtime: string; medianMs: number; meanMs: number; iqrMs: number; count: number; threads: number } | null =
    null;
  if (values.measure && values.runtime === 'onnxruntime') {
    // The exported model's latency does not depend on its BN statistics: no calibration.
    const exported = namingFile(values.net!, () => jsonNetwork(net.json, resolution, values.net));
    const model = toOnnx(exportGraph(exported, { noCalibration: true }));
    const r = await timeOnnx(model, [1, 3, net.inputSize, net.inputSize], {
      threads: values.threads,
      repeats: values.repeats,
      warmup: 3,
    });
    const meanMs = r.samplesMs.reduce((a, v) => a + v, 0) / r.samplesMs.length;
    measured = {
      runtime: `onnxruntime-node ${r.version} (CPU)`,
      medianMs: r.medianMs,
      meanMs,
      iqrMs: r.iqrMs,
      count: r.samplesMs.length,
      threads: values.threads,
    };
  } else if (values.measure) {
    const native = loadNative();
    requireBackend(native, values.backend);
    const r = await native.profile(ops!, {
      backend: values.backend,
      threads: values.threads,
      repeats: values.repeats,
      warmup: 3,
    });
    measured = {
      runtime: describeBackend(requireBackend(native, values.backend)),
      medianMs: r.medianMs,
      meanMs: r.meanMs,
      iqrMs: r.iqrMs,
      count: r.count,
      threads: r.threads,
    };
  }

  const devices = measured
    ? compareDevices(table.meta, {
        threads: measured.threads,
        backend: values.runtime === 'native' ? values.backend : undefined,
      })
    : null;
  if (values.json) {
    io.out(
      JSON.stringify(
        {
          table: values.table,
          tableMeta: table.meta,
          net: values.net,
          ...pred,
          // The table's statistic (--field) is compared with the same statistic of the runs.
          measured: measured && { ...measured, statistic: field, errorPct: errorPct(pred.totalMs, measured, field), ...devices },
        },
        null,
        2,
      ) + '\n',
    );
    return;
  }
  const w = Math.max(...pred.parts.map((p) => p.name.length));
  for (const p of pred.parts) {
    const note = p.approx
      ? `  (~ ${p.approx.method} from ${p.approx.from}${p.approx.method === 'scale' ? ` x${p.approx.factor.toFixed(3)}` : ''})`
      : '';
    io.out(`${p.name.padEnd(w)}  ${p.ms.toFixed(3).padStart(9)} ms  ${p.key}${note}\n`);
  }
  io.out(
    `${'total'.padEnd(w)}  ${pred.totalMs.toFixed(3).padStart(9)} ms  predicted (${values.field}, ${pred.parts.length} parts)\n`,
  );
  io.out(`latency from ${values.table} (${tableProvenance(values.table!, table.meta)})\n`);
  if (pred.approximated.length > 0) {
    io.out(`note: ${pred.approximated.length} part(s) not in the table were approximated (--missing ${missing})\n`);
  }
  if (measured) {
    // Like with like: the runs' mean against a sum of table means, their median against medians.
    const ms = field === 'median' ? measured.medianMs : measured.meanMs;
    const err = errorPct(pred.totalMs, measured, field);
    const other = field === 'median' ? `mean ${measured.meanMs.toFixed(3)}` : `median ${measured.medianMs.toFixed(3)}`;
    io.out(
      `measured ${ms.toFixed(3)} ms ${field} (${other}, IQR ${measured.iqrMs.toFixed(3)}, n=${measured.count}, ` +
        `${measured.threads} thread(s), ${measured.runtime}); ${devices?.sameDevice && !devices.settingsDiffer ? 'prediction error' : 'table minus measured'} (${field} vs ${field}) ${err >= 0 ? '+' : ''}${err.toFixed(1)}%\n`,
    );
    if (devices?.settingsDiffer) {
      io.out(
        `note: the table was timed with ${devices.settingsDiffer.table}, this run with ${devices.settingsDiffer.run}: ` +
          `the error compares two settings, not the predictor; measure as the table was (${devices.settingsDiffer.flags})\n`,
      );
    } else if (devices && !devices.sameDevice) {
      const ratio = ms / pred.totalMs;
      io.out(
        `note: the table was measured on ${devices.tableDevice ?? "an unnamed device (no '# cpu:' stamp; the published ProxylessNAS tables are a Pixel 1 phone)"}, ` +
          `this run on ${devices.measuredOn}: the error compares two devices, not the predictor. ` +
          `measured / predicted = ${ratio.toFixed(2)}: this CPU takes ${ratio.toFixed(2)}x the table device's time. ` +
          `To check the predictor, profile this network's ops on this CPU first (${shellCommand(['wgnas', 'profile', '--net', values.net ?? 'NET', '--out', 'cpu.yaml'])}) and predict with --table cpu.yaml\n`,
      );
    }
  }
}

/** (predicted - measured) / measured in %, the runs' statistic being the table's (--field). */
function errorPct(predictedMs: number, m: { meanMs: number; medianMs: number }, field: 'mean' | 'median'): number {
  const ms = field === 'median' ? m.medianMs : m.meanMs;
  return ((predictedMs - ms) / ms) * 100;
}

/**
 * What is wrong when keys are missing, said for what it is: a table of another input size (no key
 * of this network can be in it), a --missing policy that found nothing to approximate from, or
 * (default) keys not profiled yet.
 */
function missingWhy(table: LatencyTable, inputSize: number, missing: MissingPolicy): string {
  const sizes = tableStemSizes(table);
  if (sizes.length > 0 && !sizes.includes(inputSize)) {
    const r = sizes.map((x) => `${x}x${x}`).join(', ');
    return `the table is of ${r} inputs, the network takes ${inputSize}x${inputSize}: none of its keys can be there; profile it on the table's device (wgnas profile --net NET), or give a net.config --resolution ${sizes[0]}`;
  }
  if (missing !== 'error')
    return `--missing ${missing} found no entry of the same op, sizes, expand, kernel, stride and skip to approximate them from; profile them (wgnas profile --net NET)`;
  // The library's advice (MISSING_LATENCY_ADVICE) in the command's terms.
  return "profile them (wgnas profile --net NET times a network's), or approximate them from the closest entries with missing policy 'nearest' or 'scale' (--missing)";
}

/** This CPU's name as the profiler stamps it (the addon's), else Node's. */
function thisCpu(): string {
  try {
    return loadNative().cpuInfo().model;
  } catch {
    return cpus()[0]?.model?.trim() || 'this CPU';
  }
}

/**
 * Whether a --measure run times the device the table was measured on: a wgnas table of this CPU
 * ('# cpu:' = this CPU, no target or GPU device). A published table has no stamp: another device.
 * On the same device, a table stamped with other threads or another library (native runtime) is
 * another setting: its gap is not the predictor's error either.
 */
export function compareDevices(
  meta: Record<string, string>,
  run: { threads: number; backend?: string },
  measuredOn = thisCpu(),
): {
  sameDevice: boolean;
  tableDevice: string | undefined;
  measuredOn: string;
  settingsDiffer?: { table: string; run: string; flags: string };
} {
  const other = meta.target ?? (meta.device && meta.device !== 'cpu' ? meta.device : undefined);
  const tableDevice = other ? `${other}${meta.cpu ? ` (${meta.cpu})` : ''}` : meta.cpu;
  const sameDevice = !other && meta.cpu === measuredOn;
  const threadsDiffer = meta.threads !== undefined && meta.threads !== String(run.threads);
  const backendDiffers = run.backend !== undefined && meta.backend !== undefined && meta.backend !== run.backend;
  if (!sameDevice || (!threadsDiffer && !backendDiffers)) return { sameDevice, tableDevice, measuredOn };
  const says = (threads: string, backend: string | undefined) =>
    `${threads} thread(s)${run.backend !== undefined && backend ? ` (${backend})` : ''}`;
  const flags = [threadsDiffer ? `--threads ${meta.threads}` : '', backendDiffers ? `--backend ${meta.backend}` : '']
    .filter(Boolean)
    .join(' ');
  return {
    sameDevice,
    tableDevice,
    measuredOn,
    settingsDiffer: { table: says(meta.threads ?? '?', meta.backend), run: says(String(run.threads), run.backend), flags },
  };
}

export const handlers = { predict };
export const run = (argv: string[]) => runCommand(PREDICT, argv, selfResolve('predict', handlers));
