/**
 * Crash-safe file primitives, the one place every writer of saved state goes through:
 * - writeFileAtomic: temp file in the same directory, fsync, rename, fsync of the directory, so a
 *   reader (or a run after a crash) sees the old file or the new one, never a torn one;
 * - DurableAppender / appendDurable: append and fsync, so a finished row survives a crash;
 * - acquireLock: an exclusive lock file holding the owner's pid and host; a lock whose process is
 *   gone (same host, pid dead or reused) is stale and taken over, a live one refuses.
 *
 * Hand-written rather than write-file-atomic + proper-lockfile: the latter judges staleness by
 * mtime (a lock must be refreshed on a timer, and a paused run loses it), while a pid check is
 * exact on one host; write-file-atomic does not fsync the directory after the rename.
 *
 * Test hook: WGNAS_TEST_KILL_AT=POINT:N (comma list) makes the process SIGKILL itself the N-th
 * time it passes the named point (see killPoint), so a fault-injection test can land a kill inside
 * a multi-step write deterministically.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { UserFacingError } from './errors.js';

// ---------------------------------------------------------------- fault injection (tests only)

let killPlan: Map<string, number> | undefined;
const killSeen = new Map<string, number>();

/**
 * A named point where a fault-injection test may kill this process (WGNAS_TEST_KILL_AT=POINT:N,
 * the N-th pass, 1-based). No-op unless the variable names this point.
 */
export function killPoint(name: string): void {
  if (killPlan === undefined) {
    killPlan = new Map();
    for (const item of (process.env.WGNAS_TEST_KILL_AT ?? '').split(',').filter(Boolean)) {
      const i = item.lastIndexOf(':');
      const n = i > 0 ? Number(item.slice(i + 1)) : NaN;
      killPlan.set(i > 0 && Number.isInteger(n) ? item.slice(0, i) : item, Number.isInteger(n) && n > 0 ? n : 1);
    }
  }
  const at = killPlan.get(name);
  if (at === undefined) return;
  const seen = (killSeen.get(name) ?? 0) + 1;
  killSeen.set(name, seen);
  if (seen === at) process.kill(process.pid, 'SIGKILL');
}

// ---------------------------------------------------------------- fsync helpers

