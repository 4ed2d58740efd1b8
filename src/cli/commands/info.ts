import { acquireGpu } from '../../gpu/index.js';

export const summary = 'show the GPU adapter and native addon status';

export async function run(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  const gpu = await acquireGpu();
  const a = gpu.adapter;
  let native: unknown = 'not loaded';
  try {
    const { loadNative } = await import('../../native/binding.js');
    native = loadNative().cpuInfo();
  } catch (e) {
    native = `unavailable: ${(e as Error).message.split('\n')[0]}`;
  }
  if (json) {
    process.stdout.write(JSON.stringify({ adapter: a, native }, null, 2) + '\n');
  } else {
    process.stdout.write(
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
