/**
 * `--dataset cifar10|cifar100|folder:PATH`: which images a command reads, and where they come from.
 * cifar10 is the full official release when fetched, else the 5000-image subset of a data root (with a note naming it).
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { openCifar10Subset, openOfficialCifar } from './cifar-dataset.js';
import { CIFAR_FORMATS } from './cifar-official.js';
import type { ImageDataset } from './image-dataset.js';
import { type ImageFolderOptions, openImageFolder, scanImageFolder, splitFolder } from './image-folder.js';
import { DataNotFoundError, dataRootOf, dataRoots } from './paths.js';

export type DatasetSpec = { kind: 'cifar10' } | { kind: 'cifar100' } | { kind: 'folder'; path: string };

export const DATASET_NAMES = ['cifar10', 'cifar100', 'folder:PATH'] as const;

/**
 * The path of folder:PATH, a leading ~/ (or a lone ~) read as the home folder: a shell expands it
 * only at the start of a word, not after 'folder:'.
 */
function folderPath(v: string): string {
  const p = v.slice('folder:'.length);
  return p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : p;
}

/** What is wrong with a --dataset value, or undefined (the folder itself is checked when opened). */
export function datasetSpecProblem(v: string): string | undefined {
  if (v === 'cifar10' || v === 'cifar100') return undefined;
  if (v.startsWith('folder:')) {
    const p = folderPath(v);
    if (p === '') return 'folder: needs a path, as in folder:/data/pets';
    if (!existsSync(p)) return `folder ${resolve(p)} does not exist`;
    if (!statSync(p).isDirectory()) return `${resolve(p)} is a file, not a folder of class sub-folders`;
    return undefined;
  }
  return `must be cifar10, cifar100 or folder:PATH, got '${v.slice(0, 80)}'`;
}

export function parseDatasetSpec(v: string): DatasetSpec {
  const problem = datasetSpecProblem(v);
  if (problem) throw new RangeError(`dataset ${problem}`);
  return v.startsWith('folder:') ? { kind: 'folder', path: folderPath(v) } : { kind: v as 'cifar10' | 'cifar100' };
}

export interface OpenedDataset {
  ds: ImageDataset;
  /** One line to tell the user (the fallback to the CIFAR-10 subset), or undefined. */
  note?: string;
  /**
   * The CIFAR-10 subset read instead of the full release, named by where it came from: 'bundled
   * subset' (a development checkout's ../shared/data, or the package), else 'subset from ORIGIN'
   * ($WGNAS_DATA_DIR, the user cache: a copy the user put there).
   */
  subset?: string;
}

/** What openDataset calls the CIFAR-10 subset found at `file` (OpenedDataset.subset). */
export function subsetLabel(file: string): string {
  const origin = dataRootOf(file)?.origin;
  return origin === undefined || origin === '../shared/data' || origin === 'package' ? 'bundled subset' : `subset from ${origin}`;
}

function notFound(name: 'cifar10' | 'cifar100'): DataNotFoundError {
  return new DataNotFoundError(
    `dataset ${name} not found (looked for ${name}/${CIFAR_FORMATS[name].files.train[0]} in ${dataRoots()
      .map((r) => r.dir)
      .join(', ')}); get it with: wgnas data fetch ${name}`,
  );
}

/** Opens one split; throws naming the file or folder (or the fetch command) when it cannot. */
export async function openDataset(
  spec: DatasetSpec,
  split: 'train' | 'test',
  o: ImageFolderOptions = {},
): Promise<OpenedDataset> {
  // Library callers pass these unchecked by a parser: a wrong one is named, not a TypeError deep inside.
  if (split !== 'train' && split !== 'test')
    throw new RangeError(`openDataset: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  const kind = (spec as { kind?: unknown } | undefined)?.kind;
  if (kind !== 'cifar10' && kind !== 'cifar100' && !(kind === 'folder' && typeof (spec as { path?: unknown }).path === 'string'))
    throw new RangeError(
      `openDataset: spec must be {kind: 'cifar10'}, {kind: 'cifar100'} or {kind: 'folder', path} (parseDatasetSpec makes one), got ${JSON.stringify(spec)}`,
    );
  if (spec.kind === 'folder') return { ds: await openImageFolder(spec.path, split, o) };
  const full = openOfficialCifar(spec.kind, split);
  if (full) return { ds: full };
  if (spec.kind === 'cifar10') {
    const subset = openCifar10Subset(split);
    if (subset) {
      const file = subset.source(0).replace(/ record \d+$/, '');
      const label = subsetLabel(file);
      const which =
        label === 'bundled subset' ? `bundled ${subset.count}-image ${split} subset` : `${subset.count}-image ${split} ${label}`;
      return {
        ds: subset,
        note: `note: full CIFAR-10 not found (wgnas data fetch cifar10 gets it); using the ${which} (${file})`,
        subset: label,
      };
    }
  }
  throw notFound(spec.kind);
}

/** Classes of a dataset without decoding it (a folder's class folders are listed and checked). */
export function datasetClassCount(spec: DatasetSpec): number {
  if (spec.kind !== 'folder') return CIFAR_FORMATS[spec.kind].classes;
  return scanImageFolder(splitFolder(spec.path, 'train')!).classNames.length;
}
