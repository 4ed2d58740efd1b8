/**
 * Child process for the lock tests: `hold PATH` takes the lock file PATH, prints "locked" and waits
 * to be killed; `try PATH` tries once and prints "locked" (then releases) or the refusal.
 * `ckpt DIR` holds a checkpoint directory's lock the way a proxyless run does.
 */
import { acquireLock, LockHeldError } from '../../src/util/durable.js';
import { lockCheckpointDir } from '../../src/nn/checkpoint.js';

const [mode, path] = process.argv.slice(2);
try {
  const lock =
    mode === 'ckpt'
      ? lockCheckpointDir(path, (o) => process.stderr.write(`stale ${o.pid}\n`))
      : acquireLock(path, { onStale: (o) => process.stderr.write(`stale ${o.pid}\n`) });
  process.stdout.write('locked\n');
  if (mode === 'try') {
    lock.release();
    process.exit(0);
  }
  setInterval(() => {}, 1000);
} catch (e) {
  process.stdout.write(`${e instanceof LockHeldError ? 'held' : 'error'}: ${(e as Error).message}\n`);
  process.exit(3);
}
