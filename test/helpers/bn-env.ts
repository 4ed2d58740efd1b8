/**
 * The batch norm variables of the resume tests: this process runs at the adapter's defaults
 * (WGNAS_BN_WG / WGNAS_BN_PLAN cleared for the file, restored after it), and a child process gets
 * exactly the ones a case gives it.
 */
import { afterAll, beforeAll } from 'vitest';
import { wgnasChild } from './child.js';

const BN_VARIABLES = ['WGNAS_BN_WG', 'WGNAS_BN_PLAN'] as const;
export type BnEnv = Partial<Record<(typeof BN_VARIABLES)[number], string>>;

/** Clears the batch norm variables for this test file (call at its top level) and restores them after. */
export function atAdapterBnDefaults(): void {
  const saved = Object.fromEntries(BN_VARIABLES.map((k) => [k, process.env[k]]));
  beforeAll(() => {
    for (const k of BN_VARIABLES) delete process.env[k];
  });
  afterAll(() => {
    for (const k of BN_VARIABLES)
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
  });
}

/** `wgnas argv` in a child process with these batch norm variables (and no others of them). */
export async function wgnasChildWithBn(argv: string[], env: BnEnv) {
  Object.assign(process.env, env);
  try {
    return await wgnasChild(argv);
  } finally {
    for (const k of BN_VARIABLES) delete process.env[k];
  }
}
