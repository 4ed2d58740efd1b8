/**
 * SynFlow's backward seed from its forward, on the device (synflow_seed.wgsl): 2^-b with
 * b = floor(log2 R') where that is certain, or a code for the host (SYNFLOW_SEED_CODES), so the
 * SynFlow pass reads nothing between its forward and backward. Not in OPS: only the webgpu
 * backend has it (Backend.deviceOnly); on the CPU backend a read waits for no device and the
 * proxy reads instead.
 */
import type { Gpu } from '../gpu/gpu.js';
import { type GpuTensor, sameBuffer } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp } from './descriptor.js';
import { assertUnaliased } from './params.js';
import { checkSynflowSeed, SYNFLOW_SEED_CODES, synflowSeedCpu } from './reference/synflow-seed.js';

export { checkSynflowSeed, SYNFLOW_SEED_CODES, synflowSeedCpu };

const FILE = 'synflow_seed.wgsl';
const WG = 256;
export const SYNFLOW_SEED_PARAMS = defineUniforms(FILE, 'Params', { n: 'u32', m: 'u32', max_shift: 'u32', _pad: 'u32' });

/** seed[:] = 2^-status[0] where status[0] <= maxShift (else 0, and status[0] is a code). One workgroup. */
export function synflowSeed(
  gpu: Gpu,
  logits: GpuTensor,
  features: GpuTensor,
  seed: GpuTensor,
  status: GpuTensor,
  maxShift: number,
): void {
  checkSynflowSeed(logits, features, seed, status, maxShift);
  assertUnaliased(
    'synflowSeed',
    [
      ['seed', seed],
      ['status', status],
    ],
    [
      ['logits', logits],
      ['features', features],
    ],
    sameBuffer,
  );
  gpu.dispatch({
    kernel: { file: FILE, entry: 'synflow_seed', constants: { WG } },
    buffers: [logits, features, seed, status],
    uniforms: SYNFLOW_SEED_PARAMS.pack({ n: logits.size, m: features.size, max_shift: maxShift }),
    workgroups: [1],
  });
}

export const synflowSeedOp = defineOp({
  name: 'synflowSeed',
  summary: "SynFlow's backward seed 2^-floor(log2 sum of the logits), or a code for the host (synflow_seed.wgsl)",
  kernels: [{ file: FILE, entries: ['synflow_seed'], uniforms: SYNFLOW_SEED_PARAMS, overrides: { WG } }],
  // The feature map and the logits read, the seed and the status written.
  cost: ({ n, m }: { n: number; m: number }) => ({ flops: n, bytes: 4 * (2 * n + m + 1) }),
  reference: synflowSeedCpu,
  webgpu: synflowSeed,
});
