import { loadNative, NativeUnavailableError, type NativeBinding } from '../../src/native/binding.js';

/** The addon, or null locally when it is not built; under CI=true a missing addon is a failure. */
export function nativeOrNull(): NativeBinding | null {
  try {
    return loadNative();
  } catch (e) {
    if (e instanceof NativeUnavailableError && process.env.CI !== 'true') {
      console.warn(`native tests skipped: ${e.message.split('\n')[0]}`);
      return null;
    }
    throw e;
  }
}
