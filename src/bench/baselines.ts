/**
 * The baselines a benchmark run compares ours with, each behind one Runner: tfjs on its webgpu
 * backend (same Dawn device, same timer as ours) and on its wasm backend, gpu.js (best working mode),
 * oneDNN / XNNPACK through the native addon (equivalent ops: run() for the output, profile() for the
 * time), and TypeScript on the CPU. Every baseline that produces an output is parity-guarded against
 * ours before it is timed.
 */
import type { Gpu } from '../gpu/gpu.js';
import { createGpuJsBaseline, GPUJS_MODES } from './gpujs.js';
import { createNativeBaseline } from './native.js';
import { createTfjsBaseline } from './tfjs.js';
import { createTfjsWasmBaseline } from './tfjs-wasm.js';
import type { BaselineConfig, BaselineName, Runner } from './baseline-common.js';
import { cpuRunner, firstLine, gpujsRunner, nativeRunner, tfjsWasmRunner, tfjsWebgpuRunner } from './baseline-runners.js';

export * from './baseline-common.js';

/** A baseline that could not start: every row says why. */
function unavailable(name: BaselineName, label: string, why: string): Runner {
  return {
    name,
    label,
    where: `unavailable (${why})`,
    available: false,
    covers: () => false,
    run: async () => ({ status: 'skipped', label, note: why }),
    dispose: () => {},
  };
}

const LABELS: Record<BaselineName, string> = {
  'tfjs-webgpu': 'tfjs-webgpu',
  'tfjs-wasm': 'tfjs-wasm',
  gpujs: 'gpu.js',
  onednn: 'oneDNN',
  xnnpack: 'XNNPACK',
  cpu: 'cpu',
};

/** Starts the named baselines; one that cannot start becomes a runner that skips with the reason. */
export async function createRunners(
  gpu: Gpu | null,
  names: readonly BaselineName[],
  cfg: BaselineConfig,
  log: (l: string) => void,
): Promise<Runner[]> {
  const cpuMaxFlops = cfg.cpuMaxFlops ?? 4e9;
  const runners: Runner[] = [];
  for (const name of names) {
    try {
      switch (name) {
        case 'tfjs-webgpu':
          if (!gpu) throw new Error('it shares our GPU device, and ours runs on the CPU here (--device gpu to compare)');
          runners.push(tfjsWebgpuRunner(await createTfjsBaseline(gpu)));
          break;
        case 'tfjs-wasm':
          runners.push(tfjsWasmRunner(await createTfjsWasmBaseline(), 10 * cpuMaxFlops));
          break;
        case 'gpujs':
          runners.push(gpujsRunner(await createGpuJsBaseline(cfg.gpujsModes ?? GPUJS_MODES), cpuMaxFlops));
          break;
        case 'onednn':
        case 'xnnpack':
          runners.push(nativeRunner(name, createNativeBaseline(name, { threads: cfg.nativeThreads })));
          break;
        case 'cpu':
          runners.push(cpuRunner(cpuMaxFlops));
          break;
      }
    } catch (e) {
      const why = firstLine(e);
      log(`${LABELS[name]} baseline unavailable: ${why}`);
      runners.push(unavailable(name, LABELS[name], why));
    }
  }
  return runners;
}