/** fsync a directory so a rename or create inside it is on disk (no-op where unsupported). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Windows cannot open directories; some filesystems refuse fsync on them.
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF' && code !== 'ENOTSUP') throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeAll(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
}

/** Writes and fsyncs a new file (fails if it exists: temp names are unique per process). */
export function writeFileSynced(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, 'wx');
  try {
    writeAll(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const TMP_SUFFIX = '.tmp';

/** The temporary name writeFileAtomic uses for `path` in this process. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}${TMP_SUFFIX}`);
}

export interface AtomicWriteOptions {
  /** Prefix of this write's kill points (`TAG.tmp-written`, `TAG.renamed`). */
  killTag?: string;
}

/**
 * Replaces `path` with `data` atomically: readers and a run after a crash see either the old
 * content or the new, complete one.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, o: AtomicWriteOptions = {}): void {
  const tmp = tempPathFor(path);
  rmSync(tmp, { force: true }); // a leftover of this pid from an earlier crash
  try {
    writeFileSynced(tmp, data);
    if (o.killTag) killPoint(`${o.killTag}.tmp-written`);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  if (o.killTag) killPoint(`${o.killTag}.renamed`);
  fsyncDir(dirname(path));
}

/** Appends to a file and fsyncs after every append; one write call per append. */
export class DurableAppender {
  private fd: number | null;
  constructor(readonly path: string) {
    const existed = existsSync(path);
    this.fd = openSync(path, 'a');
    if (!existed) fsyncDir(dirname(path));
  }

  append(text: string): void {
    if (this.fd === null) throw new Error(`${this.path}: appender is closed`);
    writeAll(this.fd, text);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** One durable append (open, write, fsync, close). */
export function appendDurable(path: string, text: string): void {
  const a = new DurableAppender(path);
  try {
    a.append(text);
  } finally {
    a.close();
  }
}

/**
 * Removes temporaries left by killed writers of `path` (writeFileAtomic's `.NAME.PID.tmp`), except
 * those of a live process other than this one. Returns the names removed.
 */
export function cleanTempFiles(path: string): string[] {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith(TMP_SUFFIX)) continue;
    const pid = Number(n.slice(prefix.length, -TMP_SUFFIX.length));
    if (!Number.isInteger(pid)) continue;
    if (pid !== process.pid && pidAlive(pid)) continue;
    rmSync(join(dir, n), { force: true, recursive: true });
    removed.push(n);
  }
  return removed;
}

// ---------------------------------------------------------------- lock files

export interface LockOwner {
  pid: number;
  host: string;
  /** Process start time (Linux /proc ticks since boot) to tell a reused pid from the owner. */
  pidStart?: string;
  since: string;
  what?: string;
}

/** The lock is held by a live process (or one on another host, which cannot be checked). */
export class LockHeldError extends UserFacingError {
  override readonly name = 'LockHeldError';
  constructor(
    message: string,
    readonly owner: LockOwner | null,
  ) {
    super(message);
  }
}

export interface LockOptions {
  /** What is being locked, for messages (e.g. the checkpoint directory). Default: the lock's path. */
  what?: string;
  /** Told when a stale lock (its process is gone) is taken over. */
  onStale?: (owner: LockOwner, lockPath: string) => void;
}

export interface LockHandle {
  readonly path: string;
  release(): void;
}

function procStart(pid: number): string | undefined {
  try {
    // Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces, so split after ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True when a process with this pid exists (EPERM: exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerAlive(o: LockOwner): boolean {
  if (!pidAlive(o.pid)) return false;
  if (o.pidStart === undefined) return true;
  const now = procStart(o.pid);
  return now === undefined || now === o.pidStart; // a different start time: the pid was reused
}

function readOwner(path: string): LockOwner | null {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    return typeof o?.pid === 'number' && typeof o.host === 'string' ? o : null;
  } catch {
    return null;
  }
}

const heldLocks = new Set<string>();
let exitHookInstalled = false;

/**
 * Takes the lock file `lockPath` (created with its content in one step: written to a temp file,
 * then hard-linked into place, which fails if the lock exists). A lock whose owner is dead is
 * taken over (onStale is told); a live owner makes this throw LockHeldError naming its pid.
 */
export function acquireLock(lockPath: string, o: LockOptions = {}): LockHandle {
  const what = o.what ?? lockPath;
  mkdirSync(dirname(lockPath), { recursive: true });
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    pidStart: procStart(process.pid),
    since: new Date().toISOString(),
    what,
  };
  const body = JSON.stringify(me) + '\n';
  const tmp = `${lockPath}.${process.pid}${TMP_SUFFIX}`;
  for (let attempt = 0; attempt < 5; attempt++) {
    rmSync(tmp, { force: true });
    writeFileSynced(tmp, body);
    try {
      try {
        linkSync(tmp, lockPath);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw e;
        // No hard links on this filesystem: exclusive create (content follows a moment later).
        writeFileSynced(lockPath, body);
      }
      fsyncDir(dirname(lockPath));
      rmSync(tmp, { force: true });
      heldLocks.add(lockPath);
      installExitHook();
      return { path: lockPath, release: () => releaseLock(lockPath) };
    } catch (e) {
      rmSync(tmp, { force: true });
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = readOwner(lockPath);
    if (owner === null) {
      // Unreadable: a lock created by the fallback path whose content is not there yet, or garbage.
      // Give a writer a moment, then treat it as stale.
      if (attempt < 2) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        continue;
      }
    } else if (owner.host !== me.host) {
      throw new LockHeldError(
        `${what} is locked by process ${owner.pid} on host ${owner.host} (since ${owner.since}); ` +
          `if that run is gone, delete ${lockPath}`,
        owner,
      );
    } else if (ownerAlive(owner)) {
      const self = owner.pid === process.pid ? ' (this process)' : '';
      throw new LockHeldError(
        `${what} is in use by process ${owner.pid}${self} since ${owner.since} (lock ${lockPath}); wait for it to finish or stop it`,
        owner,
      );
    }
    // Stale: move it aside under a unique name, and check we moved the stale one, not a fresh lock
    // another process took over a moment ago.
    const aside = `${lockPath}.stale.${process.pid}${TMP_SUFFIX}`;
    try {
      renameSync(lockPath, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // someone else removed it
      throw e;
    }
    const moved = readOwner(aside);
    if (moved && owner && (moved.pid !== owner.pid || moved.since !== owner.since) && ownerAlive(moved)) {
      // We grabbed a live lock: put it back and report it.
      try {
        linkSync(aside, lockPath);
      } catch {
        /* a third process holds it now; either way it is not ours */
      }
      rmSync(aside, { force: true });
      throw new LockHeldError(`${what} is in use by process ${moved.pid} (lock ${lockPath})`, moved);
    }
    rmSync(aside, { force: true });
    o.onStale?.(owner ?? { pid: -1, host: '?', since: '?' }, lockPath);
  }
  throw new LockHeldError(`${what}: could not take the lock ${lockPath} (contended)`, readOwner(lockPath));
}

/** Removes the lock if this process still owns it. */
export function releaseLock(lockPath: string): void {
  if (!heldLocks.delete(lockPath)) return;
  const owner = readOwner(lockPath);
  if (owner && owner.pid === process.pid && owner.host === hostname()) {
    try {
      unlinkSync(lockPath);
    } catch {
      /* already gone */
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // process.exit() skips `finally` blocks of pending async work: still drop our locks then.
  process.on('exit', () => {
    for (const l of [...heldLocks]) releaseLock(l);
  });
}

/** Reads the owner recorded in a lock file (null when absent or unreadable). */
export function lockOwner(lockPath: string): LockOwner | null {
  return readOwner(lockPath);
}

/** True while this process holds the lock file `lockPath` (taken with acquireLock). */
export function holdsLock(lockPath: string): boolean {
  return heldLocks.has(lockPath);
}

/** Hex SHA-256 of bytes or a string (content identities in manifests and run settings). */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
