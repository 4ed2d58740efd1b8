/**
 * `--train-epochs N --train-out DIR` on the search commands (search, proxyless, evolve-space): the
 * network found is handed to `wgnas train` (its defaults, the search's --dataset, --device and
 * --seed), its file written to DIR/network.json first (an NB201 cell's too, as a wgnas-nb201 JSON). Run through the train command itself, so
 * the training, its files and its messages are those of `wgnas train`.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { checkCheckpointDirFree, hasCheckpoint, readCheckpointState } from '../nn/checkpoint.js';
import { nb201NetworkText } from '../export/index.js';
import { TRAIN_DEFAULTS } from '../train/settings.js';
import { writeFileAtomic } from '../util/durable.js';
import { shellCommand, shellQuote } from '../util/shell.js';
import { ResumeMismatchError } from '../util/run-settings.js';
import { UsageError } from './errors.js';
import { setInterruptHint } from './interrupt.js';
import { checkFilesIn } from './paths.js';
import { savedSetting } from './resume-settings.js';
import { runCommand, type RunContext } from './run.js';
import { TRAIN, TRAIN_FILES, TRAIN_OPTIONS } from './specs/train.js';

/** The stem width `wgnas train --nb201` gives a cell without --channels (the hand-over passes none). */
export const NB201_CHANNELS = Number(TRAIN_OPTIONS.channels.default);

export interface TrainFoundValues {
  'train-epochs'?: number;
  'train-out'?: string;
  dataset: string;
  device: string;
  'cpu-threads'?: number;
  seed: number;
  /** The search's --quiet, passed on: the training prints no progress either. */
  quiet?: boolean;
  /** The search's --resume: a training checkpoint in --train-out (this run's, killed) is continued. */
  resume?: boolean;
  /** What the search resumes from (search's --evaluated, proxyless's and evolve-space's --checkpoint): without it, --resume is refused. */
  evaluated?: string;
  checkpoint?: string;
}

type HandOverValues = Pick<
  TrainFoundValues,
  'train-epochs' | 'train-out' | 'dataset' | 'device' | 'cpu-threads' | 'seed' | 'quiet' | 'evaluated' | 'checkpoint'
>;

/** The flags of the hand-over's `wgnas train` before the network's; `batch` where it is not train's default. */
function trainArgv(v: HandOverValues, epochs: number, out: string, batch?: number): string[] {
  const argv = ['--out', out, '--epochs', String(epochs), '--dataset', v.dataset, '--device', v.device, '--seed', String(v.seed)];
  if (batch !== undefined && batch !== TRAIN_DEFAULTS.batchSize) argv.push('--batch', String(batch));
  if (v['cpu-threads'] !== undefined) argv.push('--cpu-threads', String(v['cpu-threads']));
  if (v.quiet) argv.push('--quiet');
  return argv;
}

/**
 * How to continue a hand-over's training kept in --train-out: the search's own --resume where it
 * can resume (it replays the search, then continues the training), else `wgnas train` on the
 * network.json the finished search wrote, with the flags the hand-over gave it.
 */
function continueTraining(v: HandOverValues, epochs: number, out: string, batch: number | undefined): string {
  if (v.evaluated !== undefined || v.checkpoint !== undefined) return 'repeat the command with --resume to continue it';
  const cmd = shellCommand([
    'wgnas',
    'train',
    ...trainArgv(v, epochs, out, batch),
    '--net',
    join(out, 'network.json'),
    '--resume',
  ]);
  return `its search finished (its network.json): continue the training with \`${cmd}\``;
}

/** The network found: an NB201 cell string (with its depth), or a network file's JSON text. */
export type FoundNetwork = { nb201: string; cellsPerStage: number } | { json: string };

/**
 * The hand-over's directory, checked before the search starts (a refusal after a long search loses
 * it): a --train-out that holds a training checkpoint of an earlier run would be refused by `wgnas
 * train` at the end, with advice about flags this command does not have. With the search's
 * --resume it is this run's own training, killed or stopped: the hand-over continues it (`wgnas
 * train --resume`), so repeating the command with --resume continues the whole run; what can be
 * told before the search (--train-epochs, --seed) must match what the training recorded.
 */
