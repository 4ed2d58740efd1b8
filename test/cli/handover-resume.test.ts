/**
 * A search with `--train-epochs N --train-out DIR` killed while it trains the network found: the
 * same command with --resume (what its Ctrl-C line says) replays the search and continues the
 * training from DIR's checkpoint, ending with an uninterrupted run's weights; a search that cannot
 * resume (no --evaluated) names the `wgnas train` command that continues the training instead. What differs from the
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

  it(
    'search without --evaluated: the same command names the exact `wgnas train` command that continues the training, which ends as an uninterrupted run',
    { timeout: 300_000 },
    async ({ skip }) => {
      if (!hasCpu) return skip();
      // No --evaluated: the search itself cannot resume (--resume needs --evaluated FILE).
      const noLog = (name: string) => {
        const argv = search(name);
        argv.splice(argv.indexOf('--evaluated'), 2);
        return argv;
      };
      const ref = await wgnasInProcess(noLog('ref2'));
      expect(ref.code, ref.err).toBe(0);
      const killed = await wgnasChild(noLog('cut2'), { killAt: 'train.step:2' });
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      const again = await wgnasInProcess(noLog('cut2'));
      expect(again.code).toBe(2);
      expect(again.err.trim().split('\n'), again.err).toHaveLength(1);
      const out = join(tmp, 'cut2');
      const m = new RegExp(
        `holds a training checkpoint of an earlier run: name another --train-out or remove it; or if it is this command's own \\(killed or stopped\\), its search finished \\(its network\\.json\\): continue the training with \`wgnas (train [^\`]*)\`\n$`,
      ).exec(again.err);
      expect(m, again.err).not.toBeNull();
      // The hand-over's own flags (the search's --dataset, --device, --seed, --cpu-threads, --quiet; batch 16: the folder's images) and --resume.
      expect(m![1]).toBe(
        `train --out ${out} --epochs 3 --dataset ${dataset} --device cpu --seed 0 --batch 16 --cpu-threads 1 --quiet --net ${out}/network.json --resume`,
      );
      const resumed = await wgnasInProcess(m![1].split(' '));
      expect(resumed.code, resumed.err).toBe(0);
      for (const f of ['weights.json', 'weights.bin']) expect(bytes('cut2', f), f).toEqual(bytes('ref2', f));

      // Ctrl-C once the first epoch is saved: the stop line names the same command.
      const loud = noLog('int').filter((a) => a !== '--quiet');
      const stopped = await wgnasChild(loud, {
        onStart: (c) =>
          c.stderr!.on('data', (d) => {
            if (String(d).includes('epoch 1/3:')) c.kill('SIGINT');
          }),
      });
      expect(stopped.signal, stopped.stderr).toBe('SIGINT');
      const int = join(tmp, 'int');
      expect(stopped.stderr.trim().split('\n').at(-1)).toBe(
        `wgnas search: stopped by SIGINT; --train-out ${int} keeps the training done: its search finished (its network.json): continue the training with \`wgnas train --out ${int} --epochs 3 --dataset ${dataset} --device cpu --seed 0 --batch 16 --cpu-threads 1 --net ${int}/network.json --resume\``,
      );
    },
  );

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
