/**
 * `--kernel-profile FILE`: a run's time by kernel (Backend.startProfile/stopProfile) written as JSON,
 * with the per-architecture figures that say whether the device or the host is the bound.
 */
import type { KernelProfile } from '../backend/index.js';
import { writeFileAtomic } from '../util/durable.js';
import type { PoolPeak } from '../zeroshot/index.js';

export interface KernelProfileReport {
  command: string;
  /** The run's settings that shape the kernels (batch, group, network...). */
  settings: Record<string, unknown>;
  /** Architectures scored while the profile ran (per-architecture figures divide by it). */
  archs: number;
  date: string;
  profile: KernelProfile;
  perArch: { wallMs: number; deviceMs: number; hostMs?: number; ops: number };
  /** false: the run had no pass to spare before the profiled ones, which compiled their pipelines (caches) themselves. */
  warmedUp?: boolean;
  /** The backend pool's peak over the whole run (warm-up included): the memory the process held. */
  pool?: PoolPeak;
}

export function kernelProfileReport(
  command: string,
  settings: Record<string, unknown>,
  archs: number,
  profile: KernelProfile,
): KernelProfileReport {
  const n = Math.max(1, archs);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    command,
    settings,
    archs,
    date: new Date().toISOString(),
    profile,
    perArch: {
      wallMs: round(profile.wallMs / n),
      deviceMs: round(profile.deviceMs / n),
      ...(profile.hostMs !== undefined ? { hostMs: round(profile.hostMs / n) } : {}),
      ops: round(profile.ops / n),
    },
  };
}

/** One line for stderr: per architecture, how busy the device was, and the top kernels. */
export function kernelProfileLine(r: KernelProfileReport, path: string, top = 3): string {
  const p = r.profile;
  const a = r.perArch;
  const what = p.device === 'gpu' ? 'dispatches' : 'ops';
  const busy = p.wallMs > 0 ? ` (${Math.round((100 * p.deviceMs) / p.wallMs)}% busy)` : '';
  const host = a.hostMs !== undefined ? `, host recording ${a.hostMs.toFixed(2)} ms` : '';
  const device =
    p.clock === 'gpu-host-only' ? 'device time unknown (no timestamp-query)' : `device ${a.deviceMs.toFixed(2)} ms${busy}`;
  const share = (ms: number) => (p.deviceMs > 0 ? `${Math.round((100 * ms) / p.deviceMs)}%` : '-');
  const tops = p.kernels
    .slice(0, top)
    .map((k) => `${k.kernel} ${share(k.deviceMs)}`)
    .join(', ');
  const cold = r.warmedUp === false ? '; not warmed up (the run had no pass to spare: first-run compilation included)' : '';
  return `kernel profile: per architecture ${a.ops} ${what}, wall ${a.wallMs.toFixed(2)} ms, ${device}${host}; top: ${tops || 'none'}${cold}; wrote ${path}\n`;
}

export function writeKernelProfile(path: string, r: KernelProfileReport): void {
  writeFileAtomic(path, JSON.stringify(r, null, 2) + '\n');
}
