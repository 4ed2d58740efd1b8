/**
 * `--train-epochs N --train-out DIR` on the search commands (search, proxyless, evolve-space): the
 * network found is handed to `wgnas train` (its defaults, the search's --dataset, --device and
 * --seed), its file written to DIR/network.json first. Run through the train command itself, so
 * the training, its files and its messages are those of `wgnas train`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { checkCheckpointDirFree, hasCheckpoint } from '../nn/checkpoint.js';
import { TRAIN_DEFAULTS } from '../train/settings.js';
import { writeFileAtomic } from '../util/durable.js';
import { UsageError } from './errors.js';
import { checkFilesIn } from './paths.js';
import { runCommand, type RunContext } from './run.js';
import { TRAIN, TRAIN_FILES } from './specs/train.js';

export interface TrainFoundValues {
  'train-epochs'?: number;
  'train-out'?: string;
  dataset: string;
  device: string;
  'cpu-threads'?: number;
  seed: number;
  /** The search's --quiet, passed on: the training prints no progress either. */
  quiet?: boolean;
}

/** The network found: an NB201 cell string (with its depth), or a network file's JSON text. */
export type FoundNetwork = { nb201: string; cellsPerStage: number } | { json: string };

/**
 * The hand-over's directory, checked before the search starts (a refusal after a long search loses
 * it): a --train-out that holds a training checkpoint of an earlier run would be refused by `wgnas
 * train` at the end, with advice about flags this command does not have.
 */
export function checkTrainOut(v: Pick<TrainFoundValues, 'train-epochs' | 'train-out'>): void {
  const out = v['train-out'];
  if (v['train-epochs'] === undefined || out === undefined) return;
  checkCheckpointDirFree(join(out, 'checkpoint'));
  if (hasCheckpoint(join(out, 'checkpoint')))
    throw new UsageError(
      `--train-out ${out} holds a training checkpoint of an earlier run: name another --train-out, remove it, or continue it with \`wgnas train ... --out ${out} --resume\``,
    );
  checkFilesIn('train-out', out, ['network.json', ...TRAIN_FILES]);
}

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
  if (v.quiet) argv.push('--quiet');
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
