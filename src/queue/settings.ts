/** Queue settings shared by the submitting side and the workers (namespaces, locks, heartbeats). */

/** Default namespace: the prefix of every key wgnas writes in Redis (--queue changes it; tests use their own). */
export const DEFAULT_NAMESPACE = 'wgnas';

const envMs = (name: string, dflt: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};

/**
 * How long a worker's job lock lasts without renewal (BullMQ renews it at half this); a killed
 * worker's job is handed to another after about this long. WGNAS_QUEUE_LOCK_MS shortens it (tests).
 */
export const lockMs = (): number => envMs('WGNAS_QUEUE_LOCK_MS', 30_000);

/** Heartbeat period of a worker; it counts as alive for 3 periods after its last beat. */
export const heartbeatMs = (): number => envMs('WGNAS_QUEUE_HEARTBEAT_MS', 2_000);

/**
 * How long a CPU worker keeps a score job too big for it queued (no try spent) while no worker alive
 * can take it, before it fails the job: a big worker briefly away (a restart, a Redis blip longer than
 * its beat, a slow start) is not taken for gone. The lock time: a worker away longer loses its jobs too.
 */
export const noTakerGraceMs = (): number => lockMs();

/** How long a worker's refusal of a job (refusedJobs) counts: a refusal repeats each time the job meets it. */
export const refusalFreshMs = (): number => 2 * lockMs() + 3 * heartbeatMs();

/** How long the submitting side waits for a Redis that went away before it gives up. */
export const outageMs = (): number => envMs('WGNAS_QUEUE_OUTAGE_MS', 300_000);

export const workersKeyPrefix = (ns: string): string => `${ns}:workers:`;

/** What a worker says about itself in its heartbeat. */
export interface WorkerBeat {
  id: string;
  host: string;
  pid: number;
  device: string;
  deviceName: string;
  concurrency: number;
  startedAt: string;
  jobsDone: number;
  archsScored: number;
  /** Jobs it is running now. */
  active: number;
  /** codeVersion() of its checkout. */
  code?: string;
  /** A CPU worker's machine memory (physical), shared by its job slots: other workers leave it the jobs too big for them. */
  memoryBytes?: number;
  /** Jobs it refused (other code, data or threads; too big for it while another worker alive has the memory) and the last refusal: they go back to the queue for another worker. */
  refused?: WorkerRefusal;
  /**
   * The jobs it refused lately (the last refusal of each, within refusalFreshMs): a small CPU worker
   * does not leave a job too big for it to a worker that refuses that job (other threads, data or
   * precision, which the beat does not carry).
   */
  refusedJobs?: Array<{ job: string; reason: WorkerRefusal['reason']; atMs: number }>;
}

export interface WorkerRefusal {
  /** Refusals so far (each time it met such a job). */
  count: number;
  job: string;
  reason: 'code' | 'data' | 'threads' | 'precision' | 'memory';
  /** One line: what differs and what to do. */
  why: string;
  /** The code version the refused job asked for. */
  jobCode: string;
  at: string;
}

/** What is wrong with a Redis URL, or undefined: redis://[user:pass@]host[:port][/db] (rediss:// for TLS). */
export function redisUrlProblem(v: string): string | undefined {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return `expected a URL like redis://host:6379, got '${redactUrl(v).slice(0, 80)}'`;
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return `expected redis:// or rediss://, got '${u.protocol}'`;
  if (!u.hostname) return `no host in '${redactUrl(v).slice(0, 80)}'`;
  if (u.pathname && u.pathname !== '/' && !/^\/\d+$/.test(u.pathname))
    return `the path must be a database number (/0), got '${u.pathname.slice(0, 40)}'`;
  return undefined;
}

/**
 * The URL without its password (messages, status lines, result files' provenance): the one in
 * user:pass@, and a ?password= query item (ioredis reads the query as options). A URL that does not
 * parse (a password with an unescaped '#', '/' or '?'), or has no host, loses what lies between
 * 'user:' and the last '@'.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (/^password$/i.test(k)) u.searchParams.set(k, '***');
    // No host (redis:user:pass@h, no '//'): no userinfo is parsed out, it sits in the path.
    return u.hostname ? u.toString() : redactUserinfo(u.toString());
  } catch {
    return redactUserinfo(url);
  }
}

/**
 * What lies between 'user:' and the last '@' of a URL that does not parse, or parses with no host
 * (redis:user:pass@host, no '//'): hidden as ***.
 */
function redactUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/*[^:/@]*:).*@/i, '$1***@');
}
