/** Errors the GPU layer raises. Each message says what went wrong and how to fix it. */
import { DisposedError } from '../util/disposed.js';
import { UserFacingError } from '../util/errors.js';

export class NoAdapterError extends UserFacingError {
  override readonly name: string = 'NoAdapterError';
  /** `message`: the whole message, for a subclass that says its own fixes. */
  constructor(detail: string, message?: string) {
    super(
      message ??
        `No WebGPU adapter is available (${detail}).\n` +
          'Fixes:\n' +
          '  - On a machine with a GPU: install its Vulkan driver (NVIDIA: the proprietary driver; AMD/Intel: mesa-vulkan-drivers) and the loader (libvulkan1).\n' +
          '  - On a machine without a GPU: install the software driver, Mesa lavapipe >= 25 (Debian 12: add bookworm-backports, then\n' +
          '      apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1).\n' +
          '  - Check with: vulkaninfo --summary (package vulkan-tools).',
    );
  }
}

/**
 * The 'webgpu' package's native part (Dawn's dawn.node) cannot load on this system: no GPU backend
 * at all (the CPU backend and everything else work). One line: the loader's reason and the fixes.
 */
export class DawnUnavailableError extends NoAdapterError {
  override readonly name: string = 'DawnUnavailableError';
  constructor(cause: unknown) {
    const why = String((cause as Error)?.message ?? cause).split('\n')[0];
    const glibc = /GLIBC_[\d.]+/.exec(why)?.[0];
    const fix = glibc
      ? `a system whose glibc has ${glibc} (Dawn's prebuilt dawn.node needs glibc >= 2.34: Ubuntu 22.04, Debian 12, RHEL 9 or later)`
      : "a reinstall of the 'webgpu' package for this platform (npm rebuild webgpu)";
    super(
      why,
      `WebGPU is unavailable: the 'webgpu' package's dawn.node failed to load (${why}); fixes: ${fix}, or the CPU backend (openBackend('cpu'); --device cpu at the command line)`,
    );
    this.cause = cause;
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

/** The Gpu used after destroy() (a backend's dispose()), or a read it cut short. A tensor's own dispose(): DisposedTensorError. */
export class GpuDisposedError extends DisposedError {
  override readonly name: string = 'GpuDisposedError';
}

/** Queued GPU work that failed WebGPU validation (a programming error): its submission was dropped. */
export class GpuValidationError extends Error {
  override readonly name = 'GpuValidationError';
}

/** Bytes as a reader sizes memory: '512 B', '1.5 MiB', '2.3 GiB'. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${+v.toFixed(1)} ${units[i]}`;
}

/**
 * The device refused an allocation (Dawn's out-of-memory error: another process holds the memory,
 * or the work needs more than there is). Dawn then hands back an invalid buffer and drops the work
 * that uses it, so this is thrown before any read returns data. `advice`: what the command that ran
 * out suggests (a smaller --group or --batch), appended to the line the user sees.
 */
export class GpuOutOfMemoryError extends UserFacingError {
  override readonly name = 'GpuOutOfMemoryError';
  advice?: string;
  constructor(
    /** What the failed allocation asked for, where known (an uncaptured error does not say). */
    readonly bytes: number | undefined,
    detail: string,
  ) {
    super(
      bytes !== undefined
        ? `out of GPU memory: allocating ${formatBytes(bytes)} failed`
        : `out of GPU memory (${detail.split('\n')[0]})`,
    );
  }
}

/**
 * The GPU device was lost (a driver reset, an Xid error, the GPU removed): nothing more runs on it,
 * and pending reads are rejected, never left to hang.
 */
export class GpuDeviceLostError extends UserFacingError {
  override readonly name = 'GpuDeviceLostError';
  constructor(
    readonly reason: string,
    readonly detail: string,
  ) {
    super(`GPU device lost (reason: ${reason}, ${detail.trim() || 'no message'})`);
  }
}
