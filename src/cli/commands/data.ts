import { existsSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { archivePath, DATASETS, fetchDataset, listData } from '../../data/datasets.js';
import { UnreachableError, WrongFileError } from '../../data/download.js';
import { userDataDir } from '../../data/paths.js';
import { LOG_LINES, Progress } from '../../util/progress.js';
import { UsageError } from '../args.js';
import { setInterruptHint } from '../interrupt.js';
import { checkCacheDir } from '../paths.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import type { ValuesOf } from '../spec.js';
import { DATA, type DATA_OPTIONS } from '../specs/data.js';

export const summary = DATA.summary;

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function data(v: ValuesOf<typeof DATA_OPTIONS>, { io, positionals }: RunContext): Promise<void> {
  const [action, ...names] = positionals;
  if (action !== 'list' && action !== 'fetch')
    throw new UsageError(
      `give an action: 'wgnas data list' or 'wgnas data fetch NAME' (got ${action === undefined ? 'none' : `'${action}'`})`,
    );
  if (action === 'list') {
    if (names.length) throw new UsageError(`'data list' takes no names (got ${names.join(' ')})`);
    for (const k of ['dir', 'mirror', 'force', 'keep-archive'] as const)
      if (v[k]) throw new UsageError(`--${k} only applies to 'data fetch'`);
    const rows = listData();
    if (v.json) {
      io.out(JSON.stringify(rows, null, 2) + '\n');
      return;
    }
    for (const r of rows) {
      const where = r.dir
        ? `${r.dir} [${r.origin}], ${mib(r.bytes)}`
        : `not found${DATASETS[r.name] ? ` (wgnas data fetch ${r.name})` : ''}`;
      // A folder not made by 'data fetch' (the shared subset) is not the full release: say what it holds.
      const what =
        DATASETS[r.name] && r.dir && !r.complete
          ? `not the full release; holds ${r.files.join(', ') || 'nothing'}`
          : r.description;
      io.out(`${r.name.padEnd(9)} ${where}\n          ${what}\n`);
    }
    return;
  }
  if (!names.length) throw new UsageError(`'data fetch' needs the datasets to fetch: ${Object.keys(DATASETS).join(', ')}`);
  const bad = names.filter((n) => !DATASETS[n]);
  if (bad.length) throw new UsageError(`'data fetch' knows ${Object.keys(DATASETS).join(', ')}, not ${bad.join(', ')}`);
  if (v.json) throw new UsageError("--json only applies to 'data list'");
  if (!v.dir) checkCacheDir(userDataDir(), 'give --dir DIR, or set WGNAS_CACHE_DIR to a writable directory');
  try {
    for (const name of names) {
      const d = DATASETS[name];
      setInterruptHint(() => fetchHint(archivePath(d, v.dir), v.force));
      const bar = new Progress(d.bytes, `fetch ${name}`, process.stderr, { ...LOG_LINES, quiet: v.quiet, unit: 'bytes' });
      const r = await fetchDataset(d, {
        root: v.dir,
        mirror: v.mirror,
        force: v.force,
        keepArchive: v['keep-archive'],
        // A resumed download's bytes count as done, not in this run's rate.
        onStart: (from) => bar.rebase(from),
        onProgress: (done) => bar.update(done),
        // Prefixed as the command's other lines are (the retries of an unreachable host).
        onNote: (s) => bar.log(`wgnas data: ${s}`),
      }).catch((e: unknown) => {
        // The official host serves the release; a mirror's other file is the likely cause.
        if (e instanceof WrongFileError && v.mirror)
          throw new WrongFileError(`${e.message}; --mirror ${v.mirror} likely serves another file than the ${name} release`);
        if (e instanceof UnreachableError)
          throw new UnreachableError(`${e.message}; ${offlineHint(archivePath(d, v.dir), v.mirror)}`);
        throw e;
      });
      bar.done();
      io.out(
        r.downloaded ? `${name}: fetched into ${r.dir}\n` : `${name}: already present in ${r.dir} (--force to fetch again)\n`,
      );
    }
  } finally {
    setInterruptHint(null);
  }
}

/** The ways to a release without reaching its host (docs/data.md), for a fetch that reached nothing. */
export function offlineHint(archive: string, mirror: string | undefined): string {
  const other = mirror ? 'another --mirror URL' : '--mirror URL';
  return `without a network: put ${basename(archive)} in ${dirname(archive)}/ (its size and MD5 are checked), or give ${other} that serves it (docs/data.md)`;
}

/**
 * What Ctrl-C during a fetch says: the download resumes from ARCHIVE.partial (a Range request), an
 * archive downloaded whole is used once it verifies. --force would delete the partial file.
 */
export function fetchHint(archive: string, force: boolean): string {
  const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);
  const again = force
    ? 'repeat the command without --force to continue (--force starts the download over)'
    : 'repeat the command to continue';
  const partial = size(`${archive}.partial`);
  const kept = partial >= 2 ** 20 ? mib(partial) : `${partial} bytes`;
  if (partial > 0) return `the download resumes: ${again}; ${kept} kept in ${archive}.partial`;
  if (existsSync(archive)) return `${again}: the archive downloaded to ${archive} is used once it verifies`;
  return `${again} (nothing was downloaded yet)`;
}

export const handlers = { data };
export const run = (argv: string[]) => runCommand(DATA, argv, selfResolve('data', handlers));
