/**
 * Text files that may be stored gzipped (NAME.gz): large raw results under bench/results are, since
 * the tracked tree travels with every GPU-machine call (64 MiB in all). Readers take either form.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { UserFacingError } from './errors.js';

/** Whether a path names a gzipped file (by its `.gz` suffix). */
export const isGz = (path: string): boolean => /\.gz$/i.test(path);

/** The path without its `.gz` suffix: the name of what a gzipped file holds (scores.csv.gz: a CSV). */
export const withoutGz = (path: string): string => path.replace(/\.gz$/i, '');

/** gzip's magic number (RFC 1952): the first two bytes of every member. */
const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * A file named .gz that holds no gzip data (written uncompressed under that name): one line naming
 * it, where zlib says only Z_DATA_ERROR.
 */
export class NotGzipError extends UserFacingError {
  override readonly name = 'NotGzipError';
  constructor(readonly path: string) {
    super(`${path}: not gzip data (named .gz)`);
  }
}

/** A file's text, gunzipped when its name ends in `.gz` (NotGzipError when it holds none). */
export function readTextFile(path: string): string {
  const bytes = readFileSync(path);
  if (!isGz(path)) return bytes.toString('utf8');
  if (bytes.length < 2 || bytes[0] !== GZIP_MAGIC[0] || bytes[1] !== GZIP_MAGIC[1]) throw new NotGzipError(path);
  return gunzipSync(bytes).toString('utf8');
}

/** Level-9 gzip; zlib's header holds no name and time 0, so equal input gives equal bytes. */
export function gzipBytes(data: string | Uint8Array): Uint8Array {
  return gzipSync(data, { level: 9 });
}
