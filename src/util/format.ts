/** Numbers and lists for people (stdout, error lines); files and JSON keep full precision. */

/** `x` to `digits` significant digits, without trailing zeros: 48.52210281180749 -> '48.5221'. */
export function fmtSig(x: number, digits = 6): string {
  if (!Number.isFinite(x)) return String(x);
  return String(Number(x.toPrecision(digits)));
}

/** A time in ms: 3 significant digits, and at least the tenths (253.7, 41.2, 3.46, 0.0123). */
export function fmtMs(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) >= 100 ? ms.toFixed(1) : fmtSig(ms, 3);
}

/** `n word` or `n words`: '1 epoch', '3 epochs', '0 workers'. */
export function plural(n: number, word: string): string {
  return `${n} ${n === 1 ? word : `${word}s`}`;
}

/**
 * `head`, then as many of `items` as keep the whole text within `maxChars` (at least one), then
 * ', and N more' for the rest, then `tail`: a one-line error that lists a few of many keys and
 * still says how many there are (a cut at the line's length would drop the count).
 */
export function listWithin(head: string, items: readonly string[], maxChars: number, tail = ''): string {
  const text = (n: number) =>
    `${head}${items.slice(0, n).join(', ')}${n < items.length ? `, and ${items.length - n} more` : ''}${tail}`;
  let n = Math.min(1, items.length);
  while (n < items.length && text(n + 1).length <= maxChars) n++;
  return text(n);
}

/** Bytes in MiB below 1 GiB ('991 MiB'), else GiB to a tenth ('1.4 GiB'). */
export function fmtBytes(bytes: number): string {
  return bytes < 2 ** 30 ? `${Math.round(bytes / 2 ** 20)} MiB` : `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}
