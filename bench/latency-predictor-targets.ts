/**
 * The lookup-table latency predictor across devices (issue 22): for each target, a table of the ops
 * that N random ProxylessNAS architectures use, then each whole network measured on the same device,
 * and RMSE / MAPE / the share of networks predicted within ±10 % (nn-Meter's headline measure) /
 * Kendall tau of the table sums against the measurements. Targets:
 *   cpu-onednn, cpu-xnnpack  this machine's CPU through the addon (caches flushed before each run)
 *   aarch64-qemu             the aarch64 profiler over ssh under qemu-user (a throwaway sshd on
 *                            127.0.0.1): the remote pipeline end to end; emulated timings mean nothing
 *   gpu                      the WebGPU adapter, timestamp queries, ops and networks as wgnas runs them
 *
 *   npx tsx bench/latency-predictor-targets.ts [--resolution 32] [--archs 20] [--seed 1] [--repeats 20]
 *       [--net-repeats 15] [--targets cpu-onednn,cpu-xnnpack,aarch64-qemu,gpu] [--json FILE]
 * (--json under bench/results/<experiment>/<date>/ records command and commit beside it: bench/results-dir.ts)
 */
import { parseArgs } from 'node:util';

import { webgpuBackend } from '../src/backend/index.js';
import { acquireGpu } from '../src/gpu/adapter.js';
import { archParts, archToNativeOps, type ProxylessArch } from '../src/latency/arch.js';
import { archToCellNet } from '../src/mobilenet/proxyless-arch.js';
import { gpuTableSource, samplesToEntry, timeGpuNetwork } from '../src/mobilenet/gpu-profiler.js';
import type { LatencyTable } from '../src/latency/lut.js';
import { predictLatency } from '../src/latency/predictor.js';
import { buildLatencyTable } from '../src/latency/profiler.js';
import { RemoteProfiler, remoteResultToEntry, remoteTableSource } from '../src/latency/remote-profiler.js';
import { archFromChoices, proxylessSpace, randomChoices } from '../src/latency/space.js';
import { buildTable } from '../src/latency/table-writer.js';
import { loadNative, type BackendName } from '../src/native/binding.js';
import { kendallTau } from '../src/util/ranks.js';
import { Rng } from '../src/util/rng.js';
import { ARM64_PREFIX, QEMU, startSshd } from '../test/helpers/sshd.js';
import { writeResult } from './results-dir.js';

interface Row {
  target: string;
  device: string;
  note: string;
  archs: number;
  ops: number;
  rmseMs: number;
  mapePct: number;
  within10Pct: number;
  kendallTau: number;
  meanMeasuredMs: number;
  seconds: number;
  pairs: Array<{ predictedMs: number; measuredMs: number }>;
}

function score(target: string, device: string, note: string, ops: number, pairs: Row['pairs'], seconds: number): Row {
  const err = pairs.map((p) => p.predictedMs - p.measuredMs);
  const ape = pairs.map((p) => Math.abs(p.predictedMs - p.measuredMs) / p.measuredMs);
  return {
    target,
    device,
    note,
    archs: pairs.length,
    ops,
    rmseMs: Math.sqrt(err.reduce((a, e) => a + e * e, 0) / err.length),
    mapePct: (ape.reduce((a, e) => a + e, 0) / ape.length) * 100,
    within10Pct: (ape.filter((e) => e <= 0.1).length / ape.length) * 100,
    kendallTau: kendallTau(
      pairs.map((p) => p.predictedMs),
      pairs.map((p) => p.measuredMs),
    ).tau,
    meanMeasuredMs: pairs.reduce((a, p) => a + p.measuredMs, 0) / pairs.length,
    seconds,
    pairs,
  };
}

