/**
 * The A/B switches in the environment (WGNAS_CONV_CORE, WGNAS_BN_WG, WGNAS_BN_PLAN) are read by the kernels at
 * their first dispatch; a bad value is refused by the CLI in one line naming the variable, before
 * any work (no output file, no device opened).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkAbEnvironment } from '../../src/util/ab-env.js';
import { refusalProblems, wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-ab-env-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => {
  delete process.env.WGNAS_BN_WG;
  delete process.env.WGNAS_BN_PLAN;
  delete process.env.WGNAS_CONV_CORE;
});

describe('A/B switches in the environment', () => {
  it('accepts their values and unset or empty ones', () => {
    for (const env of [
      {},
      { WGNAS_BN_WG: '' },
      { WGNAS_BN_WG: '128', WGNAS_CONV_CORE: 'legacy' },
      { WGNAS_CONV_CORE: 'program' },
      { WGNAS_BN_PLAN: '' },
      { WGNAS_BN_PLAN: 'single', WGNAS_BN_WG: '256' },
      { WGNAS_BN_PLAN: 'split' },
    ])
      expect(() => checkAbEnvironment(env)).not.toThrow();
  });

  it('a bad value: one line naming the variable, before any work', async () => {
    for (const [name, value, why] of [
      ['WGNAS_BN_WG', '12', "WGNAS_BN_WG must be 64, 128 or 256, got '12'"],
      ['WGNAS_CONV_CORE', 'fast', "WGNAS_CONV_CORE must be 'program' or 'legacy', got 'fast'"],
      ['WGNAS_BN_PLAN', 'two', "WGNAS_BN_PLAN must be 'auto', 'single' or 'split', got 'two'"],
    ]) {
      process.env[name] = value;
      const out = join(tmp, `${name}.csv`);
      const r = await wgnasInProcess(['score', '--sample', '1', '--device', 'cpu', '--quiet', '--out', out]);
      expect(refusalProblems(r, r.code, new RegExp(`^wgnas score: ${why}\n$`))).toEqual([]);
      expect(r.code).not.toBe(0);
      expect(existsSync(out)).toBe(false);
      delete process.env[name];
    }
  });
});
