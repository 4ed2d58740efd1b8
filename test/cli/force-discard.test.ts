/**
 * --force discards the checkpoint in --checkpoint DIR only once the checks before the work have
 * passed: a run refused for a corrupt image keeps the checkpoint it would have replaced. The image
 * is one the settings' fingerprint does not decode (splitsData, cli/resume-settings.ts: 64 images
 * spread over the split), so only the split's full decode (runSearchSplit) finds it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset, parseDatasetSpec } from '../../src/data/dataset-spec.js';
import { hasCheckpoint, saveCheckpoint } from '../../src/nn/checkpoint.js';
import { TABLE, wgnasInProcess } from '../helpers/cli.js';
import { writeImageFolder } from '../helpers/datasets.js';

const root = mkdtempSync(join(tmpdir(), 'wgnas-force-'));
const data = join(root, 'data');
let bad = '';

beforeAll(async () => {
  await writeImageFolder(data, [40, 40], { format: 'jpeg' });
  const { ds } = await openDataset(parseDatasetSpec(`folder:${data}`), 'train');
  // Both commands' default split of 80 images is all of them; the fingerprint decodes 64 of them.
  const sampled = new Set(Array.from({ length: 64 }, (_, k) => Math.floor((k * ds.count) / 64)));
  const i = Array.from({ length: ds.count }, (_, k) => k).find((k) => !sampled.has(k))!;
  bad = ds.source(i);
  const bytes = readFileSync(bad);
  writeFileSync(bad, bytes.subarray(0, bytes.length >> 1));
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('--force with a refused run', () => {
  const cases: Array<[string, string, string[]]> = [
    ['evolve-space', 'wgnas-evolve-space', ['--budget-madds', '3M']],
    ['proxyless', 'wgnas-proxyless', ['--latency-table', TABLE, '--target-ms', '40']],
  ];
  for (const [cmd, kind, flags] of cases) {
    it(`${cmd}: a corrupt image refuses the run and the old checkpoint stays`, async () => {
      const ck = join(root, `${cmd}-ck`);
      await saveCheckpoint(ck, [], new Map(), { kind });
      const r = await wgnasInProcess([
        cmd,
        ...flags,
        '--dataset',
        `folder:${data}`,
        '--device',
        'cpu',
        '--checkpoint',
        ck,
        '--force',
      ]);
      expect(r.code, r.err).toBe(1);
      expect(r.err).toMatch(/cannot decode the image/);
      expect(r.err).toContain(bad);
      expect(r.err).not.toMatch(/discarded/);
      expect(hasCheckpoint(ck)).toBe(true);
    });
  }
});