const predictions = (table: LatencyTable, archs: ProxylessArch[]) =>
  archs.map((a) => predictLatency(table, a, { field: 'median' }).totalMs);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      resolution: { type: 'string', default: '32' },
      archs: { type: 'string', default: '20' },
      seed: { type: 'string', default: '1' },
      repeats: { type: 'string', default: '20' },
      'net-repeats': { type: 'string', default: '15' },
      targets: { type: 'string', default: 'cpu-onednn,cpu-xnnpack,aarch64-qemu,gpu' },
      json: { type: 'string' },
    },
  });
  const resolution = Number(values.resolution);
  const repeats = Number(values.repeats);
  const netRepeats = Number(values['net-repeats']);
  const space = proxylessSpace({ inputSize: resolution });
  const rng = new Rng(Number(values.seed));
  const seen = new Set<string>();
  const archs: ProxylessArch[] = [];
  while (archs.length < Number(values.archs)) {
    const c = randomChoices(space, rng);
    if (seen.has(c.join())) continue;
    seen.add(c.join());
    archs.push(archFromChoices(space, c));
  }
  const keys = [...new Set(archs.flatMap((a) => archParts(a).map((p) => p.key)))];
  const rows: Row[] = [];
  const log = (m: string) => process.stderr.write(`${m}\n`);

  for (const target of values.targets!.split(',')) {
    const t0 = Date.now();
    log(`${target}: ${keys.length} ops, then ${archs.length} networks at ${resolution}x${resolution}...`);
    if (target === 'cpu-onednn' || target === 'cpu-xnnpack') {
      const backend = target.slice(4) as BackendName;
      const native = loadNative();
      const { table } = await buildLatencyTable({
        keys,
        backend,
        repeats,
        warmup: 3,
        maxTimeMs: 1000,
        flushBytes: 'auto',
        native,
      });
      const pred = predictions(table, archs);
      const pairs = [];
      for (const [i, a] of archs.entries()) {
        const r = await native.profile(archToNativeOps(a), { backend, repeats: netRepeats, warmup: 3, maxTimeMs: 3000 });
        pairs.push({ predictedMs: pred[i], measuredMs: r.medianMs });
      }
      rows.push(
        score(
          target,
          `${table.meta.cpu}, ${table.meta.library}`,
          '1 thread, pinned, caches flushed',
          keys.length,
          pairs,
          (Date.now() - t0) / 1000,
        ),
      );
    } else if (target === 'aarch64-qemu') {
      const sshd = await startSshd({
        arm: { WGNAS_TARGET_ARCH: 'aarch64', WGNAS_TARGET_EMULATOR: QEMU, QEMU_LD_PREFIX: ARM64_PREFIX },
      });
      try {
        const o = {
          target: sshd.url('arm'),
          identity: sshd.identity,
          knownHosts: sshd.knownHosts,
          targetDir: `${sshd.dir}/remote`,
          repeats: Math.max(3, Math.round(repeats / 4)),
          warmup: 1,
          maxTimeMs: 1000,
        };
        const { table } = await buildTable({ keys }, remoteTableSource(keys, o));
        const pred = predictions(table, archs);
        const remote = new RemoteProfiler({ ...o, repeats: Math.max(3, Math.round(netRepeats / 4)), maxTimeMs: 3000 });
        const measured = new Map<string, number>();
        await remote.measure(
          archs.map((a, i) => ({ id: `net${i}`, ops: archToNativeOps(a) })),
          (id, r) => measured.set(id, remoteResultToEntry(r).median!),
        );
        const pairs = archs.map((_, i) => ({ predictedMs: pred[i], measuredMs: measured.get(`net${i}`)! }));
        rows.push(
          score(
            target,
            `aarch64 under qemu-user on ${table.meta.cpu}, ${table.meta.library}`,
            'EMULATED: pipeline only, timings meaningless',
            keys.length,
            pairs,
            (Date.now() - t0) / 1000,
          ),
        );
      } finally {
        sshd.stop();
      }
    } else if (target === 'gpu') {
      const gpu = await acquireGpu();
      const be = webgpuBackend(gpu);
      try {
        const opts = { repeats: Math.max(5, Math.round(repeats / 2)), warmup: 2, maxTimeMs: 3000 };
        const { table } = await buildTable({ keys }, gpuTableSource(keys, be, opts));
        log(`  table of ${keys.length} ops: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        const pred = predictions(table, archs);
        const pairs = [];
        for (const [i, a] of archs.entries()) {
          const net = archToCellNet(a);
          const m = await timeGpuNetwork(be, net.layout, net.cells, net.choices, {
            ...opts,
            repeats: Math.max(5, Math.round(netRepeats / 2)),
          });
          pairs.push({ predictedMs: pred[i], measuredMs: samplesToEntry(m.samplesMs).median! });
          // One line per network as it is measured: a run cut by a time limit (the device suite) keeps them.
          log(
            `  net ${i + 1}/${archs.length}: predicted ${pred[i].toFixed(4)} ms, measured ${pairs[i].measuredMs.toFixed(4)} ms`,
          );
        }
        rows.push(
          score(
            target,
            `${table.meta.gpu} (${table.meta.adapter}), ${table.meta.library}`,
            `batch 1, ${table.meta.timing}`,
            keys.length,
            pairs,
            (Date.now() - t0) / 1000,
          ),
        );
      } finally {
        gpu.destroy();
      }
    } else {
      throw new Error(`unknown target '${target}' (cpu-onednn, cpu-xnnpack, aarch64-qemu, gpu)`);
    }
    const r = rows.at(-1)!;
    log(`${target}: MAPE ${r.mapePct.toFixed(1)} %, within 10 %: ${r.within10Pct.toFixed(0)} %, ${r.seconds.toFixed(0)} s`);
  }
  if (values.json)
    writeResult(
      values.json,
      JSON.stringify(
        { date: new Date().toISOString(), resolution, archs: archs.length, seed: Number(values.seed), rows },
        null,
        2,
      ) + '\n',
    );
  const out = [
    `### Latency predictor across devices (${resolution}x${resolution}, batch 1, ${archs.length} random ProxylessNAS architectures, seed ${values.seed}; ${new Date().toISOString().slice(0, 10)})`,
    '',
    '| target | device | settings | ops | RMSE ms | MAPE | within ±10 % | Kendall tau | mean measured ms | wall s |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.target} | ${r.device} | ${r.note} | ${r.ops} | ${r.rmseMs.toFixed(4)} | ${r.mapePct.toFixed(1)} % | ${r.within10Pct.toFixed(0)} % | ${r.kendallTau.toFixed(2)} | ${r.meanMeasuredMs.toFixed(4)} | ${r.seconds.toFixed(0)} |`,
    ),
  ];
  process.stdout.write(out.join('\n') + '\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`latency-predictor-targets: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
