/** Shared by the native-ops tests: a device (or null locally without the addon; a failure under CI=true). */
import { NativeUnavailableError } from '../../src/native/binding.js';
import { NativeDevice, type NativeDeviceOptions } from '../../src/native/device.js';

/** A NativeDevice with `threads` threads, or null locally when the addon is not built. */
export function nativeDeviceOrNull(threads = 2, opts: NativeDeviceOptions = {}): NativeDevice | null {
  try {
    return NativeDevice.create({ threads, ...opts });
  } catch (e) {
    if (e instanceof NativeUnavailableError && process.env.CI !== 'true') {
      console.warn(`native op tests skipped: ${e.message.split('\n')[0]}`);
      return null;
    }
    throw e;
  }
}

/** Expects every tensor the test made to be disposed (nothing in use on the device). */
export function liveBytes(dev: NativeDevice): number {
  return dev.stats().bytesInUse;
}
