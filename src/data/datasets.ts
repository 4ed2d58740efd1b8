/**
 * Datasets `wgnas data fetch` can download: the official CIFAR binary releases, verified by MD5,
 * unpacked (only the expected members) into the user data cache, switched in by renames: the old
 * folder aside, the new one in place. A run killed between the two leaves no folder; the next run
 * finishes the switch, and removes what killed runs left (an unpacked folder, the old one).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { extract } from 'tar';
import { download, DownloadError, type DownloadOptions, md5File } from './download.js';
import { dataRoots, userDataDir } from './paths.js';
import { acquireLock, fsyncDir, killPoint, lockHeldByOther, writeFailure, writeFileSynced } from '../util/durable.js';

export interface RemoteDataset {
  name: string;
  description: string;
  url: string;
  bytes: number;
  md5: string;
  /** Archive member -> file name under <root>/<name>/. */
  members: Record<string, string>;
  licence: string;
}

const CIFAR10_MEMBERS: Record<string, string> = Object.fromEntries([
  ...[1, 2, 3, 4, 5].map((i) => [`cifar-10-batches-bin/data_batch_${i}.bin`, `data_batch_${i}.bin`]),
  ['cifar-10-batches-bin/test_batch.bin', 'test_batch.bin'],
  ['cifar-10-batches-bin/batches.meta.txt', 'batches.meta.txt'],
]);

export const DATASETS: Readonly<Record<string, RemoteDataset>> = {
  cifar10: {
    name: 'cifar10',
    description: 'CIFAR-10, official binary release: 50000 train + 10000 test 32x32 images, 10 classes',
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    bytes: 170052171,
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    members: CIFAR10_MEMBERS,
    licence: 'CIFAR-10 (Krizhevsky, 2009), https://www.cs.toronto.edu/~kriz/cifar.html',
  },
  cifar100: {
    name: 'cifar100',
    description: 'CIFAR-100, official binary release: 50000 train + 10000 test 32x32 images, 100 classes',
    url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
    bytes: 168513733,
    md5: '03b5dce01913d631647c71ecec9e9cb8',
    members: {
      'cifar-100-binary/train.bin': 'train.bin',
      'cifar-100-binary/test.bin': 'test.bin',
      'cifar-100-binary/fine_label_names.txt': 'fine_label_names.txt',
      'cifar-100-binary/coarse_label_names.txt': 'coarse_label_names.txt',
    },
    licence: 'CIFAR-100 (Krizhevsky, 2009), https://www.cs.toronto.edu/~kriz/cifar.html',
  },
};

/** Marker written inside a dataset folder once every member is in place. */
export const COMPLETE_MARKER = '.complete.json';

export function remoteDataset(name: string): RemoteDataset {
  const d = DATASETS[name];
  if (!d) throw new DownloadError(`unknown dataset '${name}' (known: ${Object.keys(DATASETS).join(', ')})`);
  return d;
}

/** Why a kept archive is not the release (size, then MD5), or null when it is. */
async function archiveProblem(archive: string, d: RemoteDataset): Promise<string | null> {
  const size = statSync(archive).size;
  if (size !== d.bytes) return `${size} bytes, the release has ${d.bytes}`;
  const sum = await md5File(archive);
  return sum === d.md5.toLowerCase() ? null : `MD5 ${sum} is not the release's ${d.md5}`;
}

export interface FetchOptions extends Pick<
  DownloadOptions,
  'onProgress' | 'onStart' | 'onNote' | 'retries' | 'retryDelayMs' | 'idleTimeoutMs' | 'signal'
> {
  /** Where to put it (default: the user data cache). */
  root?: string;
  /** Fetch from this base URL instead of the official host (a mirror; tests use 127.0.0.1). */
  mirror?: string;
  /** Keep the downloaded archive (default: removed once unpacked). */
  keepArchive?: boolean;
  /** Download again even when present. */
  force?: boolean;
}

export interface FetchResult {
  name: string;
  dir: string;
  /** False when it was already present and nothing was downloaded. */
  downloaded: boolean;
}

