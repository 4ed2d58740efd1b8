/** wgnas predict: latency of a network from a lookup table (optionally vs a measured end-to-end run). */
import { cpus } from 'node:os';

import { exportGraph, jsonNetwork } from '../../export/index.js';
import { toOnnx } from '../../export/onnx.js';
import { timeOnnx } from '../../export/onnxruntime.js';
import { describeBackend, loadNative, requireBackend } from '../../native/binding.js';
import { archParts, archToNativeOps, parseArch, type ProxylessArch } from '../../latency/arch.js';
import { entryWithout, type LatencyTable, readLatencyTable, tableProvenance } from '../../latency/lut.js';
import {
  findLatency,
  MissingLatencyError,
  type MissingPolicy,
  otherFamilyTable,
  predictParts,
  tableStemSizes,
} from '../../latency/predictor.js';
import { imagenetTwinArch } from '../../mobilenet/cost/table.js';
import { archFromChoices } from '../../latency/space.js';
import { IMAGENET_LAYOUT, LAYOUTS, layoutSpace, type MobileNetLayout } from '../../mobilenet/layout.js';
import { choicesFromNetConfig } from '../../proxyless/net-config.js';
import { namingFile, UsageError } from '../errors.js';
import { netParts, type NetParts, readNetArch, unpricedCells } from '../network.js';
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
  const twinOf = values['imagenet-twin'] ? layoutOfNet(net) : null;
  if (values['imagenet-twin']) {
    if (values.measure)
      throw new UsageError(
        '--imagenet-twin prices another network (the ImageNet-layout twin) than --measure would run: give one of them',
      );
    if (resolution !== undefined)
      throw new UsageError(
        `--imagenet-twin prices the twin at ${IMAGENET_LAYOUT.inputSize}x${IMAGENET_LAYOUT.inputSize}: drop --resolution`,
      );
    if (!twinOf || twinOf.layout.name === IMAGENET_LAYOUT.name)
      throw new UsageError(
        `--imagenet-twin: ${values.net} is ${twinOf ? 'of the imagenet layout already: drop --imagenet-twin' : `no net.config of a built-in layout other than imagenet (${Object.keys(LAYOUTS).join(', ')}), as wgnas proxyless writes: no twin to price`}`,
      );
  }
  const twin = twinOf && imagenetTwinArch(twinOf.layout, twinOf.choices);
  const parts = twin ? archParts(twin) : netParts(net, table);
  const pred = namingFile(values.table!, () => {
    try {
      return predictParts(table, parts, { missing, field });
    } catch (e) {
      if (!(e instanceof MissingLatencyError)) throw e;
      throw new MissingLatencyError(e.keys, missingWhy(table, net, missing, twin !== null));
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
          ...(twin
            ? { pricedAs: `the ${twinOf!.layout.name} layout's ImageNet-layout twin at ${twin.inputSize}x${twin.inputSize}` }
            : {}),
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
  if (twin) {
    io.out(
      `priced as the ImageNet-layout twin of ${values.net} (${twinOf!.layout.name} layout): its choices at the same stage/block positions of the ${twin.inputSize}x${twin.inputSize} ImageNet network, with its stem, first block, Conv_1 and ${twin.classes}-class Logits, as wgnas proxyless prices this layout with a ${twin.inputSize}x${twin.inputSize} table\n`,
    );
  }
  if (pred.approximated.length > 0) {
    const logits = pred.parts.some((p) => p.approx && p.name === 'Logits');
    io.out(
      `note: ${pred.approximated.length} part(s) not in the table were approximated (--missing ${missing}${
        logits
          ? missing === 'scale'
            ? '; a Logits entry of another class count scaled by multiply-accumulates, the pooling h*w*c plus in*out features'
            : '; Logits: the entry of the closest class count, as is'
          : ''
      }); the other ${pred.parts.length - pred.approximated.length} are the table's entries\n`,
    );
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
 * The built-in layout and choices of a ProxylessNAS net.config that wgnas proxyless could have
 * written (its blocks, stem and head exactly the layout's, with the config's class count), or null.
 */
function layoutOfNet(net: NetParts): { layout: MobileNetLayout; choices: number[] } | null {
  if (!net.arch || net.cells || !(net.json && typeof net.json === 'object' && 'first_conv' in net.json)) return null;
  const keys = archParts(net.arch)
    .map((p) => p.key)
    .join();
  for (const base of Object.values(LAYOUTS)) {
    const layout = { ...base, classes: net.arch.classes };
    let choices: number[];
    try {
      choices = choicesFromNetConfig(layout, net.json);
    } catch {
      continue;
    }
    const same = archParts(archFromChoices(layoutSpace(layout), [0, ...choices]))
      .map((p) => p.key)
      .join();
    if (same === keys && layout.inputSize === net.inputSize) return { layout, choices };
  }
  return null;
}

/**
 * What is wrong when keys are missing, said for what it is, with a way out that works: a table of
 * another input size (no key of this network can be in it: the ImageNet-layout twin or another
 * --resolution where that finds every key), a --missing policy that found nothing to approximate
 * from, or (default) keys not profiled yet.
 */
function missingWhy(table: LatencyTable, net: NetParts, missing: MissingPolicy, twin: boolean): string {
  const sizes = tableStemSizes(table);
  const inputSize = twin ? IMAGENET_LAYOUT.inputSize : net.inputSize;
  if (sizes.length > 0 && !sizes.includes(inputSize)) {
    const r = sizes.map((x) => `${x}x${x}`).join(', ');
    return `the table is of ${r} inputs, the network takes ${inputSize}x${inputSize}: none of its keys can be there; profile it on the table's device (wgnas profile --net NET)${
      twin ? '' : wayOut(table, net, sizes)
    }`;
  }
  if (missing !== 'error')
    return `--missing ${missing} found no entry of the same op, sizes, expand, kernel, stride and skip to approximate them from; profile them (wgnas profile --net NET)`;
  // The library's advice (MISSING_LATENCY_ADVICE) in the command's terms.
  return "profile them (wgnas profile --net NET times a network's), or approximate them from the closest entries with missing policy 'nearest' or 'scale' (--missing)";
}

/**
 * The flags that price `net` with `table` although its own input size is not the table's, as one
 * ', or ...' clause; '' when none does: --imagenet-twin for a net.config of the CIFAR layout (what
 * wgnas proxyless priced), else --resolution at a table size, with the least --missing that then
 * finds every key.
 */
function wayOut(table: LatencyTable, net: NetParts, sizes: number[]): string {
  const prices = (arch: ProxylessArch): MissingPolicy | null => {
    const keys = archParts(arch).map((p) => p.key);
    for (const m of ['error', 'nearest', 'scale'] as const)
      if (keys.every((k) => findLatency(table, k, { missing: m }))) return m;
    return null;
  };
  const flags = (m: MissingPolicy) => (m === 'error' ? '' : ` --missing ${m}`);
  const of = layoutOfNet(net);
  if (of && of.layout.name !== IMAGENET_LAYOUT.name && sizes.includes(IMAGENET_LAYOUT.inputSize)) {
    let m: MissingPolicy | null = null;
    try {
      m = prices(imagenetTwinArch(of.layout, of.choices));
    } catch {
      // a layout the ImageNet stages do not map
    }
    if (m) return `, or price its ImageNet-layout twin as wgnas proxyless did with this table: --imagenet-twin${flags(m)}`;
  }
  if (net.cells || !net.arch) return '';
  for (const size of sizes) {
    let arch: ProxylessArch;
    try {
      arch = parseArch(net.json, size);
    } catch {
      continue;
    }
    const m = prices(arch);
    if (m) return `, or price it at the table's input size: --resolution ${size}${flags(m)}`;
  }
  return '';
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
