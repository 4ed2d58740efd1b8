/** A baseline whose packages are not installed (an installed wgnas has no dev dependencies) says what to install. */
import { describe, expect, it, vi } from 'vitest';

vi.mock('@tensorflow/tfjs', () => {
  throw new Error("Cannot find package '@tensorflow/tfjs'"); // (vitest reports it as a mocking error: the cause is not checked)
});

describe('missing baseline packages', () => {
  it('tfjs-wasm names both packages and the install command', async () => {
    const { createTfjsWasmBaseline } = await import('../../src/bench/tfjs-wasm.js');
    await expect(createTfjsWasmBaseline()).rejects.toThrow(
      /^the tfjs-wasm baseline needs @tensorflow\/tfjs and @tensorflow\/tfjs-backend-wasm \(.*npm install @tensorflow\/tfjs@4 @tensorflow\/tfjs-backend-wasm@4\): /,
    );
  });
});
