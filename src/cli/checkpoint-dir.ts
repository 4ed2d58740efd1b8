/**
 * The --checkpoint DIR of the resumable searches (proxyless, evolve-space), settled before any work:
 * DIR is locked (a second run on it refuses at once), --resume needs a checkpoint there and a run
 * without --resume or --force refuses one, and --resume reads its state.json once, so the settings
 * checked are those of the state the run continues (its binaries are verified against it).
 */
import {
  type CheckpointState,
  discardCheckpoint,
  hasCheckpoint,
  lockCheckpointDir,
  readCheckpointState,
} from '../nn/checkpoint.js';
import type { LockHandle } from '../util/durable.js';
import { UsageError } from './errors.js';
import type { RunContext } from './run.js';

export interface OpenedCheckpointDir {
  lock: LockHandle;
  /** --resume: the checkpoint's state.json as read once, under the lock. */
  ck: CheckpointState | null;
}

export function openCheckpointDir(dir: string, o: { resume: boolean; force: boolean }, { io }: RunContext): OpenedCheckpointDir {
  const lock = lockCheckpointDir(dir, (owner) =>
    io.err(`note: ${dir} was locked by process ${owner.pid}, which is gone: taking it over\n`),
  );
  try {
    if (o.resume && !hasCheckpoint(dir)) throw new UsageError(`--resume: no checkpoint in ${dir}`);
    if (!o.resume && !o.force && hasCheckpoint(dir))
      throw new UsageError(
        `--checkpoint ${dir} holds a checkpoint: pass --resume to continue it or --force to start over (it is discarded)`,
      );
    return { lock, ck: o.resume ? readCheckpointState(dir) : null };
  } catch (e) {
    lock.release();
    throw e;
  }
}

/**
 * --force: the old checkpoint goes once every check of the new run has passed, just before its work
 * (a run refused for a corrupt image or a device that does not open keeps it).
 */
export function discardForForce(dir: string, force: boolean, { io }: RunContext): void {
  if (!force || !hasCheckpoint(dir)) return;
  discardCheckpoint(dir);
  io.err(`--force: discarded the checkpoint in ${dir}\n`);
}
