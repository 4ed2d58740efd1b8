/**
 * Resumable, verified HTTP(S) downloads. The file grows as DEST.partial (appended and fsynced as it
 * arrives); a dropped connection or a killed process resumes from its size with a Range request, and
 * only a download whose size and MD5 match is renamed to DEST.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { writeFailure, WriteError } from '../util/durable.js';
import { UserFacingError } from '../util/errors.js';

export interface DownloadOptions {
  /** Expected size in bytes (checked, and used for progress when the server sends no length). */
  bytes?: number;
  /** Expected MD5 (hex) of the whole file. */
  md5?: string;
  /** Called as bytes arrive: (bytes so far, total or NaN). */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Said once per retry or restart, e.g. to stderr. */
  onNote?: (message: string) => void;
  /** Attempts after a connection error (each resumes where the last stopped). Default 5. */
  retries?: number;
  /**
   * Wait before retry k (k = 1, 2, ...): `retryDelayMs * 2^(k-1)`, so a server that restarts has
   * time to come back (1, 2, 4, 8, 16 s by default). Tests give 0.
   */
  retryDelayMs?: number;
  /**
   * Called when a response starts a body: the bytes already held (a resumed download; 0 when the
   * server starts over) and the total expected (NaN when unknown). A progress display counts from it.
   */
  onStart?: (fromBytes: number, totalBytes: number) => void;
  /**
   * An attempt that receives nothing for this long (no answer to the request, or a body that
   * stalls) is dropped and retried. Default: $WGNAS_FETCH_IDLE_TIMEOUT_MS, else 30000.
   */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
}

/** The default idle timeout of an attempt (ms); $WGNAS_FETCH_IDLE_TIMEOUT_MS overrides it (tests). */
export function defaultIdleTimeoutMs(): number {
  const v = Number(process.env.WGNAS_FETCH_IDLE_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : 30_000;
}

/** An attempt that heard nothing for too long (retried, like a dropped connection). */
class IdleTimeout extends Error {
  override readonly name = 'IdleTimeout';
}

/** Why a fetch failed, from undici's 'fetch failed' and its cause (ECONNREFUSED, a reset...). */
function reason(e: unknown): string {
  const err = e as Error & { cause?: Error & { code?: string } };
  const cause = err?.cause;
  const why = cause
    ? cause.code && !cause.message?.includes(cause.code)
      ? `${cause.code} ${cause.message}`
      : cause.message
    : '';
  return why && why !== err.message ? `${err.message} (${why})` : String(err?.message ?? e);
}

export class DownloadError extends UserFacingError {
  override readonly name: string = 'DownloadError';
}

/**
 * A download the server sent whole (a dropped connection is retried instead) that is not the file
 * expected: its size or MD5 differs. Running again fetches the same file, unless the download had
 * continued a partial one of an earlier run (then it says so).
 */
export class WrongFileError extends DownloadError {
  override readonly name = 'WrongFileError';
}

/**
 * No file came: the host could not be reached, refused, or kept failing through the retries (no
 * network, a firewall, a server down). The file can still come another way (wgnas data fetch says which).
 */
export class UnreachableError extends DownloadError {
  override readonly name = 'UnreachableError';
}

export async function md5File(path: string): Promise<string> {
  const h = createHash('md5');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function sizeOf(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/**
 * Whether the partial file still holds bytes of an earlier run: cleared when an attempt starts over
 * (a server ignoring Range, a partial file longer than the release), whatever the attempt's end.
 */
interface PartialState {
  earlier: boolean;
}

/** One HTTP attempt: appends to `partial` from its current size. Returns when the body ends. */
async function attempt(url: string, partial: string, o: DownloadOptions, st: PartialState): Promise<void> {
  let have = sizeOf(partial);
  if (o.bytes !== undefined && have === o.bytes) return; // already complete; verified by the caller
  if (o.bytes !== undefined && have > o.bytes) {
    rmSync(partial);
    have = 0;
    st.earlier = false;
  }
  const headers: Record<string, string> = have > 0 ? { Range: `bytes=${have}-` } : {};
  // Silence (no answer, or a body that stops) ends the attempt: armed now, re-armed on every chunk.
  const idleMs = o.idleTimeoutMs ?? defaultIdleTimeoutMs();
  const idle = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(), idleMs);
  };
  const timedOut = (e: unknown) =>
    idle.signal.aborted && !o.signal?.aborted
      ? new IdleTimeout(`no data for ${idleMs / 1000} s (the server does not answer or stalled)`)
      : e;
  const signal = o.signal ? AbortSignal.any([o.signal, idle.signal]) : idle.signal;
  arm();
  try {
    await receive(url, partial, o, st, have, headers, signal, arm);
  } catch (e) {
    throw timedOut(e);
  } finally {
    clearTimeout(timer);
  }
}

async function receive(
  url: string,
  partial: string,
  o: DownloadOptions,
  st: PartialState,
  have: number,
  headers: Record<string, string>,
  signal: AbortSignal,
  arm: () => void,
): Promise<void> {
  const res = await fetch(url, { headers, signal, redirect: 'follow' });
  arm();
  if (res.status === 416 && have > 0) return; // the server has nothing past what we hold
  if (!res.ok) {
    const status = `HTTP ${res.status} ${res.statusText}`.trim();
    // A server restarting or overloaded (5xx, 408, 429) may answer later; any other 4xx will not.
    if (res.status >= 500 || res.status === 408 || res.status === 429) throw new TransientHttpError(status);
    throw new DownloadError(`${url}: ${status}`);
  }
  if (have > 0 && res.status !== 206) {
    // The server ignored the Range request: start over rather than append a second copy.
    o.onNote?.(`${url}: server does not resume downloads; starting again`);
    rmSync(partial, { force: true });
    have = 0;
    st.earlier = false;
  }
  const length = Number(res.headers.get('content-length'));
  const total = o.bytes ?? (Number.isFinite(length) && length > 0 ? have + length : NaN);
  o.onStart?.(have, total);
  // A local write that fails (a full disk) is not retried: it names the file, which stays to resume from.
  const kept = { outcome: 'what was downloaded so far is kept; make room and run again to resume' };
  let fd: number;
  try {
    fd = openSync(partial, 'a');
  } catch (e) {
    throw writeFailure(e, partial, kept);
  }
  try {
    let done = have;
    if (!res.body) throw new DownloadError(`${url}: empty response`);
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      arm();
      try {
        writeSync(fd, chunk);
      } catch (e) {
        throw writeFailure(e, partial, kept);
      }
      done += chunk.byteLength;
      o.onProgress?.(done, total);
    }
    try {
      fsyncSync(fd);
    } catch (e) {
      throw writeFailure(e, partial, kept);
    }
  } finally {
    closeSync(fd);
  }
}

