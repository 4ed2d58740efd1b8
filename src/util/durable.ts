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
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { errnoCode, errnoReason, UserFacingError } from './errors.js';

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

// ---------------------------------------------------------------- failures and targets

/**
 * A write that failed (disk full, read-only, a device where a file was expected): the message names
 * the file, the reason and what is left of it, e.g. `cannot write 's.csv': no space left on device
 * (ENOSPC); its earlier contents are kept`.
 */
export class WriteError extends UserFacingError {
  override readonly name = 'WriteError';
  constructor(
    message: string,
    readonly path: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface FailureWords {
  /** How the file is named (default: the path, quoted). */
  what?: string;
  /** What is left, after '; ' (e.g. 'its earlier contents are kept'). */
  outcome?: string;
}

/**
 * The error to throw for a failed write of `path`: a system error (ENOSPC, EROFS, ...) becomes a
 * WriteError naming the file; anything else (a WriteError already, a bug) passes unchanged.
 */
export function writeFailure(e: unknown, path: string, w: FailureWords = {}): unknown {
  const code = errnoCode(e);
  if (code === undefined || e instanceof WriteError) return e;
  return new WriteError(
    `cannot write ${w.what ?? `'${path}'`}: ${errnoReason(e)}${w.outcome ? `; ${w.outcome}` : ''}`,
    path,
    code,
  );
}

/** Runs `fn` (a clean-up after a failure); an error of its own is dropped, so it cannot hide the first. */
function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    /* the first failure is the one to report */
  }
}

const MAX_LINKS = 40;

/** The calls followLinks makes (the command line's path checks pass their own, for tests). */
export interface LinkFs {
  lstat(p: string): Stats | undefined;
  readlink(p: string): string;
}

const realLinkFs: LinkFs = {
  lstat: (p) => lstatSync(p, { throwIfNoEntry: false }),
  readlink: (p) => readlinkSync(p),
};

/**
 * Where a write to `path` lands: `path` itself, or the end of its chain of symbolic links (which
 * need not exist yet). Writers replace that file and leave the links alone.
 */
export function followLinks(path: string, fs: LinkFs = realLinkFs): string {
  let p = path;
  for (let i = 0; i < MAX_LINKS; i++) {
    let st: Stats | undefined;
    try {
      st = fs.lstat(p);
    } catch {
      return p; // not reachable (ENOTDIR, EACCES): the write itself reports it
    }
    if (!st?.isSymbolicLink()) return p;
    p = resolve(dirname(resolve(p)), fs.readlink(p));
  }
  throw new WriteError(`cannot write '${path}': too many levels of symbolic links (ELOOP)`, path, 'ELOOP');
}