/** fsyncs a file written by another writer (the unpacked members), so a switch never shows it empty. */
function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** What killed fetches of `name` left in `root`: unpacked folders (.NAME.tmp-PID), moved-aside ones (NAME.old-PID). */
function leftovers(root: string, name: string): Array<{ path: string; unpacked: boolean }> {
  const tmpRe = new RegExp(`^\\.${name}\\.tmp-\\d+$`);
  const oldRe = new RegExp(`^${name}\\.old-\\d+$`);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names.filter((e) => tmpRe.test(e) || oldRe.test(e)).map((e) => ({ path: join(root, e), unpacked: tmpRe.test(e) }));
}

/**
 * Clears up after killed fetches (under the fetch's lock: no other fetch of NAME into `root` runs).
 * When NAME itself is missing (killed between the two renames), a complete unpacked folder is
 * switched in (that fetch had finished), else the moved-aside folder is put back; the rest is
 * removed. Returns true when a finished fetch was switched in.
 */
function recoverInterrupted(root: string, name: string, onNote?: (s: string) => void): boolean {
  const dir = join(root, name);
  const left = leftovers(root, name);
  let finished = false;
  if (!existsSync(dir)) {
    const back = left.find((l) => l.unpacked && existsSync(join(l.path, COMPLETE_MARKER))) ?? left.find((l) => !l.unpacked);
    if (back) {
      renameSync(back.path, dir);
      fsyncDir(root);
      finished = back.unpacked;
      onNote?.(
        `${dir}: ${finished ? 'finished the switch of an interrupted fetch' : 'put back the folder an interrupted fetch had moved aside'}`,
      );
    }
  }
  for (const l of left) rmSync(l.path, { recursive: true, force: true });
  return finished;
}

/** Where fetchDataset keeps the dataset's archive under `root` (the download goes to ARCHIVE.partial first). */
export function archivePath(dataset: string | RemoteDataset, root = userDataDir()): string {
  const d = typeof dataset === 'string' ? remoteDataset(dataset) : dataset;
  return join(root, 'downloads', basename(new URL(d.url).pathname));
}

/** Downloads, verifies and unpacks one dataset. Safe to interrupt and run again (resumes). */
export async function fetchDataset(dataset: string | RemoteDataset, o: FetchOptions = {}): Promise<FetchResult> {
  const d = typeof dataset === 'string' ? remoteDataset(dataset) : dataset;
  const name = d.name;
  const root = o.root ?? userDataDir();
  const dir = join(root, d.name);
  const present = () => !o.force && existsSync(join(dir, COMPLETE_MARKER));
  const lockPath = join(root, `.${d.name}.lock`);
  // Leftovers under a live lock are a running fetch's (a --force one): the complete folder still serves.
  if (present() && (leftovers(root, d.name).length === 0 || lockHeldByOther(lockPath))) return { name, dir, downloaded: false };
  // One fetch of a dataset at a time: two would append to the same partial download.
  const lock = acquireLock(lockPath, { what: `the ${d.name} fetch into ${root}` });
  try {
    // A killed fetch that had finished is completed as this run would (its archive kept or not).
    if (recoverInterrupted(root, d.name, o.onNote) && !o.keepArchive) rmSync(archivePath(d, root), { force: true });
    if (present()) return { name, dir, downloaded: false };
    await fetchLocked(d, root, o);
    return { name, dir, downloaded: true };
  } finally {
    lock.release();
  }
}

