import { acquireGpu } from '../../gpu/index.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import type { ValuesOf } from '../spec.js';
import { INFO, type INFO_OPTIONS } from '../specs/info.js';

export const summary = INFO.summary;

async function info(v: ValuesOf<typeof INFO_OPTIONS>, { io }: RunContext): Promise<void> {
  const gpu = await acquireGpu();
  const a = gpu.adapter;
  let native: unknown = 'not loaded';
  try {
    const { loadNative } = await import('../../native/binding.js');
    native = loadNative().cpuInfo();
  } catch (e) {
    native = `unavailable: ${(e as Error).message.split('\n')[0]}`;
  }
  if (v.json) {
    io.out(JSON.stringify({ adapter: a, native }, null, 2) + '\n');
  } else {
    io.out(
      `adapter:   ${a.description} (${a.vendor}, ${a.architecture}${a.isSoftware ? ', software' : ''})\n` +
        `features:  ${a.features.join(' ')}\n` +
        `limits:    maxStorageBufferBindingSize=${a.limits.maxStorageBufferBindingSize} bytes, ` +
        `maxComputeWorkgroupStorageSize=${a.limits.maxComputeWorkgroupStorageSize} bytes, ` +
        `maxComputeInvocationsPerWorkgroup=${a.limits.maxComputeInvocationsPerWorkgroup}\n` +
        `native:    ${typeof native === 'string' ? native : JSON.stringify(native)}\n`,
    );
  }
  gpu.destroy();
}

export const handlers = { info };
export const run = (argv: string[]) => runCommand(INFO, argv, selfResolve('info', handlers));
