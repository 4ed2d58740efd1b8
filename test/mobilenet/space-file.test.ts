/**
 * Space files with wrong shapes of JSON: every one ends in one SpaceFileError line naming the file
 * and the field at fault, never a TypeError.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CIFAR_LAYOUT, type MobileNetLayout, validateLayout } from '../../src/mobilenet/layout.js';
import { SpaceFileError, handDesignedSpace, loadSpace, readSpaceFile, writeSpaceFile } from '../../src/mobilenet/space-file.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-space-file-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes `edit(good space)` to a file, reads it back; returns the error (or null). */
function readBack(
  name: string,
  edit: (f: Record<string, unknown> & { layers: Array<Record<string, unknown>> }) => void,
): Error | null {
  const f = structuredClone(handDesignedSpace(CIFAR_LAYOUT)) as unknown as Record<string, unknown> & {
    layers: Array<Record<string, unknown>>;
  };
  edit(f);
  const path = join(tmp, `${name}.json`);
  writeFileSync(path, JSON.stringify(f));
  try {
    readSpaceFile(path);
    return null;
  } catch (e) {
    return e as Error;
  }
}

describe('space file loader', () => {
  const cases: Array<[string, (f: Record<string, unknown> & { layers: Array<Record<string, unknown>> }) => void, RegExp]> = [
    [
      'null-cell',
      (f) => ((f.layers[0].cells as unknown[])[1] = null),
      /layers\[0\]\.cells\[1\] must be an object with a 'cell' string, got null/,
    ],
    [
      'numeric-cell',
      (f) => ((f.layers[2].cells as unknown[])[0] = 7),
      /layers\[2\]\.cells\[0\] must be an object with a 'cell' string, got 7/,
    ],
    [
      'numeric-cell-text',
      (f) => ((f.layers[3].cells as Array<{ cell: unknown }>)[2].cell = 42),
      /layers\[3\]\.cells\[2\]\.cell must be a cell string .*got 42/,
    ],
    ['null-cells', (f) => (f.layers[4].cells = null), /layer 4 has no cells \(layers\[4\]\.cells is null\)/],
    [
      'null-layer',
      (f) => (f.layers[5] = null as unknown as Record<string, unknown>),
      /layers\[5\] must be an object with shape and cells, got null/,
    ],
    ['empty-layout', (f) => (f.layout = {}), /layout .*name must be a non-empty string/],
    ['numeric-layout', (f) => (f.layout = 3), /layout must be a layout name \(imagenet, cifar\) or an object, got 3/],
    ['null-layout', (f) => (f.layout = null), /layout must be a layout name .* got null/],
    [
      'layout-missing-widths',
      (f) => (f.layout = { ...CIFAR_LAYOUT, name: 'x', widths: undefined }),
      /layout x: widths must be a non-empty array of positive integers, got nothing/,
    ],
    [
      'layout-string-depths',
      (f) => (f.layout = { ...CIFAR_LAYOUT, name: 'x', depths: '2,2' }),
      /layout x: depths must be a non-empty array/,
    ],
    [
      'layout-bad-entry',
      (f) => (f.layout = { ...CIFAR_LAYOUT, name: 'x', strides: [2, 2, null, 1, 2, 1] }),
      /layout x: strides\[2\] must be a positive integer, got null/,
    ],
    [
      'layout-bad-kernel',
      (f) => (f.layout = { ...CIFAR_LAYOUT, name: 'x', kernels: [3, 9] }),
      /layout x: kernel 9 is not one of 3, 5, 7/,
    ],
    // A recorded bn is what the space's networks get built at: a bad one is refused, not used.
    ['bn-string', (f) => (f.bn = '1e-3'), /bn must be \{momentum, eps\} with momentum in \(0, 1\] and eps > 0, got "1e-3"/],
    ['bn-zero-eps', (f) => (f.bn = { momentum: 0.1, eps: 0 }), /bn must be .*got \{"momentum":0\.1,"eps":0\}/],
    ['bn-no-momentum', (f) => (f.bn = { eps: 1e-3 }), /bn must be .*got \{"eps":0\.001\}/],
    ['bn-momentum-2', (f) => (f.bn = { momentum: 2, eps: 1e-3 }), /bn must be .*momentum in \(0, 1\]/],
    [
      'layers-object',
      (f) => (f.layers = {} as unknown as Array<Record<string, unknown>>),
      /11 searchable layers, the file lists none/,
    ],
  ];
  for (const [name, edit, want] of cases) {
    it(`${name}: one line naming the file and the field`, () => {
      const e = readBack(name, edit);
      expect(e).toBeInstanceOf(SpaceFileError);
      expect(e!.message).toMatch(want);
      expect(e!.message).toContain(join(tmp, `${name}.json`));
      expect(e!.message).not.toContain('\n');
      expect(e!.message).not.toMatch(/Cannot read properties|is not a function|undefined \(reading/);
    });
  }

  it('a non-object file and a layout of the wrong type are refused the same way', () => {
    for (const json of [null, 3, 'x', []]) expect(() => loadSpace(json, 'f.json')).toThrow(SpaceFileError);
    expect(() => validateLayout({} as MobileNetLayout)).toThrow(/name must be a non-empty string/);
  });

  it('writes atomically and reads back what it wrote', () => {
    const path = join(tmp, 'out.json');
    const f = handDesignedSpace(CIFAR_LAYOUT);
    writeSpaceFile(path, f);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(f);
    expect(readSpaceFile(path).cells.length).toBe(11);
  });

  it('reads a recorded bn back, and a file without one as it was', () => {
    const path = join(tmp, 'bn.json');
    writeSpaceFile(path, { ...handDesignedSpace(CIFAR_LAYOUT), bn: { momentum: 0.05, eps: 1e-3 } });
    expect(readSpaceFile(path).file.bn).toEqual({ momentum: 0.05, eps: 1e-3 });
    expect(loadSpace(handDesignedSpace(CIFAR_LAYOUT)).file.bn).toBeUndefined();
  });
});
