/** --redis on the command line: reachable within seconds, or one line naming the flag before any work. */
import { probeRedis, RedisUnreachableError } from '../queue/connection.js';
import { shellCommand } from '../util/shell.js';
import { UsageError } from './errors.js';

export async function checkRedis(url: string): Promise<void> {
  try {
    await probeRedis(url);
  } catch (e) {
    if (e instanceof RedisUnreachableError) throw new UsageError(`--redis: ${e.message}`);
    throw e;
  }
}

/**
 * The submitter's note when jobs wait and no worker of the run's device is alive on the queue (score,
 * profile, evolve-space): workers of another device never take them.
 */
export const noWorkerNote = (queue: string, device: string): string =>
  `no --device ${device} worker is alive on ${queue} yet: start '${shellCommand(['wgnas', 'worker', '--redis', 'URL', '--device', device])}' on each machine\n`;
