/**
 * tfjs-wasm baseline: the same tfjs op graphs as the webgpu baseline, on @tensorflow/tfjs-backend-wasm
 * (XNNPACK inside WebAssembly, on the CPU). The .wasm binaries are loaded from the package's dist/
 * folder (a plain directory path: Node's emscripten loader reads it with fs), never from the network.
 *
 * tfjs has one global backend registry: the webgpu baseline and this one coexist, and every use
 * selects its backend first (select()); tensors a case creates live on the backend current then.
 */
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import type { Sampler } from './measure.js';
import type { Tf, TfCase, TfTensor } from './registry.js';

export interface TfjsWasmBaseline {
  tf: Tf;
  version: string;
  /** 'SIMD, 1 thread' etc. */
  flavour: string;
  /** Makes 'wasm' the current tfjs backend (call before creating a case's tensors). */
  select(): Promise<void>;
  /** Wall clock: the wasm backend computes synchronously inside the op call. */
  sampler(tc: TfCase): Sampler;
  read(t: TfTensor): Promise<Float32Array>;
  dispose(): void;
}

/** The folder holding tfjs-backend-wasm*.wasm, with a trailing separator (setWasmPaths wants a prefix). */
export function tfjsWasmDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + sep;
}

export async function createTfjsWasmBaseline(): Promise<TfjsWasmBaseline> {
  let tf: Tf;
  let wasm: { setWasmPaths(prefix: string): void; version_wasm?: string };
  try {
    tf = await import('@tensorflow/tfjs');
    wasm = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as typeof wasm;
  } catch (e) {
    throw new Error(
      `the tfjs-wasm baseline needs @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm (dev dependencies of wgnas, not installed with the package: npm install @tensorflow/tfjs@4 @tensorflow/tfjs-backend-wasm@4): ${(e as Error).message}`,
    );
  }
  const prev = tf.getBackend();
  wasm.setWasmPaths(tfjsWasmDir());
  if (!(await tf.setBackend('wasm'))) throw new Error(`tfjs could not initialise its wasm backend from ${tfjsWasmDir()}`);
  await tf.ready();
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
  // Leave the previously current backend current: other baselines select theirs, but callers that
  // never heard of this one should not find tfjs switched under them.
  if (prev && prev !== 'wasm') await tf.setBackend(prev);

  return {
    tf,
    version: wasm.version_wasm ?? tf.version.tfjs,
    flavour: `${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'multi-threaded' : '1 thread'}`,
    select: async () => {
      if (tf.getBackend() !== 'wasm' && !(await tf.setBackend('wasm')))
        throw new Error('tfjs refused to switch to its wasm backend');
    },
    sampler: (tc) => async (inner) => {
      const outs: TfTensor[] = [];
      const t0 = performance.now();
      for (let i = 0; i < inner; i++) outs.push(tc.run());
      const ms = performance.now() - t0;
      tf.dispose(outs);
      return { ms, source: 'wall-clock' };
    },
    read: async (t) => Float32Array.from(await t.data()),
    // The backend stays registered: tfjs cannot unload the wasm module, and removing the factory
    // would stop a later run in this process from selecting it again.
    dispose: () => {},
  };
}