async function fetchLocked(d: RemoteDataset, root: string, o: FetchOptions): Promise<void> {
  const dir = join(root, d.name);
  const archive = archivePath(d, root);
  const downloads = dirname(archive);
  mkdirSync(downloads, { recursive: true });
  const file = basename(archive);
  const url = o.mirror ? new URL(file, o.mirror.endsWith('/') ? o.mirror : `${o.mirror}/`).href : d.url;
  // An archive kept from an earlier run (--keep-archive, or a run killed while unpacking) is used only
  // if it verifies as a fresh download does; --force always downloads again.
  if (existsSync(archive)) {
    const problem = o.force ? null : await archiveProblem(archive, d);
    if (o.force) o.onNote?.(`--force: downloading ${file} again (removing the one in ${downloads})`);
    else if (problem) o.onNote?.(`${archive}: ${problem}; removed, downloading again`);
    if (o.force || problem) rmSync(archive, { force: true });
  }
  if (o.force) rmSync(`${archive}.partial`, { force: true });
  if (!existsSync(archive))
    await download(url, archive, {
      bytes: d.bytes,
      md5: d.md5,
      onProgress: o.onProgress,
      onStart: o.onStart,
      onNote: o.onNote,
      retries: o.retries,
      retryDelayMs: o.retryDelayMs,
      idleTimeoutMs: o.idleTimeoutMs,
      signal: o.signal,
    });

  // Unpack into a fresh folder beside the target (every file on disk before the switch).
  const tmp = join(root, `.${d.name}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp, { recursive: true });
    const wanted = new Set(Object.keys(d.members));
    await extract({ file: archive, cwd: tmp, filter: (p) => wanted.has(p.replace(/^\.\//, '')), strict: true });
    for (const [member, target] of Object.entries(d.members)) {
      const src = join(tmp, member);
      if (!existsSync(src))
        throw new DownloadError(`${archive}: member ${member} is missing; the archive is not the ${d.name} release`);
      renameSync(src, join(tmp, target));
      fsyncFile(join(tmp, target));
    }
    for (const e of readdirSync(tmp))
      if (!Object.values(d.members).includes(e)) rmSync(join(tmp, e), { recursive: true, force: true });
    writeFileSynced(
      join(tmp, COMPLETE_MARKER),
      JSON.stringify({ name: d.name, url, md5: d.md5, fetchedAt: new Date().toISOString(), licence: d.licence }, null, 1) + '\n',
    );
    fsyncDir(tmp);
  } catch (e) {
    // A failed unpack (a full disk) leaves no half folder; the archive stays for the next run.
    rmSync(tmp, { recursive: true, force: true });
    throw writeFailure(e, dir, {
      what: `${d.name} into ${dir}`,
      outcome: `the archive ${archive} is kept; make room and run again`,
    });
  }
  killPoint('fetch.unpacked');
  const old = join(root, `${d.name}.old-${process.pid}`);
  if (existsSync(dir)) renameSync(dir, old);
  killPoint('fetch.moved-aside');
  renameSync(tmp, dir);
  fsyncDir(root);
  rmSync(old, { recursive: true, force: true });
  if (!o.keepArchive) rmSync(archive, { force: true });
}

export interface DataListing {
  name: string;
  description: string;
  /** The folder found (first data root that has it), or null. */
  dir: string | null;
  origin: string | null;
  /** True for a fetched dataset whose unpacking finished; null for folders not made by fetch. */
  complete: boolean | null;
  bytes: number;
  /** The files in the folder (names only). */
  files: string[];
}

function folderFiles(dir: string): { files: string[]; bytes: number } {
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  return { files, bytes: files.reduce((n, f) => n + statSync(join(dir, f)).size, 0) };
}

const NB201_REFERENCE = 'nb201_zc_proxies.csv';

/** What is present where: the fetchable datasets plus the folders of the shared data layout. */
export function listData(): DataListing[] {
  const names: Array<[string, string]> = [
    ...Object.values(DATASETS).map((d) => [d.name, d.description] as [string, string]),
    ['nb201', 'NAS-Bench-201 accuracies'],
    ['latency', 'published latency lookup tables and networks'],
  ];
  return names.map(([name, description]) => {
    for (const r of dataRoots()) {
      const dir = join(r.dir, name);
      if (!existsSync(dir)) continue;
      const complete = DATASETS[name] ? existsSync(join(dir, COMPLETE_MARKER)) || null : null;
      const found = folderFiles(dir);
      // The package's nb201 folder has the accuracies only; ../shared/data adds the reference scores.
      const more =
        name !== 'nb201'
          ? ''
          : found.files.includes(NB201_REFERENCE)
            ? ' and PyTorch reference proxy scores'
            : ` (no ${NB201_REFERENCE}: correlate --reference needs it)`;
      return { name, description: description + more, dir, origin: r.origin, complete, ...found };
    }
    return { name, description, dir: null, origin: null, complete: null, bytes: 0, files: [] };
  });
}
