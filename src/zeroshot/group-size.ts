/**
 * How many architectures to score per group when asked for `--group auto`: as many as the
 * adapter's memory holds at the working set one architecture needs (measured by the buffer pool
 * on the first one), up to MAX_AUTO_GROUP. WebGPU does not report device memory, so the budget is
 * $WGNAS_GPU_MEMORY_BYTES when set (the device suite sets half of nvidia-smi's memory.total), else
 * twice maxBufferSize (the largest single allocation the adapter allows; discrete GPUs report 2-4
 * GiB there on 8-141 GB cards), capped at 16 GiB. One NB201 network at batch 64 needs about 1.8
 * GiB (its whole tape is alive until the group's correlations are read). Software adapters
 * (lavapipe) gain nothing from grouping and stay at 1.
 */
import type { Gpu } from '../gpu/gpu.js';

export const MAX_AUTO_GROUP = 64;
const GiB = 1024 ** 3;

export function memoryBudgetBytes(gpu: Pick<Gpu, 'adapter'>): number {
  const env = Number(process.env.WGNAS_GPU_MEMORY_BYTES);
  if (Number.isFinite(env) && env > 0) return env;
  const maxBuffer = gpu.adapter.limits.maxBufferSize ?? 256 * 1024 * 1024;
  return Math.min(16 * GiB, 2 * maxBuffer);
}

/** Group size for architectures of `perArchBytes` working set each (1 on software adapters). */
export function autoGroupSize(gpu: Pick<Gpu, 'adapter'>, perArchBytes: number): number {
  if (gpu.adapter.isSoftware) return 1;
  if (!(perArchBytes > 0)) return MAX_AUTO_GROUP;
  return Math.max(1, Math.min(MAX_AUTO_GROUP, Math.floor(memoryBudgetBytes(gpu) / perArchBytes)));
}