/** An HTTP status a later attempt may not get (5xx, 408, 429): retried, unlike other HTTP errors. */
class TransientHttpError extends Error {
  override readonly name = 'TransientHttpError';
}

/**
 * Network failures no retry mends: undici's 'fetch failed' whose cause has no errno-like code (a
 * bad port, an unknown scheme), an invalid URL, a host that does not exist, a certificate refused.
 */
const PERMANENT_CAUSES = new Set([
  'ERR_INVALID_URL',
  'ENOTFOUND',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A network error no retry mends (a bad port, an unknown host): reported at once. DownloadError
 * (an HTTP 404) and WriteError (a full disk) are the caller's, thrown as they are before this.
 */
function isPermanent(e: unknown): boolean {
  if (e instanceof TransientHttpError || e instanceof IdleTimeout) return false;
  const err = e as Error & { cause?: { code?: unknown } };
  if (err instanceof TypeError) {
    const code = err.cause?.code;
    return typeof code !== 'string' || PERMANENT_CAUSES.has(code);
  }
  return false;
}

/** Resolves after `ms`, or rejects when `signal` aborts first. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(t);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', stop, { once: true });
  });
}

/**
 * Downloads `url` to `dest` (resuming DEST.partial if present), verifies size and MD5, then renames.
 * A file that fails verification is deleted, so the next run starts clean.
 */
export async function download(url: string, dest: string, o: DownloadOptions = {}): Promise<void> {
  const partial = `${dest}.partial`;
  const retries = o.retries ?? 5;
  const delayMs = o.retryDelayMs ?? 1000;
  // Whether the bytes kept come from an earlier run: a wrong file that continued them may be that
  // run's fault. Decided by what the attempts did (a server ignoring Range starts over).
  const st: PartialState = { earlier: sizeOf(partial) > 0 };
  for (let tries = 0; ; tries++) {
    try {
      await attempt(url, partial, o, st);
      break;
    } catch (e) {
      if (e instanceof DownloadError || e instanceof WriteError) throw e;
      if (isPermanent(e)) throw new UnreachableError(`${url}: ${reason(e)}`);
      const stopped = () => new UnreachableError(`${url}: ${reason(e)} (after ${tries + 1} attempts; run again to resume)`);
      if ((e as Error)?.name === 'AbortError' || tries >= retries) throw stopped();
      const wait = delayMs * 2 ** tries;
      const after = wait > 0 ? ` in ${wait / 1000} s` : '';
      o.onNote?.(`${url}: ${reason(e)}; attempt ${tries + 2} of ${retries + 1}${after}, resuming from ${sizeOf(partial)} bytes`);
      await sleep(wait, o.signal).catch(() => {
        throw stopped();
      });
    }
  }
  const wrong = (what: string) => {
    rmSync(partial, { force: true });
    const again = st.earlier ? '; it continued a partial download of an earlier run: run again to download it whole' : '';
    return new WrongFileError(`${url}: the server sent the wrong file (${what}); the download was removed${again}`);
  };
  const got = sizeOf(partial);
  if (o.bytes !== undefined && got !== o.bytes) throw wrong(`${got} bytes, expected ${o.bytes}`);
  if (o.md5) {
    const sum = await md5File(partial);
    if (sum !== o.md5.toLowerCase()) throw wrong(`MD5 ${sum}, expected ${o.md5}`);
  }
  renameSync(partial, dest);
}
