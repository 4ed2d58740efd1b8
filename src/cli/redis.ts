/** --redis on the command line: reachable within seconds, or one line naming the flag before any work. */
import { probeRedis, RedisUnreachableError } from '../queue/connection.js';
import { UsageError } from './errors.js';

export async function checkRedis(url: string): Promise<void> {
  try {
    await probeRedis(url);
  } catch (e) {
    if (e instanceof RedisUnreachableError) throw new UsageError(`--redis: ${e.message}`);
    throw e;
  }
}
