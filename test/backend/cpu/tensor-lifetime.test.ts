/** Tensor lifetime on the cpu backend: the safety net, memory(), use after dispose (test/helpers/tensor-lifetime.ts). */
import { cpuBackend } from '../../../src/backend/index.js';
import { NativeDevice } from '../../../src/native/device.js';
import { cpuTestBackend } from '../../helpers/backend.js';
import { tensorLifetimeCases } from '../../helpers/tensor-lifetime.js';

tensorLifetimeCases({
  name: 'cpu',
  shared: async () => cpuTestBackend(),
  open: async () => cpuBackend(NativeDevice.create({ threads: 1 }), { ownsDevice: true }),
});
