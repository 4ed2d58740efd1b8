/**
 * `wgnas proxyless` on the CPU, tiny: the summary's "supernet val accuracy of the derived path" names
 * the validation images evaluated, which a validation split smaller than 4 x --val-batch caps (its
 * batches then repeat the same images).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cpuTestBackend } from '../helpers/backend.js';
import { TABLE, wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-proxyless-summary-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('proxyless summary', () => {
  it.skipIf(cpuTestBackend() === null)(
    'counts the validation images evaluated: the split when it is smaller than 4 batches, else 4 x --val-batch',
    { timeout: 120_000 },
    async () => {
      const run = (val: number) =>
        wgnasInProcess([
          ...['proxyless', '--latency-table', TABLE, '--target-ms', '40', '--warmup', '0', '--steps', '1'],
          ...['--batch', '4', '--val-batch', '8', '--train', '16', '--val', String(val)],
          ...[
            '--device',
            'cpu',
            '--cpu-threads',
            '1',
            '--out',
            join(tmp, `net-${val}.config`),
            '--plot',
            join(tmp, `p-${val}.svg`),
          ],
        ]);
      const small = await run(8);
      expect(small.code, small.err).toBe(0);
      expect(small.out).toMatch(/supernet val accuracy of the derived path: [\d.]+% \(8 images\)/);
      // The latency line names the table and where its figures came from, and whose latency they are:
      // the Pixel 1 table prices the CIFAR network as its ImageNet-layout twin (the plot's title says so too).
      const latency = small.out.split('\n').find((l) => l.startsWith('latency '));
      expect(latency).toMatch(/^latency [\d.]+ ms \(table /);
      expect(latency).toContain(
        `(table ${TABLE}: Pixel 1, TFLite, 1 thread; published by ProxylessNAS; the ImageNet-layout twin at 224x224 on the table's device, as wgnas predict --imagenet-twin prices it), E[lat] `,
      );
      expect(readFileSync(join(tmp, 'p-8.svg'), 'utf8')).toContain(
        '>ProxylessNAS search, target 40 ms (the ImageNet-layout twin at 224x224 on the table&apos;s device)</text>',
      );
      const big = await run(40);
      expect(big.code, big.err).toBe(0);
      expect(big.out).toMatch(/supernet val accuracy of the derived path: [\d.]+% \(32 images\)/);
    },
  );

  it('a --latency-table missing many keys: the one-line error lists the keys that fit and says how many more', async () => {
    const one = join(tmp, 'one.yaml');
    writeFileSync(one, readFileSync(TABLE, 'utf8').split('\n').slice(0, 4).join('\n') + '\n');
    const r = await wgnasInProcess([
      ...['proxyless', '--latency-table', one, '--target-ms', '40', '--steps', '1'],
      ...['--device', 'cpu', '--out', join(tmp, 'never.config')],
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `wgnas proxyless: latency table ${one} has no entry for 70 key(s) of the cifar layout: ` +
        'Conv-input:32x32x3-output:32x32x16, Conv_1-input:2x2x64-output:2x2x256, Logits-input:2x2x256-output:10, and 67 more. ' +
        'Profile them (wgnas profile), or approximate from the closest entries with --missing nearest or scale.\n',
    );
  });
});
