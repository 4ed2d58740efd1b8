/**
 * A child process holding a lock as a running command does (lock-holder.ts): 'hold' a lock file,
 * 'ckpt' a checkpoint directory. The lock tests start one and kill it when done.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './paths.js';

export const LOCK_HOLDER = join(REPO, 'test', 'helpers', 'lock-holder.ts');

/** Starts a child holding the lock (added to `children`, for the caller to kill); resolves once it printed "locked". */
export function holdLock(mode: 'hold' | 'ckpt', path: string, children: ChildProcess[]): Promise<ChildProcess> {
  const c = spawn(process.execPath, ['--import', 'tsx', LOCK_HOLDER, mode, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  return new Promise((resolve, reject) => {
    let out = '';
    c.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('locked')) resolve(c);
      else if (out.includes('held') || out.includes('error')) reject(new Error(out));
    });
    c.on('exit', (code) => reject(new Error(`holder exited ${code}: ${out}`)));
  });
}
