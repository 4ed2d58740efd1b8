/**
 * WGNAS_NATIVE_PATH names the addon to load: a path that does not exist is said, not passed over for
 * the checkout's build; and `wgnas info` shows a missing addon as a status (device and native lines)
 * instead of failing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wgnasInProcess } from '../helpers/cli.js';

const prev = process.env.WGNAS_NATIVE_PATH;
beforeAll(() => {
  process.env.WGNAS_NATIVE_PATH = '/nonexistent/wgnas_native.node';
});
afterAll(() => {
  if (prev === undefined) delete process.env.WGNAS_NATIVE_PATH;
  else process.env.WGNAS_NATIVE_PATH = prev;
});

describe('WGNAS_NATIVE_PATH', () => {
  it('a path that does not exist is refused, naming it', async () => {
    const { loadNative, NativeUnavailableError } = await import('../../src/native/binding.js');
    expect(() => loadNative()).toThrow(NativeUnavailableError);
    expect(() => loadNative()).toThrow('WGNAS_NATIVE_PATH=/nonexistent/wgnas_native.node: no such file');
  });

  it('info reports the CPU backend unavailable and still prints the adapter and the addon status', async () => {
    const r = await wgnasInProcess(['info', '--device', 'cpu', '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { device: Record<string, unknown>; native: string };
    expect(j.device).toEqual({ choice: 'cpu', device: 'cpu', backend: 'cpu', unavailable: 'the native addon (see native)' });
    expect(j.native).toMatch(/^unavailable: .*WGNAS_NATIVE_PATH=\/nonexistent\/wgnas_native\.node: no such file/);
    const text = await wgnasInProcess(['info', '--device', 'cpu']);
    expect(text.code, text.err).toBe(0);
    expect(text.out.split('\n')[0]).toBe('device:    cpu: unavailable: the native addon (see native below)');
  });
});
