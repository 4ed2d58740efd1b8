/**
 * A search with `--train-epochs N --train-out DIR` killed while it trains the network found: the
 * same command with --resume (what its Ctrl-C line says) replays the search and continues the
 * training from DIR's checkpoint, ending with an uninterrupted run's weights. What differs from the
 * training's recorded settings is refused before the search, in one line; a DIR whose network.json
 * is another network's is refused and left as it is. CPU backend, a tiny image folder.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasChild } from '../helpers/child.js';
import { TABLE, wgnasInProcess } from '../helpers/cli.js';
import { flagArgs } from '../helpers/flags.js';
import { writeImageFolder } from '../helpers/datasets.js';

const hasCpu = cpuTestBackend() !== null;
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-handover-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let dataset = '';
beforeAll(async () => {
  await writeImageFolder(join(tmp, 'images', 'train'), [8, 8]);
  await writeImageFolder(join(tmp, 'images', 'test'), [2, 2]);
  dataset = `folder:${join(tmp, 'images')}`;
}, 60_000);

const CPU = ['--device', 'cpu', '--cpu-threads', '1', '--quiet'];
const search = (name: string, epochs = '3') => [
  'search',
  '--budget',
  '3',
  '--cells-per-stage',
  '1',
  '--batch',
  '4',
  '--dataset',
  dataset,
  ...CPU,
  '--evaluated',
  join(tmp, `${name}.csv`),
  '--train-epochs',
  epochs,
  '--train-out',
  join(tmp, name),
];
const bytes = (dir: string, f: string) => readFileSync(join(tmp, dir, f));

describe('--train-epochs hand-over, killed while training', () => {
  it('search ... --resume continues the training and ends with an uninterrupted run', { timeout: 300_000 }, async ({ skip }) => {
    if (!hasCpu) return skip();
    const ref = await wgnasInProcess(search('ref'));
    expect(ref.code, ref.err).toBe(0);
    // One step per epoch (16 images, batch 16): killed in the second epoch, after the first checkpoint.
    const killed = await wgnasChild(search('cut'), { killAt: 'train.step:2' });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');

    // Settings the training recorded, checked before the search: one line naming the flag.
    const epochs = await wgnasInProcess([...search('cut', '4'), '--resume']);
    expect(epochs.code).toBe(2);
    expect(epochs.err.trim().split('\n'), epochs.err).toHaveLength(1);
    expect(epochs.err).toMatch(/^wgnas search: --resume: the training in --train-out .*cut ran with --train-epochs 3, now 4;/);

    const resumed = await wgnasInProcess([...search('cut'), '--resume']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toMatch(/wgnas train .* --resume\n/);
    for (const f of ['weights.json', 'weights.bin', 'curve.svg']) expect(bytes('cut', f), f).toEqual(bytes('ref', f));
  });

  it('proxyless ... --resume refuses a --train-out whose network.json is another network, and keeps it', async ({ skip }) => {
    if (!hasCpu) return skip();
    const ck = join(tmp, 'px-ck');
    const out = join(tmp, 'px');
    const tiny = flagArgs({ 'latency-table': TABLE, 'target-ms': '40', warmup: '1', steps: '1', batch: '4', 'val-batch': '4' });
    const px = ['proxyless', ...tiny, '--dataset', dataset, ...CPU, '--checkpoint', ck];
    px.push('--train-epochs', '1', '--train-out', out);
    expect((await wgnasInProcess(px)).code).toBe(0);
    // DIR's training checkpoint stays; its network.json is another search's.
    const other = '{"other": true}\n';
    writeFileSync(join(out, 'network.json'), other);
    const r = await wgnasInProcess([...px, '--resume']);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n').at(-1)).toMatch(
      /^wgnas proxyless: --resume: --train-out .*px holds the training of another network \(.*network\.json\) than this search found; name another --train-out$/,
    );
    expect(readFileSync(join(out, 'network.json'), 'utf8')).toBe(other);
  });
});
