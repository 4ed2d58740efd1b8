/**
 * Where bench scripts put what they measure: bench/results/<experiment>/<date>[-<tag>]/, holding the
 * result (result.json or .csv, plus any companion files) beside `command` (the command line that
 * produced it) and `commit` (the checkout it ran on, `+ uncommitted changes` when the tree was dirty).
 * A folder that already holds a result is never reused: a second run on the same day gets `-2`, `-3`...
 * The folder is made before the work (so a bad path fails at once); `command` and `commit` are written
 * with the result, so a run that fails leaves an empty folder, which the next run reuses.
 * A result over RESULT_GZIP_BYTES is stored as NAME.gz (src/util/gz-file.ts reads either form): the
 * tracked tree travels with every GPU-machine call, 64 MiB in all (test/project/tree-size.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { repoRoot } from '../src/data/paths.js';
import { writeFileAtomic } from '../src/util/durable.js';
import { gzipBytes, isGz } from '../src/util/gz-file.js';

export const RESULTS_ROOT = join(repoRoot(), 'bench', 'results');
/** Results under the root larger than this are written gzipped (raw rows and histories gzip 4-20x). */
export const RESULT_GZIP_BYTES = 128 * 1024;

export interface ResultsDirOptions {
  /** Appended to the date: a version or a variant (`v10`, `threads1-cpu`). */
  tag?: string;
  /** Defaults to today (UTC), as `git log --date=short` writes it. */
  date?: string;
  /** Defaults to bench/results of this checkout. */
  root?: string;
}

/** Creates a fresh (missing or empty) <experiment>/<date>[-<tag>][-N]/ folder and returns its path. */
export function resultsDir(experiment: string, o: ResultsDirOptions = {}): string {
  const base = join(
    o.root ?? RESULTS_ROOT,
    experiment,
    [o.date ?? new Date().toISOString().slice(0, 10), o.tag].filter(Boolean).join('-'),
  );
  let dir = base;
  for (let n = 2; existsSync(dir) && readdirSync(dir).length > 0; n++) dir = `${base}-${n}`;
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Writes a result file atomically and returns the path written; under `root` (bench/results) it also
 * records `command` and `commit` beside it, and data over RESULT_GZIP_BYTES goes to `file`.gz (a path
 * elsewhere, e.g. /tmp, gets the file alone, as named). A name ending in .gz is always gzipped.
 */
export function writeResult(file: string, data: string | Uint8Array, root: string = RESULTS_ROOT): string {
  mkdirSync(dirname(file), { recursive: true });
  const under = resolve(file).startsWith(resolve(root) + sep);
  const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  const gz = isGz(file) || (under && bytes > RESULT_GZIP_BYTES);
  const path = gz && !isGz(file) ? `${file}.gz` : file;
  writeFileAtomic(path, gz ? gzipBytes(data) : data);
  // A result rewritten as it grows (imagenet-folder's) leaves one form, not both.
  if (under && !isGz(file)) rmSync(gz ? file : `${file}.gz`, { force: true });
  if (under) recordRun(dirname(resolve(file)));
  return path;
}

/**
 * Writes `command` and `commit` into `dir` (created if missing): for a result written to an explicit
 * path, so it too says what produced it.
 */
export function recordRun(dir: string, argv: readonly string[] = process.argv): void {
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, 'command'), commandLine(argv) + '\n');
  writeFileAtomic(join(dir, 'commit'), checkoutCommit() + '\n');
}

/** `npx tsx bench/x.ts args...` with shell quoting where an argument needs it. */
export function commandLine(argv: readonly string[] = process.argv): string {
  const script = relative(repoRoot(), argv[1] ?? '');
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['npx', 'tsx', script, ...argv.slice(2)].map(quote).join(' ');
}

/** HEAD of this checkout, with `+ uncommitted changes` when the tree differs from it; `unknown` outside git. */
export function checkoutCommit(): string {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repoRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const head = git('rev-parse', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') ? `${head} + uncommitted changes` : head;
  } catch {
    return 'unknown (not a git checkout)';
  }
}
