/**
 * docs/api.md says its names come from the package root (the MobileNet layer under `mobilenet.`):
 * the ones a reader would import for the crash-safe files, the optimisers, the CPU device, the
 * proxy registry and the gate/fitness kernels are there, not only by path from a checkout.
 */
import { describe, expect, it } from 'vitest';
import * as wgnas from '../../src/index.js';

const ROOT = [
  'NativeDevice',
  'WeightSgd',
  'AlphaAdam',
  'TrainingDivergedError',
  'sampleGates',
  'binarizeAlphaGrad',
  'rescaleTwoPath',
  'gateDot',
  'fitnessSoftmax',
  'mixForward',
  'mixBackward',
  'fitnessGrad',
  'defineProxy',
  'scoreArch',
  'writeFileAtomic',
  'DurableAppender',
  'appendDurable',
  'acquireLock',
  'LockHeldError',
  'RowStream',
  'ReplayLog',
  'jsonRow',
  'cellNumber',
  'checkRunSettings',
  'ResumeMismatchError',
  'CheckpointError',
  'defineUniforms',
];
const MOBILENET = ['IMAGENET_LAYOUT', 'CIFAR_LAYOUT', 'tableCost', 'maddsCost', 'measuredCost', 'expectedCost', 'cellNativeOps'];

describe('package root (docs/api.md)', () => {
  it('exports the documented names', () => {
    const root = wgnas as Record<string, unknown>;
    expect(ROOT.filter((n) => root[n] === undefined)).toEqual([]);
    const mn = wgnas.mobilenet as Record<string, unknown>;
    expect(MOBILENET.filter((n) => mn[n] === undefined)).toEqual([]);
    // The same ResumeMismatchError class whichever way it is reached.
    expect(wgnas.ResumeMismatchError).toBe(wgnas.proxyless.ResumeMismatchError);
  });
});
