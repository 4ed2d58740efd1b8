/**
 * Where data lives. Files are looked up in an ordered list of roots, first hit wins:
 *   1. $WGNAS_DATA_DIR (when set);
 *   2. the per-user cache that `wgnas data fetch` fills ($WGNAS_CACHE_DIR/data, else
 *      $XDG_CACHE_HOME/wgnas/data, else ~/.cache/wgnas/data);
 *   3. ../shared/data beside the repository (the development setup; never for an installed package,
 *      where it would be node_modules/shared/data); $WGNAS_SHARED_DATA_DIR replaces it (a folder,
 *      or 'none' for no such root: how the tests check that a clone without ../shared works);
 *   4. the data/ folder shipped inside the package (the small tables the commands need).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { userCacheDir } from '../util/cache-dir.js';
import { UserFacingError } from '../util/errors.js';

/** The repo root: the nearest ancestor of this module holding package.json (works from src/ and dist/src/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`wgnas: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The per-user data cache (where `wgnas data fetch` writes); it need not exist yet. */
export function userDataDir(): string {
  return join(userCacheDir(), 'data');
}

/** The data folder shipped inside the package (package.json "files" carries it). */
export function packagedDataDir(): string {
  return join(repoRoot(), 'data');
}

/** True when the package sits inside a node_modules folder (installed as a dependency). */
export function isInstalledPackage(root = repoRoot()): boolean {
  return root.split(/[\\/]/).includes('node_modules');
}

/** The development data root (../shared/data beside a checkout, or $WGNAS_SHARED_DATA_DIR), or null. */
export function sharedDataDir(): string | null {
  const env = process.env.WGNAS_SHARED_DATA_DIR;
  if (env !== undefined && env !== '') return env === 'none' ? null : setFolder('WGNAS_SHARED_DATA_DIR', env, " (or 'none')");
  const root = repoRoot();
  return isInstalledPackage(root) ? null : resolve(root, '..', 'shared', 'data');
}

export interface DataRoot {
  dir: string;
  /** Where the root comes from, for messages ('$WGNAS_DATA_DIR', 'user cache', '../shared/data', 'package'). */
  origin: string;
}

/** Every data root in lookup order, whether or not it exists. */
export function dataRoots(): DataRoot[] {
  const roots: DataRoot[] = [];
  const env = process.env.WGNAS_DATA_DIR;
  if (env) roots.push({ dir: setFolder('WGNAS_DATA_DIR', env), origin: '$WGNAS_DATA_DIR' });
  roots.push({ dir: userDataDir(), origin: 'user cache' });
  const shared = sharedDataDir();
  if (shared) roots.push({ dir: shared, origin: '../shared/data' });
  roots.push({ dir: packagedDataDir(), origin: 'package' });
  return roots;
}

/**
 * A data root a variable names, resolved: one set but missing, or a file, is a typo to report, not a
 * root to skip silently (every lookup would then miss it, and name another root or none).
 */
function setFolder(name: string, value: string, or = ''): string {
  const dir = resolve(value);
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st) throw new DataNotFoundError(`data directory ${dir} (from $${name}) does not exist`);
  if (!st.isDirectory()) throw new DataNotFoundError(`$${name} must name a folder${or}; ${dir} is not one`);
  return dir;
}

export class DataNotFoundError extends UserFacingError {
  override readonly name = 'DataNotFoundError';
}

/** What to suggest when a file under `sub` is missing everywhere. */
function fetchHint(sub: string, file?: string): string {
  // The 5000/2000-image subset (proxyBatch, loadCifar10) is no download: data fetch gets the full set,
  // which openDataset / --dataset cifar10 read instead.
  if (sub === 'cifar10' && (file === 'train_5000.bin' || file === 'test_2000.bin'))
    return (
      "; the bundled CIFAR-10 subset comes with a development checkout's ../shared/data ($WGNAS_DATA_DIR may point at a copy); " +
      "elsewhere fetch the full set (wgnas data fetch cifar10) and read it with openDataset(parseDatasetSpec('cifar10'), split) and proxyMinibatch"
    );
  if (sub === 'cifar10' || sub === 'cifar100') return `; get it with: wgnas data fetch ${sub}`;
  return '; set $WGNAS_DATA_DIR to a folder that has it';
}

/**
 * The first existing data root (the one `dataFile` would search first). Throws, listing every place
 * looked at, when none exists.
 */
export function dataDir(): string {
  const roots = dataRoots();
  const hit = roots.find((r) => existsSync(r.dir));
  if (!hit) {
    throw new DataNotFoundError(
      `no data directory found (looked in ${roots.map((r) => `${r.dir} [${r.origin}]`).join(', ')}); ` +
        'set $WGNAS_DATA_DIR or run: wgnas data fetch cifar10',
    );
  }
  return hit.dir;
}

/** The data root `file` lies in (the first, in lookup order), or null. */
export function dataRootOf(file: string): DataRoot | null {
  const f = resolve(file);
  return dataRoots().find((r) => f.startsWith(r.dir.endsWith(sep) ? r.dir : r.dir + sep)) ?? null;
}

/** The first root that holds `parts` (a path under a data root), or null. */
export function findDataFile(...parts: string[]): string | null {
  for (const r of dataRoots()) {
    const p = join(r.dir, ...parts);
    if (existsSync(p)) return p;
  }
  return null;
}

/**
 * The data file a relative path that does not exist probably meant: a checkout's
 * 'data/latency/x.yaml' (docs and help name the shipped tables so), 'latency/x.yaml' or a bare
 * 'x.yaml' (under latency/ or nb201/), found in the data roots: inside an installed package, the
 * shipped one. Null when no root has it.
 */
export function dataFileNamed(value: string): string | null {
  if (isAbsolute(value)) return null;
  const parts = normalize(value)
    .split(/[\\/]/)
    .filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) return null;
  const rel = parts[0] === 'data' ? parts.slice(1) : parts;
  try {
    if (rel.length === 1) return findDataFile('latency', rel[0]) ?? findDataFile('nb201', rel[0]);
    return rel.length > 1 ? findDataFile(...rel) : null;
  } catch {
    return null; // a missing $WGNAS_DATA_DIR: the caller's own error says what is wrong
  }
}

/** A data file from the first root that holds it; throws naming every place looked at. */
export function dataFile(...parts: string[]): string {
  const p = findDataFile(...parts);
  if (p) return p;
  const rel = join(...parts);
  throw new DataNotFoundError(
    `data file ${rel} not found (looked in ${dataRoots()
      .map((r) => r.dir)
      .join(', ')})${fetchHint(parts[0], parts[1])}`,
  );
}
