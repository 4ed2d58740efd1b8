import { DATASETS } from '../../data/datasets.js';
import { defineCommand, defineMode, flag, outDir, text } from '../spec.js';
import { json, quiet } from './common.js';

/** An http(s) URL that the fetch can join file names to (checked when the command line is read). */
export function mirrorProblem(v: string): string | undefined {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return `must be an http(s) URL, got '${v.slice(0, 80)}' (not a valid URL)`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http(s) URL, got '${v.slice(0, 80)}'`;
  return undefined;
}

export const DATA_OPTIONS = {
  dir: outDir({
    help: 'fetch into this data root instead of the user cache ($WGNAS_CACHE_DIR/data, else $XDG_CACHE_HOME/wgnas/data, else ~/.cache/wgnas/data)',
  }),
  mirror: text({
    help: 'download from this base URL instead of the official host (a local mirror)',
    metavar: 'URL',
    check: mirrorProblem,
  }),
  force: flag({
    help: 'download and unpack again even when the dataset is present (an archive kept in DIR/downloads is downloaded again too)',
  }),
  'keep-archive': flag({ help: 'keep the downloaded archive after unpacking' }),
  json,
  quiet,
};

export const DATA = defineCommand({
  name: 'data',
  summary: 'list the data wgnas finds, or fetch the official CIFAR-10/100 releases',
  description:
    'wgnas data list shows each dataset and table, and where it was found: $WGNAS_DATA_DIR, the user cache, ../shared/data beside a development checkout, or the tables shipped in the package. ' +
    'wgnas data fetch NAME... downloads the official binary release (resumable: run it again after an interruption; an attempt that receives nothing for 30 s is retried, 5 times), checks its size and MD5, and unpacks only the expected files into the user cache (or --dir). An archive kept in DIR/downloads is used only if its size and MD5 match.',
  modes: [
    defineMode({
      id: 'data',
      module: 'data',
      label: 'wgnas data',
      usage: ['list [--json]', `fetch NAME... [--dir DIR] [--mirror URL] [--force] [--keep-archive]`],
      options: DATA_OPTIONS,
      positionals: {
        metavar: 'ACTION [NAME...]',
        help: `'list', or 'fetch' and the datasets to fetch (${Object.keys(DATASETS).join(', ')})`,
        noun: 'data action or dataset',
        choices: () => ['list', 'fetch', ...Object.keys(DATASETS)],
        missing: "give an action: 'wgnas data list' or 'wgnas data fetch NAME' (got none)",
      },
    }),
  ],
});
