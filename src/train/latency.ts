/**
 * Inference latency of a trained network through the native addon: its eval-mode forward (BN from
 * the running statistics) at batch 1 on the CPU backend, the median of timed runs after warm-up.
 */
import { cpuBackend } from '../backend/cpu.js';
import type { ExportNetwork } from '../export/index.js';
import { NativeDevice } from '../native/device.js';
import { BnRunningStats } from '../nn/bn-running.js';
import { Tape } from '../nn/tape.js';
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
