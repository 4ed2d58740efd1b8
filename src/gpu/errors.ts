/** Errors the GPU layer raises. Each message says what went wrong and how to fix it. */
import { UserFacingError } from '../util/errors.js';

export class NoAdapterError extends UserFacingError {
  override readonly name = 'NoAdapterError';
  constructor(detail: string) {
    super(
      `No WebGPU adapter is available (${detail}).\n` +
        'Fixes:\n' +
        '  - On a machine with a GPU: install its Vulkan driver (NVIDIA: the proprietary driver; AMD/Intel: mesa-vulkan-drivers) and the loader (libvulkan1).\n' +
        '  - On a machine without a GPU: install the software driver, Mesa lavapipe >= 25 (Debian 12: add bookworm-backports, then\n' +
        '      apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1).\n' +
        '  - Check with: vulkaninfo --summary (package vulkan-tools).',
    );
  }
}

export class KernelCompileError extends Error {
  override readonly name = 'KernelCompileError';
  constructor(
    readonly file: string,
    readonly messages: string[],
  ) {
    super(`WGSL kernel ${file} failed to compile:\n  ${messages.join('\n  ')}`);
  }
}

export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

export class GpuDisposedError extends Error {
  override readonly name = 'GpuDisposedError';
}

/** Queued GPU work that failed WebGPU validation (a programming error): its submission was dropped. */
export class GpuValidationError extends Error {
  override readonly name = 'GpuValidationError';
}
