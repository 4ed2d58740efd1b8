/** Tensor lifetime on the webgpu backend: the safety net, memory(), use after dispose (test/helpers/tensor-lifetime.ts). */
import { webgpuBackend } from '../../src/backend/index.js';
import { acquireGpu } from '../../src/gpu/index.js';
import { gpuBackend } from '../helpers/backend.js';
import { tensorLifetimeCases } from '../helpers/tensor-lifetime.js';

tensorLifetimeCases({
  name: 'webgpu',
  shared: gpuBackend,
  open: async () => webgpuBackend(await acquireGpu(), { ownsDevice: true }),
});