export function checkTrainOut(v: HandOverValues & Pick<TrainFoundValues, 'resume'>): void {
  const out = v['train-out'];
  const epochs = v['train-epochs'];
  if (epochs === undefined || out === undefined) return;
  const ckDir = join(out, 'checkpoint');
  checkCheckpointDirFree(ckDir);
  if (hasCheckpoint(ckDir)) {
    if (!v.resume) {
      // The batch the training recorded (the hand-over gives a small dataset's own); unreadable: train's default.
      let batch: unknown;
      try {
        batch = savedSetting(readCheckpointState(ckDir), 'batch');
      } catch {
        batch = undefined;
      }
      throw new UsageError(
        `--train-out ${out} holds a training checkpoint of an earlier run: name another --train-out or remove it; or if it is this command's own (killed or stopped), ${continueTraining(v, epochs, out, typeof batch === 'number' ? batch : undefined)}`,
      );
    }
    const ck = readCheckpointState(ckDir);
    for (const [flag, key, now] of [
      ['--train-epochs', 'epochs', v['train-epochs']],
      ['--seed', 'seed', v.seed],
    ] as const) {
      const was = savedSetting(ck, key);
      if (was !== undefined && was !== now)
        throw new ResumeMismatchError(
          `--resume: the training in --train-out ${out} ran with ${flag} ${String(was)}, now ${now}; resume with its settings or name another --train-out`,
        );
    }
  }
  checkFilesIn('train-out', out, ['network.json', ...TRAIN_FILES], ['checkpoint']);
}

/**
 * Trains the network found when --train-epochs was given (a no-op otherwise). `trainImages`: the
 * training images of --dataset (a smaller set trains in batches of all of them).
 */
export async function trainFound(net: FoundNetwork, v: TrainFoundValues, trainImages: number, ctx: RunContext): Promise<void> {
  const epochs = v['train-epochs'];
  const out = v['train-out'];
  if (epochs === undefined || out === undefined) return;
  const batch = trainImages < TRAIN_DEFAULTS.batchSize ? trainImages : undefined;
  const argv = trainArgv(v, epochs, out, batch);
  // A resumed search continues its killed training (checkTrainOut let only this run's through).
  const resume = v.resume === true && hasCheckpoint(join(out, 'checkpoint'));
  // DIR/network.json: the network trained, a file `wgnas train --net` and `wgnas export --net` read
  // (an NB201 cell as a wgnas-nb201 JSON at the training's width; it trains through --nb201 itself).
  mkdirSync(out, { recursive: true });
  const file = join(out, 'network.json');
  const text =
    'nb201' in net
      ? nb201NetworkText(net.nb201, { channels: NB201_CHANNELS, cellsPerStage: net.cellsPerStage })
      : net.json.endsWith('\n')
        ? net.json
        : `${net.json}\n`;
  // The file the checkpoint's training read stays: another network found is refused, not written over it.
  if (resume && existsSync(file) && readFileSync(file, 'utf8') !== text)
    throw new ResumeMismatchError(
      `--resume: --train-out ${out} holds the training of another network (${file}) than this search found; name another --train-out`,
    );
  writeFileAtomic(file, text);
  if ('nb201' in net) argv.push('--nb201', net.nb201, '--cells-per-stage', String(net.cellsPerStage));
  else argv.push('--net', file);
  if (resume) argv.push('--resume');
  ctx.io.err(`training the network found: ${shellCommand(['wgnas', 'train', ...argv])}\n`);
  // Stopped while training: once a checkpoint is kept, the stop line says how to continue it.
  const ckDir = join(out, 'checkpoint');
  setInterruptHint(() =>
    hasCheckpoint(ckDir)
      ? `--train-out ${shellQuote(out)} keeps the training done: ${continueTraining(v, epochs, out, batch)}`
      : undefined,
  );
  try {
    await runCommand(TRAIN, argv, async () => (await import('./commands/train.js')).handlers, ctx.io);
  } finally {
    setInterruptHint(null);
  }
}
