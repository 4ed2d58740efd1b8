/**
 * `wgnas train` against PyTorch step for step on the WGSL backend (the cases and the fixture's
 * regeneration command: torch-parity-cases.ts).
 */
import { gpuBackend } from '../helpers/backend.js';
import { describeTorchParity } from './torch-parity-cases.js';

describeTorchParity('WGSL backend', gpuBackend, { loss: 1e-5, tensor: 1e-4 });
