/**
 * The small JSON files of the user cache folder (tuned tiles, measured peaks): `{ version: 1, [table]: {...} }`.
 * A missing file reads as empty; an unreadable one too, with a warning that says what happens instead
 * (a cache is rebuilt, never trusted half-read). Writes are atomic, so a concurrent reader never sees
 * half a file.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from './durable.js';

/**
 * Reads `path` as a version-1 cache whose entries are under `table`; a missing file gives an empty
 * one, an unreadable one an empty one and the warning `wgnas: ignoring unreadable WHAT PATH (why); INSTEAD`.
 */
export function readJsonCache<T extends { version: 1 }>(path: string, table: string, what: string, instead: string): T {
  const empty = () => ({ version: 1, [table]: {} }) as unknown as T;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return empty();
  }
  try {
    const parsed = JSON.parse(text) as Record<string, unknown> | null;
    if (parsed?.version !== 1 || typeof parsed[table] !== 'object' || parsed[table] === null)
      throw new Error('unexpected layout');
    return parsed as unknown as T;
  } catch (e) {
    process.emitWarning(`wgnas: ignoring unreadable ${what} ${path} (${(e as Error).message}); ${instead}`);
    return empty();
  }
}

/** Writes a cache file atomically, making its folder first. */
export function writeJsonCache(path: string, cache: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, JSON.stringify(cache, null, 2) + '\n');
}
