/**
 * Redis connections for the queue: the URL check, a quick reachability probe for the submitting side
 * (an unreachable --redis fails in seconds, before any work), and the long-lived connections that
 * ride out a Redis restart (ioredis reconnects; BullMQ needs maxRetriesPerRequest: null).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { redactUrl, redisUrlProblem } from './settings.js';
import { UserFacingError } from '../util/errors.js';

/** Re-exported: the queue's callers redact through here (settings.ts holds it, free of ioredis, for provenance). */
export { redactUrl };

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
  // The socket's error (ECONNREFUSED...): connect() itself rejects with only 'Connection is closed.'.
  let socketError: (Error & { code?: string }) | undefined;
  r.on('error', (e: Error) => void (socketError ??= e));
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
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new ConnectTimeout()), timeoutMs)));
    await Promise.race([ping, late]);
  } catch (e) {
    if (e instanceof RedisUnreachableError) throw e;
    const cause = e instanceof ConnectTimeout ? e : (socketError ?? e);
    const why = connectFailure(cause, timeoutMs);
    if (why) {
      const u = new URL(url);
      throw new RedisUnreachableError(
        `cannot connect to ${u.hostname}:${u.port || 6379} (${why}); check the server with: redis-cli -u ${redactUrl(url)} ping`,
      );
    }
    throw new RedisUnreachableError(`cannot reach ${redactUrl(url)}: ${(cause as Error).message || String(cause)}`);
  } finally {
    clearTimeout(timer);
    r.disconnect();
  }
}

/** No answer to the probe in time (a host that drops the packets, a server that never replies). */
class ConnectTimeout extends Error {}

/** Why the probe could not connect, in words (refused, timed out...); undefined for other failures (a reply error). */
function connectFailure(e: unknown, timeoutMs: number): string | undefined {
  if (e instanceof ConnectTimeout) return `timed out: no answer in ${timeoutMs} ms`;
  const code = (e as { code?: string })?.code;
  if (code === 'ECONNREFUSED') return 'connection refused: is the server running, on this port?';
  if (code === 'ETIMEDOUT') return `timed out: no answer in ${timeoutMs} ms`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  if (code === 'ECONNRESET') return 'the connection was reset';
  return undefined;
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
