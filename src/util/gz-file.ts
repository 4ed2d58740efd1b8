/**
 * Text files that may be stored gzipped (NAME.gz): large raw results under bench/results are, since
 * the tracked tree travels with every GPU-machine call (64 MiB in all). Readers take either form.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';

/** Whether a path names a gzipped file (by its `.gz` suffix). */
export const isGz = (path: string): boolean => /\.gz$/i.test(path);

/** A file's text, gunzipped when its name ends in `.gz`. */
export function readTextFile(path: string): string {
  const bytes = readFileSync(path);
  return (isGz(path) ? gunzipSync(bytes) : bytes).toString('utf8');
}

/** Level-9 gzip; zlib's header holds no name and time 0, so equal input gives equal bytes. */
export function gzipBytes(data: string | Uint8Array): Uint8Array {
  return gzipSync(data, { level: 9 });
}
