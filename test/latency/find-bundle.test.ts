/**
 * An installed package ships no build scripts: where no target profiler is built, the message says
 * to build it in a checkout and point WGNAS_TARGET_BUNDLES at it, not to run a script it lacks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

const installed = vi.hoisted(() => ({ value: true }));
vi.mock('../../src/data/paths.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/data/paths.js')>()),
  isInstalledPackage: () => installed.value,
}));
const { findBundle } = await import('../../src/latency/remote-profiler.js');

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-find-bundle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('findBundle without a built profiler', () => {
  it('names the script in a checkout, and the checkout plus WGNAS_TARGET_BUNDLES in an installed package', () => {
    const dir = join(tmp, 'aarch64', 'bundle');
    installed.value = true;
    expect(() => findBundle('aarch64', { bundlesDir: tmp })).toThrow(
      `no aarch64 profiler is built (${dir}): build it in a wgnas checkout (scripts/build-target.sh aarch64) and set WGNAS_TARGET_BUNDLES to its build/target`,
    );
    installed.value = false;
    expect(() => findBundle('aarch64', { bundlesDir: tmp })).toThrow(
      `no aarch64 profiler is built (${dir}): run scripts/build-target.sh aarch64`,
    );
  });
});
