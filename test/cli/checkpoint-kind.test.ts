/**
 * A --resume on another command's checkpoint is refused in one line naming what it is, before its
 * settings are compared (proxyless compared them first and named a layout or flag that differed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../../src/nn/checkpoint.js';
import { TABLE, wgnasInProcess } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'wgnas-ck-kind-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("--resume on another command's checkpoint", () => {
  const cases: Array<[string, string, string[]]> = [
    ['proxyless', 'wgnas-evolve-space', ['--latency-table', TABLE, '--target-ms', '40']],
    ['proxyless', 'wgnas-train', ['--latency-table', TABLE, '--target-ms', '40']],
    ['evolve-space', 'wgnas-proxyless', ['--budget-madds', '3M']],
  ];
  for (const [cmd, kind, flags] of cases) {
    it(`${cmd} refuses a ${kind} checkpoint, naming it`, async () => {
      const ck = join(root, `${cmd}-${kind}`);
      await saveCheckpoint(ck, [], new Map(), { kind, settings: {} });
      const r = await wgnasInProcess([cmd, ...flags, '--device', 'cpu', '--checkpoint', ck, '--resume']);
      expect(r.code).toBe(1);
      expect(r.err.trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^wgnas ${cmd}: \\S+: not a wgnas ${cmd} checkpoint \\(kind ${kind}\\)$`)),
      ]);
    });
  }
});
