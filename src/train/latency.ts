/**
 * Batch-1 latency of a trained network, two ways. The deployable figure: the network as the native
 * addon's op chain (oneDNN primitives back to back, BN folded), what `predict --measure` and the
 * latency tables time; only a network of MBConv blocks is such a chain. And wgnas' own eval-mode
 * forward on its CPU backend (the JS tape and one addon call per op, BN from the running
 * statistics): the training framework's cost, many times the op chain's on a small network.
 */
import { cpuBackend } from '../backend/cpu.js';
import type { ExportNetwork } from '../export/index.js';
import { cellNetNativeOps } from '../mobilenet/cell-latency-keys.js';
import { describeBackend, loadNative, type NativeOp, requireBackend } from '../native/binding.js';
import { NativeDevice } from '../native/device.js';
import { BnRunningStats } from '../nn/bn-running.js';
import { Tape } from '../nn/tape.js';
import { plural } from '../util/format.js';
import { buildNetwork, networkInputSize } from './network.js';

export interface LatencyOptions {
  runs?: number;
  warmup?: number;
  threads?: number;
}

export interface LatencyResult {
  latencyMs: number;
  runs: number;
  deviceName: string;
}

/** The network as the addon's op chain (as predict --measure runs it), or null: NAS-Bench-201 and cells that are no MBConv are no chain. */
export function networkOpChain(n: ExportNetwork): NativeOp[] | null {
  return n.kind === 'mobilenet' ? cellNetNativeOps(n.layout, n.cells) : null;
}

/** The median of `runs` timed runs of the network's op chain in the addon (oneDNN), as `predict --measure`. */
export async function measureOpChainMs(ops: NativeOp[], o: LatencyOptions = {}): Promise<LatencyResult> {
  const native = loadNative();
  const info = requireBackend(native, 'onednn');
  const runs = o.runs ?? 10;
  const r = await native.profile(ops, { backend: 'onednn', threads: o.threads ?? 1, repeats: runs, warmup: o.warmup ?? 3 });
  return {
    latencyMs: r.medianMs,
    runs: r.count,
    deviceName: `${describeBackend(info)} op chain, ${plural(r.threads, 'thread')}`,
  };
}

/** `weights`: parameters and '<bn>.running_mean' / '.running_var' by name (Trainer.weights()). */
export async function measureLatencyMs(
  n: ExportNetwork,
  weights: ReadonlyMap<string, { data: Float32Array }>,
  o: LatencyOptions = {},
): Promise<LatencyResult> {
  const backend = cpuBackend(NativeDevice.create({ threads: o.threads }), { ownsDevice: true });
  const net = buildNetwork(backend, n, 0);
  const bn = new BnRunningStats(backend);
  const S = networkInputSize(n);
  const x = backend.upload(new Float32Array(3 * S * S), [1, 3, S, S]);
  try {
    for (const p of net.params) {
      const w = weights.get(p.name);
      if (!w || w.data.length !== p.value.size)
        throw new RangeError(`latency: no weights of size ${p.value.size} for '${p.name}'`);
      backend.write(p.value, w.data);
    }
    bn.load(weights);
    const once = async (): Promise<number> => {
      const t0 = performance.now();
      const t = new Tape(backend, { noGrad: true, bnEval: bn });
      try {
        const { logits } = net.forward(t, t.input(x));
        await logits.value.read();
      } finally {
        t.dispose();
      }
      return performance.now() - t0;
    };
    for (let i = 0; i < (o.warmup ?? 2); i++) await once();
    const runs = o.runs ?? 10;
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) ms.push(await once());
    ms.sort((a, b) => a - b);
    return { latencyMs: ms[Math.floor(runs / 2)], runs, deviceName: backend.deviceName };
  } finally {
    x.dispose();
    bn.dispose();
    net.dispose();
    backend.dispose();
  }
}
