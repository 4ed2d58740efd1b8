/**
 * openBackend('auto') where the CPU backend cannot open (no addon) and Dawn has only a software
 * adapter: the error's fixes name the library call that picks that adapter, and the command line
 * names its flag (docs/api.md, src/backend/select.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openBackend, resolveDevice } from '../../src/backend/index.js';
import { openDevice } from '../../src/cli/device.js';
import { NativeUnavailableError } from '../../src/native/binding.js';

const saved = process.env.WGNAS_NATIVE_PATH;
beforeEach(() => {
  // This file's process never loads the addon: loadNative() reads the variable on each try.
  process.env.WGNAS_NATIVE_PATH = '/nonexistent/wgnas_native.node';
});
afterEach(() => {
  if (saved === undefined) delete process.env.WGNAS_NATIVE_PATH;
  else process.env.WGNAS_NATIVE_PATH = saved;
});

describe("openBackend('auto') without the addon, beside a software adapter", () => {
  it("says openBackend('gpu') to a library caller and --device gpu at the command line", async ({ skip }) => {
    // A hardware GPU: 'auto' takes it, and nothing fails.
    if ((await resolveDevice('auto')) === 'gpu') return skip();
    const lib = await openBackend('auto').catch((e: unknown) => e);
    expect(lib).toBeInstanceOf(NativeUnavailableError);
    const libLast = (lib as Error).message.split('\n').at(-1)!;
    expect(libLast).toMatch(
      /^ {2}- Or run the WGSL kernels on the software GPU adapter \(.+\) instead, much slower: openBackend\('gpu'\)$/,
    );
    expect((lib as Error).message).not.toContain('--device');
    // Asked for the CPU by name: nothing about the GPU.
    const cpu = await openBackend('cpu').catch((e: unknown) => e);
    expect((cpu as Error).message).not.toContain('software GPU adapter');
    const cli = await openDevice('cpu', { device: 'auto' }).catch((e: unknown) => e);
    expect(cli).toBeInstanceOf(NativeUnavailableError);
    expect((cli as Error).message.split('\n').at(-1)).toMatch(/instead, much slower: --device gpu$/);
    expect((cli as Error).message).not.toContain('openBackend');
  });
});
