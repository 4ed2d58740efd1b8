/**
 * Checks of the paths on a command line, before any work: an input must be a readable file, an
 * output a regular file (or directory) or a new name in an existing, writable directory. Nothing is
 * created here, and /proc and /sys are refused without being touched (a checkpoint written there
 * would hang or fail after the run), as are devices, fifos and sockets.
 */
import { accessSync, constants, lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { PathKind } from './spec.js';
import { quote, UsageError } from './errors.js';
import { entryKind, followLinks, type LinkFs, tempPathFor, WriteError } from '../util/durable.js';
import { dataFileNamed } from '../data/paths.js';
import { isGz, withoutGz } from '../util/gz-file.js';

/** The file-system calls the checks make (tests substitute failures a root user cannot provoke). */
export interface PathFs extends LinkFs {
  stat(p: string): Stats | undefined;
  access(p: string, mode: number): void;
  realpath(p: string): string;
}

export const realFs: PathFs = {
  stat: (p) => statSync(p, { throwIfNoEntry: false }),
  lstat: (p) => lstatSync(p, { throwIfNoEntry: false }),
  readlink: (p) => readlinkSync(p),
  access: (p, mode) => accessSync(p, mode),
  realpath: (p) => realpathSync(p),
};

const KERNEL_FS = /^\/(proc|sys)(\/|$)/;

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/**
 * The end of `abs`'s chain of symbolic links (abs itself when it is not a link): the entry a write
 * through it lands in, which need not exist; found as the writers find it (followLinks).
 */
function linkTarget(what: string, abs: string, fs: PathFs): string {
  try {
    return followLinks(abs, fs);
  } catch (e) {
    if (e instanceof WriteError) throw new UsageError(`${what}: too many levels of symbolic links`);
    throw e;
  }
}

/** The longest file name the usual file systems take (NAME_MAX of ext4, xfs, btrfs, tmpfs). */
export const NAME_MAX_BYTES = 255;

/**
 * Refuses, before the work, an output whose temporary (writeFileAtomic's `.NAME.PID@HOST.tmp`
 * beside it) would have a longer name than the file system takes: the run would end in
 * ENAMETOOLONG after its work. `files`: the files written (the output itself, a row stream's
 * OUT.settings.json beside it, ...).
 */
export function checkNameFits(what: string, ...files: string[]): void {
  for (const file of files) {
    const tmp = basename(tempPathFor(file));
    const bytes = Buffer.byteLength(tmp);
    const name = basename(file);
    // The name's end says which file it is (OUT or OUT.settings.json); its start is the flag's value.
    const shown = name.length > 48 ? `...${name.slice(-40)}` : name;
    if (bytes > NAME_MAX_BYTES)
      throw new UsageError(
        `${what}: the name is too long to be written safely: the temporary of ${quote(shown)} would have ${bytes} bytes, the file system takes ${NAME_MAX_BYTES}; shorten it by ${bytes - NAME_MAX_BYTES}`,
      );
  }
}

/**
 * Throws a one-line UsageError when `value` (given to --flag) cannot be used as `kind`.
 * An output must be a regular file (out-file) or a directory (out-dir), or not exist yet in a
 * writable directory: a device, a fifo or a socket is refused (an atomic write would replace
 * /dev/null with a plain file). A symbolic link is followed: the write goes to its target, which
 * for out-file may not exist yet; an out-dir link must lead to an existing directory. An out-file
 * named *.gz is refused: no command gzips what it writes, and the readers (gz-file.ts) take a .gz
 * name for gzip data.
 */
export function checkPath(flag: string, value: string, kind: PathKind, noun?: string, fs: PathFs = realFs): void {
  const what = `--${flag} ${quote(value)}`;
  if (value.trim() === '') throw new UsageError(`--${flag} is empty`);
  const abs = resolve(value);
  if (kind === 'in-file') return checkInput(what, value, abs, noun, fs);
  if (kind === 'out-file' && isGz(value))
    throw new UsageError(
      `${what}: the file is written uncompressed, and a .gz name is read back as gzip; name it ${quote(withoutGz(value))} and gzip it afterwards`,
    );
  if (KERNEL_FS.test(abs) || KERNEL_FS.test(realAncestor(abs, fs))) {
    throw new UsageError(`${what}: cannot write under /proc or /sys`);
  }
  const target = linkTarget(what, abs, fs);
  const via = target === abs ? '' : ` (a link to ${quote(target)})`;
  if (kind === 'out-file') checkNameFits(`${what}${via}`, target);
  if (target !== abs && (KERNEL_FS.test(target) || KERNEL_FS.test(realAncestor(target, fs)))) {
    throw new UsageError(`${what}${via}: cannot write under /proc or /sys`);
  }
  let st: Stats | undefined;
  try {
    st = fs.stat(target);
  } catch (e) {
    throw new UsageError(
      `${what}${via}: ${code(e) === 'ENOTDIR' ? 'a part of the path is a file, not a directory' : `cannot use it (${code(e)})`}`,
    );
  }
  if (st) {
    if (kind === 'out-file') {
      if (st.isDirectory()) throw new UsageError(`${what}${via} is a directory; give a file name`);
      if (!st.isFile()) throw new UsageError(`${what}${via} is ${entryKind(st)}, not a file; name a regular file`);
    } else if (!st.isDirectory()) {
      throw new UsageError(`${what}${via} is ${st.isFile() ? 'a file' : entryKind(st)}; give a directory`);
    }
    try {
      fs.access(target, constants.W_OK);
    } catch (e) {
      throw new UsageError(`${what}${via} is not writable (${code(e)})`);
    }
    // A file is replaced by a temporary renamed over it: its directory must be writable too.
    if (kind === 'out-file') checkWritableDir(what, dirname(target), fs);
    return;
  }
  if (kind === 'out-dir' && target !== abs) {
    throw new UsageError(`${what} is a link to ${quote(target)}, which does not exist; create that directory or name another`);
  }
  const parent = dirname(target);
  let pst: Stats | undefined;
  try {
    pst = fs.stat(parent);
  } catch (e) {
    throw new UsageError(
      `${what}${via}: ${code(e) === 'ENOTDIR' ? 'a part of the path is a file, not a directory' : `cannot use ${parent} (${code(e)})`}`,
    );
  }
  if (!pst) throw new UsageError(`${what}${via}: directory ${parent} does not exist`);
  if (!pst.isDirectory()) throw new UsageError(`${what}${via}: ${parent} is not a directory`);
  checkWritableDir(`${what}${via}`, parent, fs);
}

/**
 * Where a write to `value` lands, as one string for every spelling of it: links followed (as the
 * writers follow them) and the existing part of its directory by its real path ('./a', 'd/../a' and
 * a link to a are one file).
 */
function landsAt(value: string, fs: PathFs): string {
  let target: string;
  try {
    target = followLinks(resolve(value), fs);
  } catch {
    return resolve(value);
  }
  return join(realAncestor(dirname(target), fs), basename(target));
}

/** Whether writes to `a` and `b` land in one file (links followed, './a', 'd/../a' and a link to a are one). */
export function landsOnSameFile(a: string, b: string, fs: PathFs = realFs): boolean {
  return landsAt(a, fs) === landsAt(b, fs);
}

/**
 * Refuses two outputs of one run that land in the same place (`--out x --plot x`, `--out x
 * --checkpoint x`), before any work: the later write would replace the earlier file, or fail at the
 * end of the run on the directory the other made. Two directory options may share a folder (their
 * files have other names). An output that lands on an input of the same run (`--space-file s.json
 * --out s.json`) is refused too: the run would replace what it read, and a failed or resumed run
 * could not read it again. `paths`: [flag, value, kind] of the paths given, inputs included.
 */
export function checkDistinctOutputs(paths: readonly (readonly [string, string, PathKind])[], fs: PathFs = realFs): void {
  const inputs = new Map<string, string>();
  for (const [flag, value, kind] of paths) {
    const at = kind === 'in-file' ? landsAt(value, fs) : undefined;
    if (at !== undefined && !inputs.has(at)) inputs.set(at, flag);
  }
  const seen = new Map<string, { flag: string; kind: PathKind }>();
  for (const [flag, value, kind] of paths) {
    if (kind === 'in-file') continue;
    const at = landsAt(value, fs);
    const input = inputs.get(at);
    if (input !== undefined)
      throw new UsageError(
        `--${flag} ${quote(value)} is the file --${input} reads: the run would write over its own input; give --${flag} another name`,
      );
    const other = seen.get(at);
    if (other && (other.kind === 'out-file' || kind === 'out-file')) {
      const noun = other.kind === kind ? 'file' : 'path';
      throw new UsageError(
        `--${other.flag} and --${flag} name the same ${noun} ${quote(value)}: the run writes both, one over the other; give each its own`,
      );
    }
    if (!other) seen.set(at, { flag, kind });
  }
}

function checkWritableDir(what: string, dir: string, fs: PathFs): void {
  try {
    fs.access(dir, constants.W_OK);
  } catch (e) {
    throw new UsageError(`${what}: cannot write in ${dir} (${code(e) === 'EROFS' ? 'read-only file system' : code(e)})`);
  }
}

function checkInput(what: string, value: string, abs: string, noun: string | undefined, fs: PathFs): void {
  const name = noun ?? 'file';
  let st: Stats | undefined;
  try {
    st = fs.stat(abs);
  } catch (e) {
    throw new UsageError(`cannot read ${name} ${abs} (${what.split(' ')[0]}): ${code(e)}`);
  }
  if (!st) {
    // 'data/latency/x.yaml' from a checkout's docs, run where wgnas is installed: name the shipped file.
    const meant = dataFileNamed(value);
    const hint = meant && meant !== abs ? `; did you mean ${meant}?` : '';
    throw new UsageError(`cannot read ${name} ${abs} (${what.split(' ')[0]}): no such file${hint}`);
  }
  if (st.isDirectory()) throw new UsageError(`${what} is a directory; give a ${name}`);
  // Devices such as /dev/zero never end; pipes (<(cmd), /dev/stdin) are fine.
  if (!st.isFile() && !st.isFIFO()) throw new UsageError(`${what} is not a regular file`);
  try {
    fs.access(abs, constants.R_OK);
  } catch (e) {
    throw new UsageError(`cannot read ${name} ${abs} (${what.split(' ')[0]}): ${code(e)}`);
  }
}

/** The real path of the nearest existing ancestor (a symlink into /proc is still /proc). */
function realAncestor(abs: string, fs: PathFs): string {
  let p = abs;
  for (;;) {
    try {
      return fs.realpath(p);
    } catch {
      const up = dirname(p);
      if (up === p) return p;
      p = up;
    }
  }
}

/**
 * Expands a * or ? in the file name (not the directories) of a repeatable input, so a quoted pattern
 * ('chunk-*.csv') works the same in every shell; the matches in name order. Other values pass through.
 */
export function expandPattern(flag: string, value: string): string[] {
  const name = basename(value);
  if (!/[*?]/.test(name)) return [value];
  if (/[*?]/.test(dirname(value)))
    throw new UsageError(`--${flag} ${quote(value)}: a pattern may use * and ? in the file name only`);
  const re = new RegExp(
    `^${name
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  let names: string[];
  try {
    names = readdirSync(dirname(value));
  } catch (e) {
    throw new UsageError(`--${flag} ${quote(value)}: cannot list ${dirname(value)} (${code(e)})`);
  }
  const hits = names.filter((n) => re.test(n)).sort();
  if (!hits.length) throw new UsageError(`--${flag} ${quote(value)}: no file matches`);
  return hits.map((n) => join(dirname(value), n));
}

/** Where the user cache folder comes from, for messages ('$WGNAS_CACHE_DIR', ...). */
function cacheDirOrigin(): string {
  if (process.env.WGNAS_CACHE_DIR) return '$WGNAS_CACHE_DIR';
  return process.env.XDG_CACHE_HOME ? '$XDG_CACHE_HOME/wgnas' : '~/.cache/wgnas';
}

/**
 * Checks, before any work, a folder a command creates as needed and writes into without a flag
 * naming it (the user cache of `data fetch` and `bench --autotune`): its nearest existing ancestor
 * must be a writable directory, and it must not lie under /proc or /sys (where Node's recursive
 * mkdir loops forever). `advice` says what to do instead, after '; '.
 */
export function checkCacheDir(dir: string, advice: string, fs: PathFs = realFs): void {
  const what = `the user cache ${quote(dir)} (${cacheDirOrigin()})`;
  const refuse = (why: string) => {
    throw new UsageError(`${what} ${why}; ${advice}`);
  };
  const abs = resolve(dir);
  if (KERNEL_FS.test(abs) || KERNEL_FS.test(realAncestor(abs, fs))) refuse('is under /proc or /sys');
  for (let p = abs; ; p = dirname(p)) {
    let st: Stats | undefined;
    try {
      st = fs.stat(p);
    } catch (e) {
      refuse(`cannot be used (${code(e) === 'ENOTDIR' ? 'a part of the path is a file, not a directory' : code(e)})`);
    }
    if (!st) {
      if (dirname(p) === p) refuse('cannot be created');
      continue;
    }
    if (!st.isDirectory())
      refuse(p === abs ? `is ${entryKind(st)}, not a directory` : `cannot be created: ${p} is not a directory`);
    try {
      fs.access(p, constants.W_OK);
    } catch (e) {
      refuse(`cannot be written (${p}: ${code(e) === 'EROFS' ? 'read-only file system' : code(e)})`);
    }
    return;
  }
}

/**
 * The files a run writes under a DIR option (`train --out`: weights.json, report.json, ...) and the
 * folders it makes there (`dirs`: its checkpoint folder), checked before the work: a file that
 * exists as something else than a regular file (a directory, a fifo) would fail its write at the
 * end, after the whole run; a folder that exists as a file fails the run's first checkpoint with a
 * bare EEXIST. Links are followed as the writers follow them.
 */
export function checkFilesIn(flag: string, dir: string, names: readonly string[], dirs: readonly string[] = []): void {
  for (const name of [...names, ...dirs]) {
    const target = linkTarget(`--${flag} ${quote(dir)}`, resolve(dir, name), realFs);
    let st: Stats | undefined;
    try {
      st = statSync(target, { throwIfNoEntry: false });
    } catch {
      continue; // not reachable: checkPath has judged DIR itself
    }
    const folder = dirs.includes(name);
    if (st && (folder ? !st.isDirectory() : !st.isFile()))
      throw new UsageError(
        `--${flag} ${quote(dir)}: ${name} there is ${entryKind(st)}, where the run ${folder ? 'keeps its checkpoints (a directory)' : 'writes a file'}; remove it or name another --${flag}`,
      );
  }
}
