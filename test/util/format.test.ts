/** Numbers and counts for people: times in ms to 3 significant digits (at least the tenths), singular and plural, lists cut to a line. */
import { describe, expect, it } from 'vitest';
import { fmtMs, listWithin, plural } from '../../src/util/format.js';

describe('format', () => {
  it('fmtMs: 3 significant digits, at least the tenths, no trailing zeros', () => {
    expect(fmtMs(253.71234)).toBe('253.7');
    expect(fmtMs(1234.56)).toBe('1234.6');
    expect(fmtMs(41.23456)).toBe('41.2');
    expect(fmtMs(3.45678)).toBe('3.46');
    expect(fmtMs(0.0123456)).toBe('0.0123');
    expect(fmtMs(10)).toBe('10');
    expect(fmtMs(NaN)).toBe('NaN');
  });

  it('plural: one epoch, 0 and 2 epochs', () => {
    expect(plural(1, 'epoch')).toBe('1 epoch');
    expect(plural(0, 'worker')).toBe('0 workers');
    expect(plural(2, 'worker')).toBe('2 workers');
  });

  it('listWithin: the items that fit the length (at least one), then how many more, then the tail', () => {
    const keys = ['aaaa', 'bbbb', 'cccc', 'dddd'];
    expect(listWithin('no entry: ', keys, 100, '.')).toBe('no entry: aaaa, bbbb, cccc, dddd.');
    // 'no entry: aaaa, bbbb, and 2 more.' is 33 characters.
    expect(listWithin('no entry: ', keys, 33, '.')).toBe('no entry: aaaa, bbbb, and 2 more.');
    expect(listWithin('no entry: ', keys, 32, '.')).toBe('no entry: aaaa, and 3 more.');
    expect(listWithin('no entry: ', keys, 5, '.')).toBe('no entry: aaaa, and 3 more.');
    expect(listWithin('no entry: ', ['aaaa'], 5)).toBe('no entry: aaaa');
    expect(listWithin('none: ', [], 5)).toBe('none: ');
  });
});
