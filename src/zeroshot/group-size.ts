/**
 * How many architectures to score per group when asked for `--group auto`: as many as the
 * adapter's memory holds at the working set one architecture needs (measured by the buffer pool
 * on the first one), up to MAX_AUTO_GROUP. WebGPU does not report device memory, so the budget is
 * $WGNAS_GPU_MEMORY_BYTES when set (the device suite sets half of nvidia-smi's memory.total), else
 * twice maxBufferSize (the largest single allocation the adapter allows; discrete GPUs report 2-4
 * GiB there on 8-141 GB cards), capped at 16 GiB. One NB201 network at batch 64 needs about 1.8
 * GiB (its whole tape is alive until the group's correlations are read). Software adapters
 * (lavapipe) and the CPU backend gain nothing from grouping and stay at 1. --group-mode stacked
 * sizes each group from what it runs instead (stacked-memory.ts).
 */
import type { Backend } from '../backend/index.js';

export const MAX_AUTO_GROUP = 64;

/** How a group runs (ZeroShotOptions.groupMode, `score --group-mode`). */
export const GROUP_MODES = ['separate', 'stacked'] as const;
export type GroupMode = (typeof GROUP_MODES)[number];

const GiB = 1024 ** 3;

/** What 'auto' reads of the device. */
export interface GroupDevice {
  /** Grouping gains nothing: a software adapter, or the CPU backend (no per-dispatch cost to share). */
  noGain: boolean;
  /** The adapter's maxBufferSize. */
  maxBufferBytes: number;
}

export function groupDevice(b: Pick<Backend, 'device' | 'isSoftware' | 'limits'>): GroupDevice {
  return { noGain: b.device === 'cpu' || b.isSoftware, maxBufferBytes: b.limits.maxBufferBytes };
}

export function memoryBudgetBytes(d: GroupDevice): number {
  const env = Number(process.env.WGNAS_GPU_MEMORY_BYTES);
  if (Number.isFinite(env) && env > 0) return env;
  return Math.min(16 * GiB, 2 * d.maxBufferBytes);
}

/**
 * Group size for architectures of `perArchBytes` working set each (1 where grouping gains nothing),
 * in `share` of the budget (score --procs N: each of N processes on the device gets 1/N).
 */
export function autoGroupSize(d: GroupDevice, perArchBytes: number, share = 1): number {
  if (d.noGain) return 1;
  if (!(perArchBytes > 0)) return MAX_AUTO_GROUP;
  return Math.max(1, Math.min(MAX_AUTO_GROUP, Math.floor((share * memoryBudgetBytes(d)) / perArchBytes)));
}
