/**
 * Words and command lines for a POSIX shell: what the CLI prints for the user to paste (a hand-over,
 * a resume hint) and what runs on a profiling target over ssh. A word of safe characters stays as
 * it is; any other is single-quoted, so an NB201 cell (`|nor_conv_3x3~0|+|...`), a path with spaces
 * or a `$` pastes as one word and runs nothing.
 */

/** Quotes a word for a POSIX shell (as it is when it needs no quoting). */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./=:,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A command line of words, each quoted as needed: `wgnas train --nb201 '|...|' --out 'my dir'`. */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
