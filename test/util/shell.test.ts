/**
 * Printed command lines paste into a POSIX shell as the words they were made of: an NB201 cell's
 * `|`, `~` and `+`, spaces, quotes, `$` and globs stay one word each and run nothing.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellCommand, shellQuote } from '../../src/util/shell.js';

const CELL = '|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|avg_pool_3x3~0|avg_pool_3x3~1|skip_connect~2|';

describe('shellCommand', () => {
  it('leaves plain words as they are and quotes the others', () => {
    expect(shellCommand(['wgnas', 'train', '--out', 'runs/a-1', '--dataset', 'folder:/x/y', '--lr', '0.1'])).toBe(
      'wgnas train --out runs/a-1 --dataset folder:/x/y --lr 0.1',
    );
    expect(shellQuote(CELL)).toBe(`'${CELL}'`);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe("''");
  });

  it('a shell reads the line back as the same words, running nothing', () => {
    const words = ['--nb201', CELL, '--out', 'my runs/$HOME', "o'brien", '*.csv', 'a;b', '`id`', ''];
    // printf prints each argument the shell parsed on a line of its own (NUL-separated: '' stays).
    const got = execFileSync('sh', ['-c', `printf '%s\\0' ${shellCommand(words)}`], { encoding: 'utf8' });
    expect(got.split('\0').slice(0, -1)).toEqual(words);
  });
});
