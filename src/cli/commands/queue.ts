import { formatStatus, queueStatus } from '../../queue/status.js';
import { UsageError } from '../args.js';
import { checkRedis } from '../redis.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import type { ValuesOf } from '../spec.js';
import { QUEUE, type QUEUE_OPTIONS } from '../specs/queue.js';

export const summary = QUEUE.summary;

async function queue(v: ValuesOf<typeof QUEUE_OPTIONS>, { io, positionals }: RunContext): Promise<void> {
  // The action is checked with the command line (specs/queue.ts): 'status', the only one.
  const rest = positionals.slice(1);
  if (rest.length) throw new UsageError(`'queue status' takes no more arguments (got ${rest.join(' ').slice(0, 80)})`);
  await checkRedis(v.redis);
  const s = await queueStatus(v.redis, v.queue);
  io.out(v.json ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
}

export const handlers = { queue };
export const run = (argv: string[]) => runCommand(QUEUE, argv, selfResolve('queue', handlers));
