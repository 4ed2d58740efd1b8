/**
 * The webgpu backend: today's WGSL kernels through Dawn, unchanged, bound to one Gpu. Ops are the
 * descriptors' `webgpu` functions (webgpuOpRegistry); storage is the Gpu's buffer pool.
 */
import type { Gpu } from '../gpu/gpu.js';
import { GpuTensor, sameBuffer } from '../gpu/tensor.js';
import { assertUnaliased } from '../kernels/params.js';
import { OP_NAMES, webgpuOpRegistry } from '../kernels/ops.js';
import { synflowSeed } from '../kernels/synflow-seed.js';
import type { Backend, BackendMemory, BackendStats, KernelProfile } from './backend.js';
import { bindOps } from './bind.js';
import { assertLive, ForeignTensorError, type Tensor } from './tensor.js';

export interface WebgpuBackendOptions {
  /** dispose() destroys the Gpu (default false: the caller owns it). */
  ownsDevice?: boolean;
}

export function webgpuBackend(gpu: Gpu, opts: WebgpuBackendOptions = {}): Backend {
  const owns = (t: unknown): t is GpuTensor => t instanceof GpuTensor && t.gpu === gpu;
  const own = (t: Tensor, what: string): GpuTensor => {
    if (!owns(t)) throw new ForeignTensorError(`${what}: tensor [${t.shape.join(', ')}] does not belong to this webgpu backend`);
    assertLive(t, what);
    return t;
  };
  const reg = webgpuOpRegistry();
  const impls = Object.fromEntries(OP_NAMES.map((n) => [n, reg.get(n, 'webgpu')])) as unknown as Parameters<typeof bindOps>[1];
  const limits = gpu.adapter.limits;
  let disposed = false;
  const backend: Backend = {
    name: 'webgpu',
    device: 'gpu',
    deviceName: gpu.name,
    isSoftware: gpu.adapter.isSoftware,
    threads: null,
    limits: {
      maxTensorBytes: limits.maxStorageBufferBindingSize ?? 128 * 1024 * 1024,
      maxBatchedLayers: limits.maxComputeWorkgroupsPerDimension ?? 65535,
      maxBufferBytes: limits.maxBufferSize ?? 256 * 1024 * 1024,
    },
    empty: (shape, label) => gpu.empty(shape, label),
    zeros: (shape) => gpu.zeros(shape),
    upload: (data, shape) => gpu.upload(data, shape),
    write: (t, data, offsetElems) => gpu.write(own(t, 'write'), data, offsetElems),
    copy: (src, dst, elems, srcOff, dstOff) => {
      const [s, d] = [own(src, 'copy'), own(dst, 'copy')];
      assertUnaliased('copy', [['dst', d]], [['src', s]], sameBuffer); // WebGPU copies between two buffers only
      gpu.copy(s, d, elems, srcOff, dstOff);
    },
    // async: a disposed or foreign tensor rejects, as read() does.
    readMany: async (ts) => gpu.readMany(ts.map((t) => own(t, 'readMany'))),
    window: (base, shape) => own(base, 'window').window(shape),
    flush: () => gpu.flush(),
    sync: () => gpu.sync(),
    stats: (): BackendStats => {
      const p = gpu.pool.stats();
      return {
        bytesInUse: p.bytesInUse,
        peakBytesInUse: p.peakBytesInUse,
        bytesAllocated: p.bytesAllocated,
        opsEnqueued: gpu.dispatchCount,
      };
    },
    memory: (): BackendMemory => {
      const p = gpu.pool.stats(); // only tensors take buffers from the pool: one each
      return { tensors: p.buffersInUse, bytes: p.bytesInUse, leakedTensors: gpu.leakedTensors };
    },
    resetPeak: () => gpu.pool.resetPeak(),
    trimPool: (opts) => gpu.releaseFreeBuffers(opts),
    startProfile: () => gpu.startProfile(),
    stopProfile: async (): Promise<KernelProfile> => {
      const p = await gpu.stopProfile();
      const kernels = p.kernels.map((k) => ({ kernel: k.kernel, count: k.dispatches, deviceMs: k.gpuMs, hostMs: k.hostMs }));
      return {
        device: 'gpu',
        deviceName: gpu.name,
        clock: p.source === 'timestamp-query' ? 'gpu-timestamps' : 'gpu-host-only',
        wallMs: p.wallMs,
        deviceMs: kernels.reduce((a, k) => a + k.deviceMs, 0),
        hostMs: kernels.reduce((a, k) => a + (k.hostMs ?? 0), 0),
        ops: p.dispatches,
        submits: p.submits,
        hostWaits: p.hostWaits,
        kernels,
      };
    },
    dispose: () => {
      if (disposed) return;
      disposed = true;
      if (opts.ownsDevice) gpu.destroy();
    },
    ops: bindOps('webgpu', impls, gpu, owns),
    deviceOnly: {
      synflowSeed: (logits, features, seed, status, maxShift) => {
        const w = 'synflowSeed';
        synflowSeed(gpu, own(logits, w), own(features, w), own(seed, w), own(status, w), maxShift);
      },
    },
  };
  gpus.set(backend, gpu);
  return backend;
}

const gpus = new WeakMap<Backend, Gpu>();

/** The Gpu under a webgpu backend (for GPU-only tools: the bench, the autotuner), or null on the CPU. */
export function gpuOf(backend: Backend): Gpu | null {
  return gpus.get(backend) ?? null;
}
