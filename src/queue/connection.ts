/**
 * Redis connections for the queue: the URL check, a quick reachability probe for the submitting side
 * (an unreachable --redis fails in seconds, before any work), and the long-lived connections that
 * ride out a Redis restart (ioredis reconnects; BullMQ needs maxRetriesPerRequest: null).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { redisUrlProblem } from './settings.js';
import { UserFacingError } from '../util/errors.js';

/** A --redis URL that cannot be used (malformed, or nothing answers there). */
export class RedisUnreachableError extends UserFacingError {
  override readonly name = 'RedisUnreachableError';
}

/** Milliseconds the submitting side waits for Redis to answer at start. */
export const CONNECT_TIMEOUT_MS = 3000;

/** Connects once, with no retry, and pings; throws RedisUnreachableError naming the URL. */
export async function probeRedis(url: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<void> {
  const problem = redisUrlProblem(url);
  if (problem) throw new RedisUnreachableError(problem);
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  r.on('error', () => {}); // reported through connect()'s rejection
  let timer: NodeJS.Timeout | undefined;
  try {
    // ioredis selects the URL's database on connect but carries on in database 0 when the server
    // refuses it (an index past its 'databases' setting): selected again here, so a refusal is said.
    const db = Number(new URL(url).pathname.slice(1) || 0);
    const ping = r.connect().then(async () => {
      if (db !== 0) {
        try {
          await r.select(db);
        } catch (e) {
          throw new RedisUnreachableError(
            `${redactUrl(url)}: the server refuses database ${db} (${(e as Error).message}): its databases are /0 up to its 'databases' setting - 1`,
          );
        }
      }
      return r.ping();
    });
    const late = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs)),
    );
    await Promise.race([ping, late]);
  } catch (e) {
    if (e instanceof RedisUnreachableError) throw e;
    throw new RedisUnreachableError(`cannot reach ${redactUrl(url)}: ${(e as Error).message || String(e)}`);
  } finally {
    clearTimeout(timer);
    r.disconnect();
  }
}

/** The URL without its password (messages and status lines). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * A connection that waits out an outage: commands queue while Redis is away and run once it is back
 * (reconnect every <= 1 s). BullMQ's workers and queues need exactly this (maxRetriesPerRequest: null).
 */
export function openRedis(url: string, extra: RedisOptions = {}): Redis {
  const r = new Redis(url, {
    maxRetriesPerRequest: null,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (n) => Math.min(100 * n, 1000),
    ...extra,
  });
  r.on('error', () => {}); // reconnects are routine; the callers notice a lasting outage themselves
  return r;
}
