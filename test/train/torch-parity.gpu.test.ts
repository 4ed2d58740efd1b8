/**
 * `wgnas train` against PyTorch step for step on the WGSL backend (the cases and the fixture's
 * regeneration command: torch-parity-cases.ts). Observed on lavapipe: losses within ~5e-7,
 * tensors within ~1.7e-5 of PyTorch's float64 run, as close as the CPU backend.
 */
import { gpuBackend } from '../helpers/backend.js';
import { describeTorchParity } from './torch-parity-cases.js';

for (const fixture of ['nb201', 'nb201-none-fed', 'nb201-recipe', 'mbconv', 'mbconv-eps']) {
  describeTorchParity(fixture, 'WGSL backend', gpuBackend, { loss: 1e-5, tensor: 1e-4 });
}
