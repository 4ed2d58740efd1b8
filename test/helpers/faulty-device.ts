/**
 * A real GPUDevice (lavapipe's, or Dawn's null backend's) behind a stand-in that fails the way a
 * big GPU fails mid-run, without one:
 *  - an allocation refused for lack of memory, as Dawn reports it: createBuffer hands back an
 *    invalid buffer (every use of it fails validation and is dropped) and the error goes to the
 *    innermost 'out-of-memory' error scope, else to the 'uncapturederror' listeners; with
 *    mappedAtCreation it throws RangeError (WebGPU's rule);
 *  - the device lost (a driver reset, an Xid error): `lost` resolves with reason 'unknown' and the
 *    real device is destroyed, so pending maps reject and later work is dropped, as Dawn does;
 *  - the driver's memory as Dawn holds it (`driverBytes`): a destroyed buffer's bytes stay taken
 *    until a later submission (Dawn frees them when one completes; counted free at the submit);
 *  - a pipeline the driver's compiler refuses (WGSL Dawn took, the backend's compiler did not, as
 *    NVIDIA's has): createComputePipeline hands back an invalid pipeline of the same label and the
 *    error, a GPUInternalError, goes to the innermost 'internal' error scope, else to the listeners;
 *  - optionally, error scopes that reject once the device is lost (rejectScopesWhenLost).
 * Everything else goes to the real device.
 */
import { globals } from 'webgpu';

Object.assign(globalThis, globals);

export interface Faults {
  /** Refuse this allocation (n: the 1-based count of createBuffer calls). */
  refuse?: (desc: GPUBufferDescriptor, n: number) => boolean;
  /** Lose the device at the n-th createBuffer call. */
  loseAtAllocation?: number;
  /** Lose the device at the n-th queue.submit (before it). */
  loseAtSubmit?: number;
  /** How a loss happens: 'driver' (reason 'unknown', the default) or 'destroy' (the real device.destroy()). */
  loss?: 'driver' | 'destroy';
  /** Refuse this pipeline as the driver's compiler would (an internal error). */
  failPipeline?: (desc: GPUComputePipelineDescriptor) => boolean;
  /**
   * Reject the error scopes that settle after a loss (an OperationError), as the runtime expects of
   * some Dawn backends; lavapipe's resolves them with null, as WebGPU says.
   */
  rejectScopesWhenLost?: boolean;
}

export interface FaultyDevice {
  device: GPUDevice;
  /** createBuffer calls so far, and the sizes of those refused. */
  allocations: number;
  refusedBytes: number[];
  submits: number;
  /** Bytes of the buffers created and not yet freed: live, or destroyed with no submission since. */
  driverBytes: number;
  /** Loses the device now. */
  lose(message?: string): void;
  /** Raises `error` as Dawn raises an error no scope catches: to the 'uncapturederror' listeners. */
  raiseUncaptured(error: GPUError): void;
}

interface Scope {
  filter: GPUErrorFilter;
  injected: GPUError | null;
}

export function faultyDevice(real: GPUDevice, faults: Faults = {}): FaultyDevice {
  const scopes: Scope[] = [];
  const uncaptured: Array<(ev: { error: GPUError; preventDefault(): void }) => void> = [];
  let resolveLost: (info: GPUDeviceLostInfo) => void = () => {};
  const lost = new Promise<GPUDeviceLostInfo>((r) => (resolveLost = r));
  void real.lost.then((info) => resolveLost(info));

  let isLost = false;
  const state: FaultyDevice = {
    device: undefined as unknown as GPUDevice,
    allocations: 0,
    refusedBytes: [],
    submits: 0,
    driverBytes: 0,
    lose(message = 'VK_ERROR_DEVICE_LOST (stand-in: Xid 79, GPU has fallen off the bus)') {
      isLost = true;
      if (faults.loss !== 'destroy') resolveLost({ reason: 'unknown', message } as GPUDeviceLostInfo);
      real.destroy();
    },
    raiseUncaptured(error) {
      for (const l of uncaptured) l({ error, preventDefault() {} });
    },
  };

  const report = (error: GPUError, filter: GPUErrorFilter) => {
    const scope = [...scopes].reverse().find((s) => s.filter === filter);
    if (scope) scope.injected ??= error;
    else for (const l of uncaptured) l({ error, preventDefault() {} });
  };

  /** Bytes destroyed since the last submit: freed by the next one. */
  let destroyedBytes = 0;
  const counted = (buf: GPUBuffer, bytes: number): GPUBuffer => {
    state.driverBytes += bytes;
    const destroy = buf.destroy.bind(buf);
    let done = false;
    buf.destroy = () => {
      if (!done) destroyedBytes += bytes;
      done = true;
      destroy();
    };
    return buf;
  };

  const createBuffer = (desc: GPUBufferDescriptor): GPUBuffer => {
    const n = ++state.allocations;
    if (n === faults.loseAtAllocation) state.lose();
    if (!faults.refuse?.(desc, n)) return counted(real.createBuffer(desc), desc.size);
    state.refusedBytes.push(desc.size);
    if (desc.mappedAtCreation) throw new RangeError(`createBuffer: out of memory for ${desc.size} bytes (stand-in)`);
    // An invalid buffer of the asked size: MAP_READ with MAP_WRITE fails validation (swallowed here).
    real.pushErrorScope('validation');
    const buf = real.createBuffer({ ...desc, usage: desc.usage | GPUBufferUsage.MAP_READ | GPUBufferUsage.MAP_WRITE });
    void real.popErrorScope();
    report(new GPUOutOfMemoryError(`Out of memory (stand-in): createBuffer of ${desc.size} bytes`), 'out-of-memory');
    return buf;
  };

  const createComputePipeline = (desc: GPUComputePipelineDescriptor): GPUComputePipeline => {
    if (!faults.failPipeline?.(desc)) return real.createComputePipeline(desc);
    // An invalid pipeline of the same label: an entry point the module lacks (its validation error swallowed).
    real.pushErrorScope('validation');
    const pipeline = real.createComputePipeline({ ...desc, compute: { ...desc.compute, entryPoint: 'no_such_entry_point' } });
    void real.popErrorScope();
    report(new GPUInternalError(`Internal error (stand-in): the driver failed to compile "${desc.label}"`), 'internal');
    return pipeline;
  };

  const queue = new Proxy(real.queue, {
    get(target, prop) {
      if (prop === 'submit') {
        return (buffers: Iterable<GPUCommandBuffer>) => {
          if (++state.submits === faults.loseAtSubmit) state.lose();
          state.driverBytes -= destroyedBytes;
          destroyedBytes = 0;
          target.submit(buffers);
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });

  const overrides: Record<string | symbol, unknown> = {
    createBuffer,
    createComputePipeline,
    queue,
    lost,
    pushErrorScope(filter: GPUErrorFilter) {
      scopes.push({ filter, injected: null });
      real.pushErrorScope(filter);
    },
    popErrorScope(): Promise<GPUError | null> {
      const s = scopes.pop();
      const p = real.popErrorScope().then((e) => {
        if (faults.rejectScopesWhenLost && isLost) throw new Error('OperationError: the device is lost (stand-in)');
        return e;
      });
      return s?.injected ? p.then(() => s.injected) : p;
    },
    addEventListener(type: string, listener: (ev: never) => void) {
      if (type === 'uncapturederror') uncaptured.push(listener as (typeof uncaptured)[number]);
      real.addEventListener(type, listener as EventListener);
    },
  };

  state.device = new Proxy(real, {
    get(target, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop];
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return state;
}
