/**
 * Preloaded into the child processes a test starts but cannot vi.mock (`score --procs`'s children;
 * childGpuFaultsEnv() gives their environment): each child's device is lavapipe behind
 * faulty-device.ts, reported as a hardware adapter as in test/cli/gpu-faults.gpu.test.ts, with the
 * faults WGNAS_TEST_CHILD_GPU_FAULTS names.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { globals } from 'webgpu';
import { faultyDevice } from './faulty-device.js';

const ENV = 'WGNAS_TEST_CHILD_GPU_FAULTS';

export interface ChildGpuFaults {
  /** Refuse every allocation once the child has sent this many row messages to its parent. */
  refuseAfterRows?: number;
}

/** The environment of children (forked from this process) that preload this module with `faults`. */
export function childGpuFaultsEnv(faults: ChildGpuFaults): Record<string, string> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return {
    NODE_OPTIONS: `--import ${tsx} --import ${import.meta.url}`,
    [ENV]: JSON.stringify(faults),
  };
}

if (process.env[ENV]) {
  const faults = JSON.parse(process.env[ENV]) as ChildGpuFaults;
  let rowsSent = 0;
  const send = process.send?.bind(process);
  if (send) {
    process.send = ((m: { type?: string }, ...rest: never[]) => {
      if (m?.type === 'rows') rowsSent++;
      return send(m, ...rest);
    }) as typeof process.send;
  }
  const GPU = (globals as unknown as { GPU: { prototype: GPU } }).GPU;
  const requestAdapter = GPU.prototype.requestAdapter;
  GPU.prototype.requestAdapter = async function (this: GPU, o?: GPURequestAdapterOptions) {
    const real = await requestAdapter.call(this, o);
    if (!real) return real;
    // Reported as hardware: the kernels and groups of the in-process fault tests' runs.
    const hardware: Record<string | symbol, unknown> = {
      description: 'stand-in hardware',
      device: 'stand-in',
      architecture: 'stand-in',
    };
    const info = new Proxy(real.info, {
      get: (t, p) => (Object.hasOwn(hardware, p) ? hardware[p] : Reflect.get(t, p, t)),
    });
    const requestDevice = async (d?: GPUDeviceDescriptor) => {
      const refuse = () => faults.refuseAfterRows !== undefined && rowsSent >= faults.refuseAfterRows;
      return faultyDevice(await real.requestDevice(d), { refuse }).device;
    };
    return new Proxy(real, {
      get(t, p) {
        if (p === 'info') return info;
        if (p === 'requestDevice') return requestDevice;
        const v = Reflect.get(t, p, t) as unknown;
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
  };
}
