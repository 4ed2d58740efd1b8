/**
 * `wgnas train` against PyTorch step for step on the CPU backend (the cases and the fixture's
 * regeneration command: torch-parity-cases.ts). Observed: losses within ~2e-7, parameters, running
 * statistics and eval logits within ~2e-6 of PyTorch's float64 run; the bounds leave room for
 * another CPU's summation order.
 */
import { cpuTestBackend } from '../helpers/backend.js';
import { describeTorchParity } from './torch-parity-cases.js';

describeTorchParity('CPU backend', async () => cpuTestBackend(), { loss: 1e-5, tensor: 1e-4 });
