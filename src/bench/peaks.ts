/**
 * Peak f32 compute and DRAM bandwidth per adapter, for %-of-peak and the roofline. Values are the
 * vendors' datasheet numbers for non-tensor-core FP32 (boost clock). Adapters not in the table
 * (software rasterizers, unknown GPUs) get a measured calibration instead (calibrate.ts).
 */

export interface Peak {
  /** Peak f32 FLOP/s. */
  flopsPerS: number;
  /** Peak memory bandwidth, bytes/s. */
  bytesPerS: number;
  /** 'table': datasheet entry `name`; 'calibrated': measured on this adapter by the FMA/copy kernels. */
  source: 'table' | 'calibrated';
  name: string;
  /**
   * Where this run got it: 'table' the datasheet row, 'measured' calibrated in this run (and cached),
   * 'cached' a calibration of this adapter and driver from an earlier run (peak-cache.ts).
   */
  origin?: 'table' | 'measured' | 'cached';
  /** When a measured peak was measured (ISO 8601). */
  measuredAt?: string;
  /** Calibration rounds a measured peak is the best of. */
  rounds?: number;
  /** The measured peak before kernels of this run beat it (raiseMeasuredRoofline); absent when none did. */
  raisedFrom?: { flopsPerS: number; bytesPerS: number };
  /**
   * A CPU peak of several threads: the calibration matmul's FLOP/s on one thread and on all `count`
   * together (flopsPerS is at least the one-thread rate). Shown so a one-thread baseline near the peak
   * is not read as an error, and a peak that did not scale with threads (a busy machine) shows.
   */
  threads?: { count: number; oneThreadFlopsPerS: number; allThreadsFlopsPerS: number };
  /** True when the raised peak was saved into the peak cache, so later runs' % of peak use it. */
  raiseCached?: boolean;
}

interface PeakRow {
  match: RegExp;
  name: string;
  tflops: number;
  tbps: number;
}

const T = 1e12;

// First match wins, so variants (PCIe, NVL) come before the generic family entry, and a name that
// contains another (GH200 holds H200) comes first and the contained one is anchored (\bH200) as well.
// Every row must be reachable by its own name (test/bench/harness.test.ts checks it).
const PEAK_TABLE: PeakRow[] = [
  { match: /GH200/i, name: 'NVIDIA GH200', tflops: 67, tbps: 4.0 },
  { match: /\bH200.*NVL/i, name: 'NVIDIA H200 NVL', tflops: 60, tbps: 4.8 },
  { match: /\bH200/i, name: 'NVIDIA H200 SXM', tflops: 67, tbps: 4.8 },
  { match: /\bH100.*PCIe/i, name: 'NVIDIA H100 PCIe', tflops: 51, tbps: 2.0 },
  { match: /\bH100.*NVL/i, name: 'NVIDIA H100 NVL', tflops: 60, tbps: 3.9 },
  { match: /\bH100/i, name: 'NVIDIA H100 SXM', tflops: 67, tbps: 3.35 },
  { match: /A100.*80\s*GB.*PCIe|A100.*PCIe.*80/i, name: 'NVIDIA A100 80GB PCIe', tflops: 19.5, tbps: 1.935 },
  { match: /A100.*(SXM.*80|80\s*GB)/i, name: 'NVIDIA A100 SXM 80GB', tflops: 19.5, tbps: 2.039 },
  { match: /A100/i, name: 'NVIDIA A100 40GB', tflops: 19.5, tbps: 1.555 },
  { match: /L40S/i, name: 'NVIDIA L40S', tflops: 91.6, tbps: 0.864 },
  { match: /L40\b/i, name: 'NVIDIA L40', tflops: 90.5, tbps: 0.864 },
  { match: /\bL4\b/i, name: 'NVIDIA L4', tflops: 30.3, tbps: 0.3 },
  { match: /A10G/i, name: 'NVIDIA A10G', tflops: 31.2, tbps: 0.6 },
  { match: /\bA10\b/i, name: 'NVIDIA A10', tflops: 31.2, tbps: 0.6 },
  { match: /V100/i, name: 'NVIDIA V100', tflops: 15.7, tbps: 0.9 },
  { match: /Tesla T4|\bT4\b/i, name: 'NVIDIA T4', tflops: 8.1, tbps: 0.32 },
  { match: /RTX 4090/i, name: 'NVIDIA GeForce RTX 4090', tflops: 82.6, tbps: 1.008 },
  { match: /RTX 4080/i, name: 'NVIDIA GeForce RTX 4080', tflops: 48.7, tbps: 0.717 },
  { match: /RTX 3090/i, name: 'NVIDIA GeForce RTX 3090', tflops: 35.6, tbps: 0.936 },
  { match: /RTX 3080/i, name: 'NVIDIA GeForce RTX 3080', tflops: 29.8, tbps: 0.76 },
  { match: /MI300X/i, name: 'AMD Instinct MI300X', tflops: 81.7, tbps: 5.3 },
  { match: /MI250X/i, name: 'AMD Instinct MI250X', tflops: 47.9, tbps: 3.2 },
  { match: /RX 7900 XTX/i, name: 'AMD Radeon RX 7900 XTX', tflops: 61.4, tbps: 0.96 },
  { match: /Apple M2 Max/i, name: 'Apple M2 Max (38-core GPU)', tflops: 13.6, tbps: 0.4 },
  { match: /Apple M1 Max/i, name: 'Apple M1 Max (32-core GPU)', tflops: 10.4, tbps: 0.4 },
  { match: /Apple M1\b/i, name: 'Apple M1 (8-core GPU)', tflops: 2.6, tbps: 0.068 },
];

/** The datasheet rows' names, in lookup order. */
export function peakTableNames(): string[] {
  return PEAK_TABLE.map((r) => r.name);
}

/** Datasheet peak for an adapter description, or null when the adapter is not in the table. */
export function lookupPeak(adapterName: string): Peak | null {
  const row = PEAK_TABLE.find((r) => r.match.test(adapterName));
  if (!row) return null;
  return { flopsPerS: row.tflops * T, bytesPerS: row.tbps * T, source: 'table', name: row.name, origin: 'table' };
}

/** Roofline bound at arithmetic intensity `flopsPerByte`: min(compute peak, intensity x bandwidth). */
export function rooflineFlopsPerS(peak: Pick<Peak, 'flopsPerS' | 'bytesPerS'>, flopsPerByte: number): number {
  return Math.min(peak.flopsPerS, flopsPerByte * peak.bytesPerS);
}

/**
 * Percent of the roofline bound a kernel reached. A kernel that does no FLOPs (a copy) is scored
 * against bandwidth alone.
 */
export function percentOfPeak(
  peak: Pick<Peak, 'flopsPerS' | 'bytesPerS'>,
  flops: number,
  bytes: number,
  seconds: number,
): number {
  if (!(seconds > 0)) return NaN;
  if (flops <= 0) return (100 * bytes) / seconds / peak.bytesPerS;
  const bound = bytes > 0 ? rooflineFlopsPerS(peak, flops / bytes) : peak.flopsPerS;
  return (100 * flops) / seconds / bound;
}
