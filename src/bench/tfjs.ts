/**
 * tfjs baseline: @tensorflow/tfjs with the webgpu backend constructed on OUR GPUDevice (same Dawn
 * instance, same device, same queue), so both sides are timed by the same timer on the same hardware.
 *
 * The backend's kernels are registered under the name 'webgpu', so our backend instance replaces
 * the default 'webgpu' factory (which would open a second device). tfjs is a dev dependency: it is
 * imported lazily and a missing install is reported, not fatal.
 */
import type { Gpu } from '../gpu/gpu.js';
import { dawnGpu } from '../gpu/adapter.js';
import type { Sampler, TimedSample } from './measure.js';
import type { Tf, TfCase, TfTensor } from './registry.js';

/** The backend members we drive directly (not in its public typings). */
interface WebGpuBackendInternals {
  commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
  dispose(): void;
}

export interface TfjsBaseline {
  tf: Tf;
  version: string;
  /** Makes our webgpu backend current again (tfjs has one global backend; tfjs-wasm shares it). */
  select(): Promise<void>;
  /** Sampler for a tfjs case, timed with the same gpu.beginTimer()/endTimer() as our kernels. */
  sampler(tc: TfCase): Sampler;
  read(t: TfTensor): Promise<Float32Array>;
  dispose(): void;
}

export async function createTfjsBaseline(gpu: Gpu): Promise<TfjsBaseline> {
  // tfjs-backend-webgpu checks navigator.gpu at import; point it at our (pinned) Dawn instance.
  const g = globalThis as { navigator?: { gpu?: GPU } };
  g.navigator ??= {};
  if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: await dawnGpu(), configurable: true });

  let tf: Tf;
  let WebGPUBackend: new (device: GPUDevice, info?: GPUAdapterInfo) => unknown;
  try {
    tf = await import('@tensorflow/tfjs');
    ({ WebGPUBackend } = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as {
      WebGPUBackend: new (device: GPUDevice, info?: GPUAdapterInfo) => unknown;
    });
  } catch (e) {
    throw new Error(
      `the tfjs baseline needs @tensorflow/tfjs and @tensorflow/tfjs-backend-webgpu (dev dependencies of wgnas, not installed with the package: npm install @tensorflow/tfjs@4 @tensorflow/tfjs-backend-webgpu@4): ${(e as Error).message}`,
    );
  }
  const backend = new WebGPUBackend(gpu.device) as WebGpuBackendInternals;
  if (typeof backend.submitQueue !== 'function' || typeof backend.endComputePassEncoder !== 'function') {
    throw new Error(
      'this @tensorflow/tfjs-backend-webgpu version lacks submitQueue/endComputePassEncoder; the tfjs baseline cannot time it',
    );
  }
  // The import registered a factory that would open its own device: replace it (registerBackend
  // alone keeps an existing factory).
  try {
    tf.removeBackend('webgpu');
  } catch {
    // not registered: nothing to replace
  }
  tf.registerBackend('webgpu', () => backend as never, 100);
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs refused to initialise its webgpu backend on our device');
  await tf.ready();
  if ((tf.backend() as unknown) !== backend) throw new Error('tfjs is not running on the backend built on our device');
  // Keep the whole op in one command buffer (as ours is) and never hand small ops to the CPU.
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', 1 << 30);
  tf.env().set('WEBGPU_CPU_FORWARD', false);

  const submit = () => {
    if (backend.commandEncoder) {
      backend.endComputePassEncoder();
      backend.submitQueue();
    }
  };

  const sampler =
    (tc: TfCase): Sampler =>
    async (inner) => {
      const outs: TfTensor[] = [];
      let s: TimedSample;
      if (gpu.hasTimestamps) {
        // Encode first, then bracket only the submission with our timestamps: GPU time, without
        // the idle gap while tfjs encodes (our own passes are encoded before submission too).
        for (let i = 0; i < inner; i++) outs.push(tc.run());
        await gpu.beginTimer();
        gpu.flush();
        submit();
        s = await gpu.endTimer();
      } else {
        // Wall clock covers encode + submit + execution, as it does for ours.
        await gpu.beginTimer();
        for (let i = 0; i < inner; i++) outs.push(tc.run());
        submit();
        s = await gpu.endTimer();
      }
      tf.dispose(outs);
      return s;
    };

  return {
    tf,
    version: tf.version.tfjs,
    select: async () => {
      if (tf.getBackend() !== 'webgpu' && !(await tf.setBackend('webgpu')))
        throw new Error('tfjs could not switch back to its webgpu backend');
      if ((tf.backend() as unknown) !== backend) throw new Error('tfjs is not running on the backend built on our device');
    },
    sampler,
    read: async (t) => Float32Array.from(await t.data()),
    dispose: () => {
      submit();
      tf.removeBackend('webgpu');
      backend.dispose();
    },
  };
}
