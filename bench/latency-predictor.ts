/**
 * Validates the lookup-table latency predictor on this machine: profiles the per-op table for the
 * ops that ≥20 random ProxylessNAS architectures use, runs each whole network end to end through the
 * native addon, and reports RMSE / MAPE of predicted (sum of table entries) vs measured latency.
 * Also predicts ProxylessNAS-Mobile from the published Pixel 1 table (measured: 80.64 ms).
 *
 *   npx tsx bench/latency-predictor.ts [--space proxyless|cifar] [--resolution 32] [--archs 20] [--threads 1]
 *                                      [--repeats 20] [--rounds 3] [--net-repeats 15] [--backend onednn] [--seed 1]
 *                                      [--flush off,auto] [--flush-mib N] [--fields median] [--json]
 *
 * --space cifar: the CIFAR layout's MBConv space (what `wgnas profile --space cifar` tables and
 * `wgnas proxyless --layout cifar` searches; 32x32, --resolution ignored). --flush: the tables to
 * compare, each an --cache-flush value of `wgnas profile` (off, auto, or bytes; default off,auto);
 * --flush-mib N: the bytes 'flushed' touches (default: auto's). --fields: the table statistics
 * predicted from (median, mean: predict's and proxyless's default; each table once per field).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { archParts, archToNativeOps, fromNetConfig, type ProxylessArch } from '../src/latency/arch.js';
import { readLatencyTable } from '../src/latency/lut.js';
import { MissingLatencyError, predictLatency } from '../src/latency/predictor.js';
import { buildLatencyTable } from '../src/latency/profiler.js';
import { archFromChoices, proxylessSpace, randomChoices } from '../src/latency/space.js';
import { CIFAR_LAYOUT, layoutSpace } from '../src/mobilenet/layout.js';
import { describeBackend, loadNative, requireBackend, type BackendName, type ProfileResult } from '../src/native/binding.js';
import { kendallTau } from '../src/util/ranks.js';
import { Rng } from '../src/util/rng.js';
import { dataFile } from '../src/data/paths.js';

const PIXEL1_MEASURED_MS = 80.64;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      space: { type: 'string', default: 'proxyless' },
      resolution: { type: 'string', default: '32' },
      archs: { type: 'string', default: '20' },
      threads: { type: 'string', default: '1' },
      repeats: { type: 'string', default: '20' },
      'net-repeats': { type: 'string', default: '15' },
      backend: { type: 'string', default: 'onednn' },
      seed: { type: 'string', default: '1' },
      'flush-mib': { type: 'string' },
      flush: { type: 'string', default: 'off,auto' },
      fields: { type: 'string', default: 'median' },
      rounds: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
    },
  });
  const cifar = values.space === 'cifar';
  if (!cifar && values.space !== 'proxyless') throw new Error(`--space: proxyless or cifar, got '${values.space}'`);
  const resolution = cifar ? CIFAR_LAYOUT.inputSize : Number(values.resolution);
  const nArchs = Number(values.archs);
  const threads = Number(values.threads);
  const backend = values.backend as BackendName;
  const native = loadNative();
  const info = requireBackend(native, backend);
  const cpu = native.cpuInfo();
  const started = Date.now();

  // Random architectures (distinct choice vectors) of the ProxylessNAS mobile space.
  const space = cifar ? layoutSpace(CIFAR_LAYOUT) : proxylessSpace({ inputSize: resolution });
  const rng = new Rng(Number(values.seed));
  const seen = new Set<string>();
  const archs: ProxylessArch[] = [];
  while (archs.length < nArchs) {
    const choice = randomChoices(space, rng);
    if (seen.has(choice.join(','))) continue;
    seen.add(choice.join(','));
    archs.push(archFromChoices(space, choice));
  }
  const keys = [...new Set(archs.flatMap((a) => archParts(a).map((p) => p.key)))];

  // Two tables: ops timed with warm caches (repeated in isolation), and with the private caches
  // flushed before each run (as inside a network whose weights do not fit in L2). The machine is
  // shared, so tables and networks are measured in interleaved rounds and the medians over rounds kept.
  const flushed: number | 'auto' = values['flush-mib'] ? Number(values['flush-mib']) * 2 ** 20 : 'auto';
  const variants = values.flush.split(',').map((f) => {
    if (f === 'off') return { label: 'warm caches', flushBytes: 0 as number | 'auto' };
    if (f === 'auto') return { label: 'caches flushed', flushBytes: flushed };
    if (!/^\d+$/.test(f)) throw new Error(`--flush: off, auto or bytes, got '${f}'`);
    return { label: `${(Number(f) / 2 ** 20).toFixed(2)} MiB flushed`, flushBytes: Number(f) };
  });
  const rounds = Number(values.rounds);
  const fields = values.fields.split(',') as Array<'mean' | 'median'>;
  if (fields.some((f) => f !== 'mean' && f !== 'median')) throw new Error(`--fields: mean and/or median, got '${values.fields}'`);
  const predRounds = variants.map(() => fields.map(() => archs.map(() => [] as number[])));
  const measRounds = archs.map(() => [] as ProfileResult[]);
  const flushNote: string[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const [v, variant] of variants.entries()) {
      process.stderr.write(
        `round ${round + 1}/${rounds}: profiling ${keys.length} ops at ${resolution}x${resolution} (${variant.label})...\n`,
      );
      const { table } = await buildLatencyTable({
        keys,
        backend,
        threads,
        repeats: Number(values.repeats),
        warmup: 3,
        maxTimeMs: 1000,
        flushBytes: variant.flushBytes,
        native,
      });
      flushNote[v] = table.meta['cache-flush'];
      fields.forEach((field, f) =>
        archs.forEach((arch, i) => predRounds[v][f][i].push(predictLatency(table, arch, { field }).totalMs)),
      );
    }
    process.stderr.write(`round ${round + 1}/${rounds}: running ${archs.length} whole networks end to end...\n`);
    for (const [i, arch] of archs.entries()) {
      const r = await native.profile(archToNativeOps(arch), {
        backend,
        threads,
        repeats: Number(values['net-repeats']),
        warmup: 3,
        maxTimeMs: 3000,
      });
      measRounds[i].push(r);
    }
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const measured = measRounds.map((rs) => ({
    medianMs: median(rs.map((r) => r.medianMs)),
    iqrMs: median(rs.map((r) => r.iqrMs)),
  }));
  const tables = variants.flatMap((v, k) =>
    fields.map((field, f) => ({
      label: fields.length > 1 ? `${v.label}, ${field}` : v.label,
      flush: flushNote[k],
      pred: predRounds[k][f].map(median),
    })),
  );
  const results = tables.map(({ label, flush, pred }) => {
    const rows = archs.map((arch, i) => ({
      i,
      blocks: arch.blocks.filter((b) => b !== 'zero').length,
      predictedMs: pred[i],
      measuredMs: measured[i].medianMs,
      iqrMs: measured[i].iqrMs,
    }));
    const err = rows.map((r) => r.predictedMs - r.measuredMs);
    const ape = rows.map((r) => Math.abs(r.predictedMs - r.measuredMs) / r.measuredMs);
    // Leave-one-out calibration: one scale factor (Σ measured / Σ predicted) fitted on the other archs.
    const sumP = rows.reduce((a, r) => a + r.predictedMs, 0);
    const sumM = rows.reduce((a, r) => a + r.measuredMs, 0);
    const calErr = rows.map((r) => ((sumM - r.measuredMs) / (sumP - r.predictedMs)) * r.predictedMs - r.measuredMs);
    return {
      label,
      flush,
      rows,
      calibratedRmseMs: Math.sqrt(calErr.reduce((a, e) => a + e * e, 0) / calErr.length),
      calibratedMapePct: (calErr.reduce((a, e, i) => a + Math.abs(e) / rows[i].measuredMs, 0) / calErr.length) * 100,
      rmseMs: Math.sqrt(err.reduce((a, e) => a + e * e, 0) / err.length),
      mapePct: (ape.reduce((a, e) => a + e, 0) / ape.length) * 100,
      maxApePct: Math.max(...ape) * 100,
      biasPct: (rows.reduce((a, r) => a + (r.predictedMs - r.measuredMs) / r.measuredMs, 0) / rows.length) * 100,
      kendallTau: kendallTau(
        rows.map((r) => r.predictedMs),
        rows.map((r) => r.measuredMs),
      ).tau,
    };
  });
  const meanMeasured = measured.reduce((a, r) => a + r.medianMs, 0) / measured.length;

  // ProxylessNAS-Mobile from the published Pixel 1 table.
  const pixel = readLatencyTable(dataFile('latency', 'proxylessnas_mobile_trim.yaml'));
  const mobile = fromNetConfig(
    JSON.parse(readFileSync(dataFile('latency', 'proxylessnas_proxyless_mobile.config'), 'utf8')),
    224,
  );
  let strictMissing = 0;
  try {
    predictLatency(pixel, mobile);
  } catch (e) {
    if (e instanceof MissingLatencyError) strictMissing = e.keys.length;
    else throw e;
  }
  const pixelNearest = predictLatency(pixel, mobile, { missing: 'nearest' }).totalMs;
  const pixelScale = predictLatency(pixel, mobile, { missing: 'scale' }).totalMs;
  const totalS = (Date.now() - started) / 1000;

  const summary = {
    machine: `${cpu.model}, ${cpu.availableCores} cores available`,
    library: describeBackend(info),
    backend,
    threads,
    space: values.space,
    resolution,
    archs: archs.length,
    rounds,
    ops: keys.length,
    meanMeasuredMs: meanMeasured,
    totalSeconds: totalS,
    results,
    pixel1: { measuredMs: PIXEL1_MEASURED_MS, strictMissingKeys: strictMissing, nearestMs: pixelNearest, scaleMs: pixelScale },
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return;
  }
  const pct = (p: number, m: number): string => `${(((p - m) / m) * 100).toFixed(1)}%`;
  const out: string[] = [];
  out.push(
    `### Latency predictor vs end-to-end (${summary.machine}; ${summary.library}; ${threads} thread(s); ${resolution}x${resolution}, batch 1)`,
  );
  out.push('');
  out.push(
    `| arch | blocks | measured ms (median) | IQR ms | ${results.map((r) => `predicted ms, ${r.label} | error`).join(' | ')} |`,
  );
  out.push(`|---:|---:|---:|---:|${results.map(() => '---:|---:|').join('')}`);
  archs.forEach((_, i) => {
    const m = measured[i];
    const cells = results.map((r) => `${r.rows[i].predictedMs.toFixed(4)} | ${pct(r.rows[i].predictedMs, m.medianMs)}`);
    out.push(`| ${i} | ${results[0].rows[i].blocks} | ${m.medianMs.toFixed(4)} | ${m.iqrMs.toFixed(4)} | ${cells.join(' | ')} |`);
  });
  out.push('');
  out.push(
    '| table | archs | table ops | RMSE ms | MAPE | max APE | mean signed error | Kendall tau | mean measured ms | RMSE / MAPE after LOO scale calibration |',
  );
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    out.push(
      `| ${r.label} | ${archs.length} | ${keys.length} | ${r.rmseMs.toFixed(4)} | ${r.mapePct.toFixed(1)}% | ${r.maxApePct.toFixed(1)}% | ` +
        `${r.biasPct.toFixed(1)}% | ${r.kendallTau.toFixed(3)} | ${meanMeasured.toFixed(4)} | ` +
        `${r.calibratedRmseMs.toFixed(4)} / ${r.calibratedMapePct.toFixed(1)}% |`,
    );
  }
  out.push('');
  out.push(
    `${rounds} interleaved rounds (table ops: ${fields.join(' and ')} of ${values.repeats} runs each; networks: median of ${values['net-repeats']} runs), medians over rounds; ${variants.map((v, k) => `${v.label}: ${flushNote[k]}`).join('; ')}; wall time ${totalS.toFixed(0)} s`,
  );
  out.push('');
  out.push('### ProxylessNAS-Mobile on Pixel 1 from the published table (measured whole network: 80.64 ms)');
  out.push('');
  out.push('| missing-key policy | predicted ms | error |');
  out.push('|---|---:|---:|');
  out.push(`| error (strict) | — (${strictMissing} keys missing from the table) | — |`);
  out.push(
    `| nearest (closest channels, same shape/op) | ${pixelNearest.toFixed(2)} | ${pct(pixelNearest, PIXEL1_MEASURED_MS)} |`,
  );
  out.push(`| scale (nearest × MAC ratio) | ${pixelScale.toFixed(2)} | ${pct(pixelScale, PIXEL1_MEASURED_MS)} |`);
  process.stdout.write(out.join('\n') + '\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`latency-predictor: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
