/**
 * Dawn's creation flags: timestamp quantization is always turned off, merged into a user's own list.
 * WGNAS_F16=1 on a device without shader-f16: f32, and the reason (the CLI's warning) names the flag to set.
 */
import { describe, expect, it } from 'vitest';
import { f16Ignored, withFullTimestamps } from '../../src/gpu/adapter.js';

describe('withFullTimestamps', () => {
  it('adds the toggle, or merges it into a disable-dawn-features list given', () => {
    expect(withFullTimestamps([])).toEqual(['disable-dawn-features=timestamp_quantization']);
    expect(withFullTimestamps(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia'])).toEqual([
      'enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia',
      'disable-dawn-features=timestamp_quantization',
    ]);
    expect(withFullTimestamps(['backend=vulkan', 'disable-dawn-features=lazy_clear_resource_on_first_use'])).toEqual([
      'backend=vulkan',
      'disable-dawn-features=lazy_clear_resource_on_first_use,timestamp_quantization',
    ]);
    expect(withFullTimestamps(['disable-dawn-features=timestamp_quantization'])).toEqual([
      'disable-dawn-features=timestamp_quantization',
    ]);
  });
});

describe('f16Ignored (WGNAS_F16)', () => {
  it('says why only where asked and not offered, naming the flag that exposes shader-f16', () => {
    expect(f16Ignored(undefined, false, 'gpu')).toBeNull();
    expect(f16Ignored('0', false, 'gpu')).toBeNull();
    expect(f16Ignored('1', true, 'gpu')).toBeNull();
    expect(f16Ignored('1', false, 'NVIDIA H200')).toBe(
      'WGNAS_F16=1 ignored (f32 operands): NVIDIA H200 does not offer shader-f16; on NVIDIA set WGNAS_DAWN_FLAGS=enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia',
    );
  });
});
