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

export async function md5File(path: string): Promise<string> {
  const h = createHash('md5');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function sizeOf(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/** One HTTP attempt: appends to `partial` from its current size. Returns when the body ends. */
async function attempt(url: string, partial: string, o: DownloadOptions): Promise<void> {
  let have = sizeOf(partial);
  if (o.bytes !== undefined && have === o.bytes) return; // already complete; verified by the caller
  if (o.bytes !== undefined && have > o.bytes) {
    rmSync(partial);
    have = 0;
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
    await receive(url, partial, o, have, headers, signal, arm);
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
  have: number,
  headers: Record<string, string>,
  signal: AbortSignal,
  arm: () => void,
): Promise<void> {
  const res = await fetch(url, { headers, signal, redirect: 'follow' });
  arm();
  if (res.status === 416 && have > 0) return; // the server has nothing past what we hold
  if (!res.ok) throw new DownloadError(`${url}: HTTP ${res.status} ${res.statusText}`.trim());
  if (have > 0 && res.status !== 206) {
    // The server ignored the Range request: start over rather than append a second copy.
    o.onNote?.(`${url}: server does not resume downloads; starting again`);
    rmSync(partial, { force: true });
    have = 0;
  }
  const length = Number(res.headers.get('content-length'));
  const total = o.bytes ?? (Number.isFinite(length) && length > 0 ? have + length : NaN);
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

function isRetryable(e: unknown): boolean {
  if (e instanceof DownloadError || e instanceof WriteError) return false;
  const name = (e as Error)?.name;
  return name !== 'AbortError';
}

/**
 * Downloads `url` to `dest` (resuming DEST.partial if present), verifies size and MD5, then renames.
 * A file that fails verification is deleted, so the next run starts clean.
 */
export async function download(url: string, dest: string, o: DownloadOptions = {}): Promise<void> {
  const partial = `${dest}.partial`;
  const retries = o.retries ?? 5;
  // A wrong file that continued an earlier run's partial download may be that run's fault.
  const continued = sizeOf(partial) > 0;
  for (let tries = 0; ; tries++) {
    try {
      await attempt(url, partial, o);
      break;
    } catch (e) {
      if (!isRetryable(e) || tries >= retries) {
        if (e instanceof DownloadError || e instanceof WriteError) throw e;
        throw new DownloadError(`${url}: ${reason(e)} (after ${tries + 1} attempts; run again to resume)`);
      }
      o.onNote?.(`${url}: ${reason(e)}; attempt ${tries + 2} of ${retries + 1}, resuming from ${sizeOf(partial)} bytes`);
    }
  }
  const wrong = (what: string) => {
    rmSync(partial, { force: true });
    const again = continued ? '; it continued a partial download of an earlier run: run again to download it whole' : '';
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