/** What a file-system entry is, in words ('a character device'), for messages. */
export function entryKind(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a fifo (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/**
 * The regular file a write to `path` replaces or creates (links followed, see followLinks). An
 * existing entry that is not a regular file (a device, a fifo, a socket, a directory) is refused
 * with a WriteError: replacing /dev/null with a file, or renaming over a fifo a reader waits on,
 * would be a disaster the command line also checks for before any work.
 */
export function writeTarget(path: string): string {
  const file = followLinks(path);
  let st: Stats | undefined;
  try {
    st = statSync(file, { throwIfNoEntry: false });
  } catch {
    return file; // not reachable (ENOTDIR, EACCES): the write itself reports it, naming the file
  }
  if (st && !st.isFile()) {
    const via = file === path ? '' : ` (a link to '${file}')`;
    throw new WriteError(`cannot write '${path}'${via}: it is ${entryKind(st)}, not a regular file`, path);
  }
  return file;
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

/**
 * Writes and fsyncs a new file (fails if it exists: temp names are unique per process). A failed
 * write (ENOSPC) removes the part-written file; the system error is thrown as it is, for the caller
 * to name the file it was writing (writeFailure).
 */
export function writeFileSynced(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, 'wx');
  let closed = false;
  try {
    writeAll(fd, data);
    fsyncSync(fd);
    closed = true;
    closeSync(fd);
  } catch (e) {
    if (!closed) quietly(() => closeSync(fd));
    quietly(() => rmSync(path, { force: true }));
    throw e;
  }
}

const TMP_SUFFIX = '.tmp';

/**
 * This host in temporaries' names: on a shared folder (NFS, several workers' hosts) a pid says
 * nothing about another host's process, so only this host's temporaries may be judged by theirs.
 */
export function tempHost(): string {
  return hostname()
    .replace(/[^\w.-]/g, '_')
    .slice(0, 64);
}

/** The temporary name writeFileAtomic uses for `path` in this process: `.NAME.PID@HOST.tmp`. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}@${tempHost()}${TMP_SUFFIX}`);
}

export interface AtomicWriteOptions {
  /** Prefix of this write's kill points (`TAG.tmp-written`, `TAG.renamed`). */
  killTag?: string;
}

/**
 * Replaces `path` with `data` atomically: readers and a run after a crash see either the old
 * content or the new, complete one. A symbolic link is followed (its target is replaced, in the
 * target's directory, and the link stays); an existing entry that is not a regular file is refused.
 * The first write into a directory in this process removes the temporaries killed writers left
 * there (sweepTempFiles); later writes do not list it again.
 * A failure (ENOSPC) removes the temporary and throws a WriteError naming `path`.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, o: AtomicWriteOptions = {}): void {
  const file = writeTarget(path);
  const tmp = tempPathFor(file);
  try {
    sweepTempFiles(dirname(file));
    writeFileSynced(tmp, data);
    if (o.killTag) killPoint(`${o.killTag}.tmp-written`);
    renameSync(tmp, file);
  } catch (e) {
    quietly(() => rmSync(tmp, { force: true }));
    throw writeFailure(e, path, { outcome: existsSync(file) ? 'its earlier contents are kept' : 'nothing was written' });
  }
  if (o.killTag) killPoint(`${o.killTag}.renamed`);
  try {
    fsyncDir(dirname(file));
  } catch (e) {
    throw writeFailure(e, path, { outcome: 'the new contents are in place but may not be on disk yet' });
  }
}

/**
 * Appends to a file and fsyncs after every append; one write call per append. A symbolic link is
 * followed; an existing entry that is not a regular file is refused (WriteError). A failed append
 * throws a WriteError naming the file (what was appended before stays; a partial last line is
 * what the readers of these files drop).
 */
export class DurableAppender {
  private fd: number | null;
  private readonly file: string;
  /** `outcome`: what a failed append leaves, for its message (default: the earlier contents are kept). */
  constructor(
    readonly path: string,
    private readonly outcome = 'the earlier contents are kept',
  ) {
    this.file = writeTarget(path);
    try {
      const existed = existsSync(this.file);
      this.fd = openSync(this.file, 'a');
      if (!existed) fsyncDir(dirname(this.file));
    } catch (e) {
      throw writeFailure(e, path, { outcome: 'nothing was written' });
    }
  }

  append(text: string): void {
    if (this.fd === null) throw new Error(`${this.path}: appender is closed`);
    try {
      writeAll(this.fd, text);
      fsyncSync(this.fd);
    } catch (e) {
      throw writeFailure(e, this.path, { outcome: this.outcome });
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** One durable append (open, write, fsync, close); `outcome` as for DurableAppender. */
export function appendDurable(path: string, text: string, outcome?: string): void {
  const a = new DurableAppender(path, outcome);
  try {
    a.append(text);
  } finally {
    a.close();
  }
}

/**
 * Whether the writer a temporary's `PID@HOST` (or old-format `PID`) names is gone: true for this
 * process or a dead pid on this host; false for a live one or another host's (its pid says nothing
 * here); undefined when `id` is neither form.
 */
export function tempOwnerGone(id: string, here = tempHost()): boolean | undefined {
  const m = /^(\d+)(?:@([^@/]+))?$/.exec(id);
  if (!m) return undefined;
  if (m[2] !== undefined && m[2] !== here) return false;
  const pid = Number(m[1]);
  return pid === process.pid || !pidAlive(pid);
}

/** A writeFileAtomic temporary `.NAME.ID.tmp` (ID: PID@HOST, or PID before names carried the host). */
const TEMP_NAME = /^\.(.+?)\.(\d+(?:@[^@/]+)?)\.tmp$/;

/** The file (NAME) and writer id of a writeFileAtomic temporary's name `.NAME.ID.tmp`; undefined for another name. */
export function atomicTempOf(fileName: string): { file: string; id: string } | undefined {
  const m = TEMP_NAME.exec(fileName);
  return m ? { file: m[1], id: m[2] } : undefined;
}

/**
 * Removes the temporaries in `dir` that killed writers on this host left (writeFileAtomic's, of
 * `name` only when given), except those of a live process other than this one; another host's are
 * left alone. Returns the names removed ([] when `dir` cannot be listed).
 */
function removeStaleTemps(dir: string, name?: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const here = tempHost();
  const removed: string[] = [];
  for (const n of names) {
    const t = atomicTempOf(n);
    if (!t || (name !== undefined && t.file !== name) || tempOwnerGone(t.id, here) !== true) continue;
    rmSync(join(dir, n), { force: true, recursive: true });
    removed.push(n);
  }
  return removed;
}

/**
 * Removes `path` (a link's target; the link stays, as the writers follow it) for good where it is
 * there: the directory is fsynced, so the removal precedes what is written next. Failures name `path`.
 */
export function removeDurable(path: string): void {
  const file = followLinks(path);
  if (!existsSync(file)) return;
  try {
    rmSync(file, { force: true });
    fsyncDir(dirname(file));
  } catch (e) {
    throw writeFailure(e, path);
  }
}

/**
 * Removes temporaries left by killed writers of `path` on this host (writeFileAtomic's
 * `.NAME.PID@HOST.tmp`, and `.NAME.PID.tmp` from before names carried the host), except those of a
 * live process other than this one; another host's are left alone. Returns the names removed.
 * Runs call it as they open their outputs; writeFileAtomic sweeps each directory once instead.
 */
export function cleanTempFiles(path: string): string[] {
  const file = followLinks(path);
  return removeStaleTemps(dirname(file), basename(file));
}

/** Directories (absolute) this process has swept: streaming runs write often, a listing each time would add up. */
const sweptDirs = new Set<string>();

/**
 * Once per process per directory: removes the temporaries of every file in `dir` that killed
 * writers left, as cleanTempFiles does for one file. Later calls for the same directory are free,
 * unless `again` (a run opening its output directory: one process may run several, as in tests or a
 * library, and another process killed since the first sweep may have left temporaries).
 */
export function sweepTempFiles(dir: string, again = false): void {
  const key = resolve(dir);
  if (sweptDirs.has(key) && !again) return;
  if (!existsSync(key)) return; // the write fails naming the file; a directory made later is swept then
  removeStaleTemps(key);
  sweptDirs.add(key);
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

/**
 * The temporaries acquireLock writes beside `lockPath`: `LOCK.PID@HOST.tmp` (the content, before it
 * is linked into place) and `LOCK.stale.PID@HOST.tmp` (a stale lock moved aside). The host, as in
 * writeFileAtomic's, keeps a cleaner on a shared folder off another host's.
 */
export function lockTempPaths(lockPath: string): { tmp: string; aside: string } {
  const id = `${process.pid}@${tempHost()}${TMP_SUFFIX}`;
  return { tmp: `${lockPath}.${id}`, aside: `${lockPath}.stale.${id}` };
}

/**
 * The writer id (`PID@HOST`, or `PID` from before names carried the host) of `fileName` when it is
 * one of the temporaries lockTempPaths names for the lock file named `lockName`; else undefined.
 */
export function lockTempId(lockName: string, fileName: string): string | undefined {
  const prefix = `${lockName}.`;
  if (!fileName.startsWith(prefix) || !fileName.endsWith(TMP_SUFFIX)) return undefined;
  const id = fileName.slice(prefix.length, -TMP_SUFFIX.length).replace(/^stale\./, '');
  return id === '' ? undefined : id;
}

/**
 * Removes the temporaries lockTempPaths names that a killed taker of `lockPath` left beside it (a
 * kill between writing the content and removing it), a dead process's on this host only; returns
 * the names removed. acquireLock calls it, so a resumed run leaves no `LOCK.PID@HOST.tmp` behind.
 */
export function removeStaleLockTemps(lockPath: string): string[] {
  const dir = dirname(lockPath);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const id = lockTempId(basename(lockPath), n);
    if (id === undefined || tempOwnerGone(id) !== true) continue;
    quietly(() => rmSync(join(dir, n), { force: true }));
    removed.push(n);
  }
  return removed;
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
  const failed = (e: unknown) => writeFailure(e, lockPath, { what: `'${lockPath}' (the lock of ${what})` });
  try {
    mkdirSync(dirname(lockPath), { recursive: true });
  } catch (e) {
    throw failed(e);
  }
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    pidStart: procStart(process.pid),
    since: new Date().toISOString(),
    what,
  };
  const body = JSON.stringify(me) + '\n';
  removeStaleLockTemps(lockPath);
  const { tmp, aside } = lockTempPaths(lockPath);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      rmSync(tmp, { force: true });
      writeFileSynced(tmp, body);
    } catch (e) {
      throw failed(e);
    }
    let linked = false;
    try {
      try {
        linkSync(tmp, lockPath);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw e;
        // No hard links on this filesystem: exclusive create (content follows a moment later).
        writeFileSynced(lockPath, body);
      }
      linked = true;
      fsyncDir(dirname(lockPath));
      rmSync(tmp, { force: true });
      heldLocks.add(lockPath);
      installExitHook();
      return { path: lockPath, release: () => releaseLock(lockPath) };
    } catch (e) {
      quietly(() => rmSync(tmp, { force: true }));
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        if (linked) quietly(() => unlinkSync(lockPath));
        throw failed(e);
      }
    }
    const owner = readOwner(lockPath);
    if (owner === null) {
      // Unreadable: a lock created by the fallback path whose content is not there yet, or garbage.
      // Give a writer a moment, then treat it as stale.
      if (attempt < 2) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        continue;
      }
    } else if (owner.host !== me.host || ownerAlive(owner)) {
      throw heldError(owner, what, lockPath);
    }
    // Stale: move it aside under a unique name, and check we moved the stale one, not a fresh lock
    // another process took over a moment ago.
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

/** The refusal of a lock `owner` holds (alive, or on another host, which cannot be checked). */
function heldError(owner: LockOwner, what: string, lockPath: string): LockHeldError {
  if (owner.host !== hostname())
    return new LockHeldError(
      `${what} is locked by process ${owner.pid} on host ${owner.host} (since ${owner.since}); ` +
        `if that run is gone, delete ${lockPath}`,
      owner,
    );
  const self = owner.pid === process.pid ? ' (this process)' : '';
  return new LockHeldError(
    `${what} is in use by process ${owner.pid}${self} since ${owner.since} (lock ${lockPath}); wait for it to finish or stop it`,
    owner,
  );
}

/**
 * Refuses, as acquireLock would, when another live process (or one on another host) holds
 * `lockPath`; takes nothing. A command calls it before the checks that read what a run left (an
 * interrupted output, a checkpoint), so a running run is named as running, not as an earlier one
 * to --resume or --force.
 */
export function checkNotInUse(lockPath: string, what: string): void {
  const o = readOwner(lockPath);
  if (o && lockHeldByOther(lockPath)) throw heldError(o, what, lockPath);
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

/** True when another live process holds the lock file `lockPath` (one on another host counts: it cannot be checked). */
export function lockHeldByOther(lockPath: string): boolean {
  const o = readOwner(lockPath);
  if (!o || (o.pid === process.pid && o.host === hostname())) return false;
  return o.host !== hostname() || ownerAlive(o);
}

/** True while this process holds the lock file `lockPath` (taken with acquireLock). */
export function holdsLock(lockPath: string): boolean {
  return heldLocks.has(lockPath);
}

/** Hex SHA-256 of bytes or a string (content identities in manifests and run settings). */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
