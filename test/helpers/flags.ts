/**
 * Command-line pieces the CLI tests and scripts/kill-audit.ts share (no vitest here: the script
 * imports it): the package's latency table and net.config, and the smallest runs worth a test.
 */
import { join } from 'node:path';
import type { MobileNetLayout } from '../../src/mobilenet/layout.js';

// The package's data/ (the same files as ../shared/data/latency), so a clone without ../shared runs these.
const PACKAGED = new URL('../../data/', import.meta.url).pathname;
export const TABLE = join(PACKAGED, 'latency', 'proxylessnas_mobile_trim.yaml');
export const NET = join(PACKAGED, 'latency', 'proxylessnas_proxyless_mobile.config');

/** argv from `{ flag: value }`, in order: `{ batch: '4' }` is `['--batch', '4']`. */
export function flagArgs(flags: Record<string, string>): string[] {
  return Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]);
}

/** The NAS-Bench-201 cell `arch` as the tiny network the train and export tests use: 4 channels, one cell per stage. */
export const tinyNb201 = (arch: string): string[] => flagArgs({ nb201: arch, channels: '4', 'cells-per-stage': '1' });

/** A proxyless search of a few seconds on the CPU backend: one warm-up step, batches of 4 from 64 / 32 images. */
export const TINY_PROXYLESS: readonly string[] = flagArgs({
  'latency-table': TABLE,
  'target-ms': '40',
  warmup: '1',
  batch: '4',
  'val-batch': '4',
  train: '64',
  val: '32',
});

/**
 * A checkpointed proxyless search (`--flag: value`; give it a --space-file): 4 steps with α steps
 * after steps 2 and 4, so a kill lands before, between and after them; a checkpoint every step.
 */
export const CHECKPOINTED_PROXYLESS: Readonly<Record<string, string>> = {
  '--latency-table': TABLE,
  '--target-ms': '40',
  '--warmup': '2',
  '--steps': '4',
  '--arch-every': '2',
  '--batch': '4',
  '--val-batch': '4',
  '--train': '40',
  '--val': '20',
  '--checkpoint-every': '1',
  '--log-every': '100',
};

/**
 * A tiny layout's MBConv candidates (as a space file, handDesignedSpace): six 8×8 layers, one per
 * stage, so the ImageNet table prices them by position as it prices the CIFAR layout, at a fraction
 * of its step and checkpoint cost (a child's run is mostly start-up then).
 */
export const TINY6: MobileNetLayout = {
  name: 'tiny6',
  inputSize: 8,
  stemC: 4,
  stemStride: 1,
  firstBlockC: 4,
  widths: [6, 8, 10, 12, 14, 16],
  depths: [1, 1, 1, 1, 1, 1],
  strides: [1, 2, 1, 1, 2, 1],
  kernels: [3, 5, 7],
  expands: [3, 6],
  featureMixC: 16,
  classes: 10,
};
