/** Errors of the command line and how they are shown: one line, values cut short, suggestions. */

import { UserFacingError } from '../util/errors.js';

/** The command line itself is wrong (a flag, a value, a path): exit code 2, before any work. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Longest value echoed back in a message: a 10 KB argument must not flood the terminal. */
export const MAX_ECHO = 80;

/** A user-given value as it appears in messages: quoted, control bytes escaped, cut to ~80 chars. */
export function quote(v: string): string {
  const cut = v.length > MAX_ECHO ? `${v.slice(0, MAX_ECHO)}... (${v.length} chars)` : v;
  // eslint-disable-next-line no-control-regex
  return `'${cut.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;
}

/** Longest error line printed: long library messages keep their head (which names the file or flag). */
export const MAX_ERROR_LINE = 400;

/** Longest command (`...`) a cut keeps whole: a path runs to 4096 characters. */
const MAX_COMMAND = 2000;

/**
 * Folds a message onto one line and cuts it to MAX_ERROR_LINE characters. A command quoted for
 * pasting (`wgnas train ...`) that the cut would split is kept whole: a cut command runs another one.
 */
export function oneLine(msg: string): string {
  // Control characters would garble a terminal line.
  // eslint-disable-next-line no-control-regex
  const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;
  const flat = msg
    .replace(/\s*\n\s*/g, ' ')
    .replace(CONTROL, '?')
    .trim();
  if (flat.length <= MAX_ERROR_LINE) return flat;
  let end = MAX_ERROR_LINE;
  for (const m of flat.matchAll(/`[^`]*`/g))
    if (m.index < end && m.index + m[0].length > end && m[0].length <= MAX_COMMAND) end = m.index + m[0].length;
  return end >= flat.length ? flat : `${flat.slice(0, end)}...`;
}

/** Edit distance with adjacent transpositions (optimal string alignment): 'jsno' is one step from 'json'. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest known name, if it is close enough to be a typo (or the only one it prefixes). */
export function closest(word: string, known: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(w, k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  if (best !== undefined && bestD <= Math.max(1, Math.floor(Math.max(w.length, best.length) / 3))) return best;
  const prefixed = w.length >= 3 ? known.filter((k) => k.toLowerCase().startsWith(w)) : [];
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** "; did you mean X?" or nothing. */
export function didYouMean(word: string, known: readonly string[], prefix = ''): string {
  const c = closest(word, known);
  return c === undefined ? '' : `; did you mean ${prefix}${c}?`;
}

/** "a", "a or b", "a, b or c". */
export function orList(xs: readonly string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`;
}

/** `msg` with every copy of a long `value` replaced by its cut form (library messages echo their input). */
export function cutValue(msg: string, value: string): string {
  if (value.length <= MAX_ECHO) return msg;
  const cut = quote(value).slice(1, -1);
  return msg.split(value).join(cut);
}

/** Runs `fn`; an error that does not already name `path` is re-thrown naming it (file-content problems). */
export function namingFile<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (err instanceof UsageError || err.message.includes(path)) throw err;
    if (err instanceof UserFacingError) {
      // Keeps its class (and so its exit code and plain line).
      err.message = `${path}: ${err.message}`;
      throw err;
    }
    throw new Error(`${path}: ${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}`);
  }
}
