/**
 * `wgnas train` against PyTorch step for step on the CPU backend (the cases and the fixture's
 * regeneration command: torch-parity-cases.ts). Observed: losses within ~5e-7, parameters, running
 * statistics and eval logits within ~1.4e-5 of PyTorch's float64 run (f32 roundoff); the bounds leave
 * room for another CPU's summation order, and a wrong convention (weight decay on BN, classic
 * momentum, biased running variance, warm-up from 0, ε/(K-1) smoothing) misses them by 10-1000x.
 */
import { cpuTestBackend } from '../helpers/backend.js';
import { describeTorchParity } from './torch-parity-cases.js';

for (const fixture of ['nb201', 'nb201-none-fed', 'nb201-recipe', 'mbconv', 'mbconv-eps']) {
  describeTorchParity(fixture, 'CPU backend', async () => cpuTestBackend(), { loss: 1e-5, tensor: 1e-4 });
}
