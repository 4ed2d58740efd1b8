/**
 * scripts/cpuprof-src.ts (docs/bench.md, "Profiling the host side"): a CPU profile's frames in a
 * file compiled with a source map are moved to the source's line and column; frames without a map
 * (Node's own) stay; a compiled file whose map does not cover a frame is counted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { type CpuProfile, mapProfile } from '../../scripts/cpuprof-src.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-cpuprof-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SOURCE = [
  "import type { Nothing } from './nothing.js';",
  '',
  'interface Shape {',
  '  n: number;',
  '}',
  '',
  'export function outer(s: Shape): number {',
  '  return inner(s.n) + 1;',
  '}',
  '',
  'function inner(n: number): number {',
  '  return n * 2;',
  '}',
  '',
].join('\n');

/** The 0-based line and column of `text` in `code`. */
function at(code: string, text: string): { lineNumber: number; columnNumber: number } {
  const i = code.indexOf(text);
  const before = code.slice(0, i).split('\n');
  return { lineNumber: before.length - 1, columnNumber: before.at(-1)!.length };
}

describe('scripts/cpuprof-src.ts', () => {
  it("maps frames of a compiled file to the source's positions; leaves the others", () => {
    const src = join(tmp, 'src', 'mod.ts');
    const js = join(tmp, 'dist', 'mod.js');
    const out = ts.transpileModule(SOURCE, {
      fileName: src,
      compilerOptions: { sourceMap: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    });
    // As tsc writes it from src/ to dist/: the source named relative to the map beside the file.
    const map = { ...JSON.parse(out.sourceMapText!), sources: ['../src/mod.ts'] };
    // The compiled file lost the type-only lines: its lines are not the source's.
    expect(at(out.outputText, 'function inner').lineNumber).not.toBe(at(SOURCE, 'function inner').lineNumber);
    const url = pathToFileURL(js).href;
    const frame = (functionName: string, where: { lineNumber: number; columnNumber: number }, u = url) => ({
      callFrame: { functionName, url: u, ...where },
      positionTicks: [{ line: where.lineNumber + 1, ticks: 3 }],
    });
    const profile: CpuProfile = {
      nodes: [
        frame('inner', at(out.outputText, 'function inner')),
        frame('outer', at(out.outputText, 'function outer')),
        frame('readFileSync', { lineNumber: 440, columnNumber: 2 }, 'node:fs'),
        frame('(root)', { lineNumber: -1, columnNumber: -1 }, ''),
      ],
    };
    const r = mapProfile(profile, (file) => (file === js ? JSON.stringify(map) : null));
    expect(r).toEqual({ mapped: 2, unmapped: 0 });
    const [inner, outer, native, root] = profile.nodes;
    expect(inner.callFrame).toEqual({ functionName: 'inner', url: pathToFileURL(src).href, ...at(SOURCE, 'function inner') });
    // The nearest mapped position at or before the frame's: the declaration's line.
    expect(outer.callFrame.url).toBe(pathToFileURL(src).href);
    expect(outer.callFrame.lineNumber).toBe(at(SOURCE, 'function outer').lineNumber);
    expect(inner.positionTicks).toBeUndefined();
    expect(native.callFrame.url).toBe('node:fs');
    expect(native.positionTicks).toBeDefined();
    expect(root.callFrame.lineNumber).toBe(-1);
  });

  it('a frame past what the map covers is counted, not moved', () => {
    const js = join(tmp, 'empty.js');
    writeFileSync(js, '');
    const map = JSON.stringify({ version: 3, file: 'empty.js', sources: ['empty.ts'], names: [], mappings: '' });
    const profile: CpuProfile = {
      nodes: [{ callFrame: { functionName: 'f', url: pathToFileURL(js).href, lineNumber: 3, columnNumber: 0 } }],
    };
    expect(mapProfile(profile, () => map)).toEqual({ mapped: 0, unmapped: 1 });
    expect(profile.nodes[0].callFrame.lineNumber).toBe(3);
  });
});
