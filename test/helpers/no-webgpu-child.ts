/**
 * Run under test/helpers/no-webgpu.mjs (the 'webgpu' package unloadable): what the library still
 * does, and how a GPU request fails. Prints one JSON line.
 */
import * as w from '../../src/index.js';

const failure = async (f: () => Promise<unknown>) => {
  try {
    await f();
    return null;
  } catch (e) {
    const err = e as Error;
    return {
      name: err.name,
      message: err.message,
      noAdapter: e instanceof w.NoAdapterError,
      dawn: e instanceof w.DawnUnavailableError,
      userFacing: e instanceof w.UserFacingError,
    };
  }
};

const cpu = await w.openBackend('cpu', { threads: 1 });
const relu = Array.from(await cpu.ops.relu(cpu.upload([-1, 2])).read());
cpu.dispose();
const auto = await w.resolveDevice('auto');
console.log(
  JSON.stringify({
    arch: w.formatArch(w.parseArch('|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|')),
    relu,
    auto,
    probe: await w.probeAdapter(),
    gpu: await failure(() => w.openBackend('gpu')),
    acquire: await failure(() => w.acquireGpu()),
  }),
);
