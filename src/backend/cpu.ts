/**
 * The cpu backend: the native addon's oneDNN primitives and C++ loops (src/native/device.ts) with
 * the ops of ./cpu/ registered under the OPS names. Tensors stay in pooled native memory between
 * ops; ops run in order on the device's worker thread, so the event loop stays free and only
 * read() / sync() wait.
 */
import { OP_NAMES, type OpName, OpRegistry, type Ops } from '../kernels/ops.js';
import { assertUnaliased } from '../kernels/params.js';
import { type NativeDevice, NativeTensor, sameStorage } from '../native/device.js';
import type { Backend, KernelProfile, WithContext } from './backend.js';
import { bindOps } from './bind.js';
import * as cpuOps from './cpu/index.js';
import { assertLive, ForeignTensorError, type Tensor } from './tensor.js';

/** Every op, with the WGSL wrapper's signature on a NativeDevice and NativeTensors (checked here at compile time). */
type CpuImpls = { readonly [N in OpName]: WithContext<Ops[N]['webgpu'], NativeDevice, NativeTensor> };

const CPU_IMPLS: CpuImpls = Object.fromEntries(OP_NAMES.map((n) => [n, cpuOps[n]])) as Pick<typeof cpuOps, OpName>;

/** A registry holding every op's cpu implementation (missing('cpu') is empty; a test keeps it so). */
export function cpuOpRegistry(reg = new OpRegistry()): OpRegistry {
  for (const name of OP_NAMES) if (typeof CPU_IMPLS[name] === 'function') reg.register(name, 'cpu', CPU_IMPLS[name]);
  return reg;
}

export interface CpuBackendOptions {
  /** dispose() destroys the device (default false: the caller owns it). */
  ownsDevice?: boolean;
}

export function cpuBackend(dev: NativeDevice, opts: CpuBackendOptions = {}): Backend {
  const owns = (t: unknown): t is NativeTensor => t instanceof NativeTensor && t.device === dev;
  const own = (t: Tensor, what: string): NativeTensor => {
    if (!owns(t)) throw new ForeignTensorError(`${what}: tensor [${t.shape.join(', ')}] does not belong to this cpu backend`);
    assertLive(t, what);
    return t;
  };
  const reg = cpuOpRegistry();
  const impls = Object.fromEntries(OP_NAMES.map((n) => [n, reg.get(n, 'cpu')])) as Parameters<typeof bindOps>[1];
  let disposed = false;
  let profileStart: { ms: number; ops: number } | null = null;
  return {
    name: 'cpu',
    device: 'cpu',
    deviceName: dev.name,
    isSoftware: false,
    threads: dev.threads,
    // Native memory has no binding limit; the arena bound keeps one chunk's memory modest.
    limits: { maxTensorBytes: 2 ** 31 - 1, maxBatchedLayers: 2 ** 31 - 1, maxBufferBytes: 2 ** 40 },
    empty: (shape, label) => dev.empty(shape, label),
    zeros: (shape) => dev.zeros(shape),
    upload: (data, shape) => dev.upload(data, shape),
    write: (t, data, offsetElems) => dev.write(own(t, 'write'), data, offsetElems),
    copy: (src, dst, elems, srcOff, dstOff) => {
      const [s, d] = [own(src, 'copy'), own(dst, 'copy')];
      assertUnaliased('copy', [['dst', d]], [['src', s]], sameStorage); // as the webgpu backend
      dev.copy(s, d, elems, srcOff, dstOff);
    },
    // async: a disposed or foreign tensor rejects, as read() does.
    readMany: async (ts) => Promise.all(ts.map((t) => dev.read(own(t, 'readMany')))),
    window: (base, shape) => own(base, 'window').window(shape),
    flush: () => dev.flush(),
    sync: () => dev.sync(),
    stats: () => {
      const s = dev.stats();
      return {
        bytesInUse: s.bytesInUse,
        peakBytesInUse: s.peakBytesInUse,
        bytesAllocated: s.bytesAllocated,
        opsEnqueued: s.enqueued,
      };
    },
    memory: () => {
      const s = dev.stats();
      return { tensors: s.tensors, bytes: s.bytesInUse, leakedTensors: dev.leakedTensors };
    },
    resetPeak: () => dev.resetPeak(),
    startProfile: () => {
      if (profileStart !== null) throw new Error('startProfile: a profile is already running');
      dev.profile(true);
      profileStart = { ms: performance.now(), ops: dev.stats().enqueued };
    },
    stopProfile: async (): Promise<KernelProfile> => {
      if (profileStart === null) throw new Error('stopProfile: no profile is running (call startProfile first)');
      const start = profileStart;
      try {
        await dev.sync();
        const p = dev.profile();
        const kernels = Object.entries(p.ops)
          .map(([kernel, o]) => ({ kernel, count: o.count, deviceMs: o.ms }))
          .sort((a, b) => b.deviceMs - a.deviceMs);
        return {
          device: 'cpu',
          deviceName: dev.name,
          clock: 'cpu-worker',
          wallMs: performance.now() - start.ms,
          deviceMs: kernels.reduce((a, k) => a + k.deviceMs, 0),
          idleMs: p.idleMs,
          ops: dev.stats().enqueued - start.ops,
          kernels,
        };
      } finally {
        profileStart = null;
      }
    },
    dispose: () => {
      if (disposed) return;
      disposed = true;
      if (opts.ownsDevice) dev.destroy();
    },
    ops: bindOps('cpu', impls, dev, owns),
    fused: {
      correlationsOffDiag: (xs, n, d, out) => {
        const w = 'correlationsOffDiag';
        cpuOps.correlationsOffDiag(
          dev,
          xs.map((x) => own(x, w)),
          n,
          d,
          own(out, w),
        );
      },
    },
  };
}
