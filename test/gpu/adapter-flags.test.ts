/** Dawn's creation flags: timestamp quantization is always turned off, merged into a user's own list. */
import { describe, expect, it } from 'vitest';
import { withFullTimestamps } from '../../src/gpu/adapter.js';

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
