/**
 * Checks of the paths on a command line, before any work: an input must be a readable file, an
 * output must land in an existing, writable directory. Nothing is created here, and /proc and /sys
 * are refused without being touched (a checkpoint written there would hang or fail after the run).
 */
import { accessSync, constants, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { PathKind } from './spec.js';
import { quote, UsageError } from './errors.js';

/** The file-system calls the checks make (tests substitute failures a root user cannot provoke). */
export interface PathFs {
  stat(p: string): Stats | undefined;
  access(p: string, mode: number): void;
  realpath(p: string): string;
}

export const realFs: PathFs = {
  stat: (p) => statSync(p, { throwIfNoEntry: false }),
  access: (p, mode) => accessSync(p, mode),
  realpath: (p) => realpathSync(p),
};

const KERNEL_FS = /^\/(proc|sys)(\/|$)/;

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** Throws a one-line UsageError when `value` (given to --flag) cannot be used as `kind`. */
export function checkPath(flag: string, value: string, kind: PathKind, noun?: string, fs: PathFs = realFs): void {
  const what = `--${flag} ${quote(value)}`;
  if (value.trim() === '') throw new UsageError(`--${flag} is empty`);
  const abs = resolve(value);
  if (kind === 'in-file') return checkInput(what, abs, noun, fs);
  if (KERNEL_FS.test(abs) || KERNEL_FS.test(realAncestor(abs, fs))) {
    throw new UsageError(`${what}: cannot write under /proc or /sys`);
  }
  let st: Stats | undefined;
  try {
    st = fs.stat(abs);
  } catch (e) {
    throw new UsageError(
      `${what}: ${code(e) === 'ENOTDIR' ? 'a part of the path is a file, not a directory' : `cannot use it (${code(e)})`}`,
    );
  }
  if (st) {
    if (kind === 'out-file' && st.isDirectory()) throw new UsageError(`${what} is a directory; give a file name`);
    if (kind === 'out-dir' && !st.isDirectory()) throw new UsageError(`${what} is a file; give a directory`);
    try {
      fs.access(abs, constants.W_OK);
    } catch (e) {
      throw new UsageError(`${what} is not writable (${code(e)})`);
    }
    return;
  }
  const parent = dirname(abs);
  let pst: Stats | undefined;
  try {
    pst = fs.stat(parent);
  } catch (e) {
    throw new UsageError(
      `${what}: ${code(e) === 'ENOTDIR' ? 'a part of the path is a file, not a directory' : `cannot use ${parent} (${code(e)})`}`,
    );
  }
  if (!pst) throw new UsageError(`${what}: directory ${parent} does not exist`);
  if (!pst.isDirectory()) throw new UsageError(`${what}: ${parent} is not a directory`);
  try {
    fs.access(parent, constants.W_OK);
  } catch (e) {
    throw new UsageError(`${what}: cannot write in ${parent} (${code(e) === 'EROFS' ? 'read-only file system' : code(e)})`);
  }
}

function checkInput(what: string, abs: string, noun: string | undefined, fs: PathFs): void {
  const name = noun ?? 'file';
  let st: Stats | undefined;
  try {
    st = fs.stat(abs);
  } catch (e) {
    throw new UsageError(`cannot read ${name} ${abs} (${what.split(' ')[0]}): ${code(e)}`);
  }
  if (!st) throw new UsageError(`cannot read ${name} ${abs} (${what.split(' ')[0]}): no such file`);
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
