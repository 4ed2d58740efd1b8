/**
 * `--train-epochs N --train-out DIR` on the search commands (search, proxyless, evolve-space): the
 * network found is handed to `wgnas train` (its defaults, the search's --dataset, --device and
 * --seed), its file written to DIR/network.json first. Run through the train command itself, so
 * the training, its files and its messages are those of `wgnas train`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { TRAIN_DEFAULTS } from '../train/settings.js';
import { writeFileAtomic } from '../util/durable.js';
import { runCommand, type RunContext } from './run.js';
import { TRAIN } from './specs/train.js';

export interface TrainFoundValues {
  'train-epochs'?: number;
  'train-out'?: string;
  dataset: string;
  device: string;
  'cpu-threads'?: number;
  seed: number;
}

/** The network found: an NB201 cell string (with its depth), or a network file's JSON text. */
export type FoundNetwork = { nb201: string; cellsPerStage: number } | { json: string };

/**
 * Trains the network found when --train-epochs was given (a no-op otherwise). `trainImages`: the
 * training images of --dataset (a smaller set trains in batches of all of them).
 */
export async function trainFound(net: FoundNetwork, v: TrainFoundValues, trainImages: number, ctx: RunContext): Promise<void> {
  const epochs = v['train-epochs'];
  const out = v['train-out'];
  if (epochs === undefined || out === undefined) return;
  const argv = ['--out', out, '--epochs', String(epochs), '--dataset', v.dataset, '--device', v.device, '--seed', String(v.seed)];
  if (trainImages < TRAIN_DEFAULTS.batchSize) argv.push('--batch', String(trainImages));
  if (v['cpu-threads'] !== undefined) argv.push('--cpu-threads', String(v['cpu-threads']));
  if ('nb201' in net) argv.push('--nb201', net.nb201, '--cells-per-stage', String(net.cellsPerStage));
  else {
    mkdirSync(out, { recursive: true });
    const file = join(out, 'network.json');
    writeFileAtomic(file, net.json.endsWith('\n') ? net.json : `${net.json}\n`);
    argv.push('--net', file);
  }
  ctx.io.err(`training the network found: wgnas train ${argv.join(' ')}\n`);
  await runCommand(TRAIN, argv, async () => (await import('./commands/train.js')).handlers, ctx.io);
}
