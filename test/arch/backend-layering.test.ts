/**
 * The backend seam in the import graph (docs/architecture-backend.md): nn/ and everything above it
 * reach tensors and ops only through src/backend - no import of src/gpu or src/native, and from
 * src/kernels only shape rules and host-side helpers, never an op's WGSL wrapper. Below the seam,
 * gpu/ and native/ import nothing above them and kernels/ does not import backend/. Reads the
 * sources (type-only imports and re-exports count too).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OP_NAMES, OPS } from '../../src/kernels/ops.js';
import { SRC } from '../helpers/paths.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

interface Edge {
  from: string;
  to: string;
  /** The names imported (empty for `export *` and side-effect imports). */
  names: string[];
}

function edges(): Edge[] {
  const out: Edge[] = [];
  const spec = /(?:^|\n)\s*(?:import|export)\s([^;]*?)from\s+['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const f of files(SRC)) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(spec)) {
      const braces = /\{([^}]*)\}/.exec(m[1]);
      const names = braces
        ? braces[1]
            .split(',')
            .map(
              (n) =>
                n
                  .trim()
                  .replace(/^type\s+/, '')
                  .split(/\s+as\s+/)[0],
            )
            .filter(Boolean)
        : [];
      out.push({ from: relative(SRC, f), to: relative(SRC, resolve(dirname(f), m[2])).replace(/\.js$/, '.ts'), names });
    }
  }
  return out;
}

const under = (p: string, ...dirs: string[]) => dirs.some((d) => p === `${d}.ts` || p.startsWith(`${d}/`));
/** nn/ and every layer above it. */
const ABOVE = ['nn', 'proxies', 'spaces', 'search', 'zeroshot', 'proxyless', 'autospace', 'mobilenet', 'export'];

describe('backend layering', () => {
  const all = edges();

  it('finds the modules it checks', () => {
    expect(all.some((e) => e.from === 'nn/tape.ts' && e.to === 'backend/index.ts')).toBe(true);
    expect(all.some((e) => e.from === 'backend/cpu.ts' && e.to === 'native/device.ts')).toBe(true);
    expect(all.some((e) => e.from === 'backend/webgpu.ts' && e.to === 'gpu/tensor.ts')).toBe(true);
  });

  it('nn/ and above import neither src/gpu nor src/native', () => {
    const bad = all.filter((e) => under(e.from, ...ABOVE) && under(e.to, 'gpu', 'native')).map((e) => `${e.from} -> ${e.to}`);
    expect(bad).toEqual([]);
  });

  it('nn/ and above call no WGSL wrapper of src/kernels directly (ops go through Backend.ops)', () => {
    const wrappers = new Set(OP_NAMES.map((n) => (OPS[n].webgpu as { name: string }).name));
    const bad = all
      .filter((e) => under(e.from, ...ABOVE) && under(e.to, 'kernels'))
      .flatMap((e) =>
        e.names.length
          ? e.names.filter((n) => wrappers.has(n)).map((n) => `${e.from}: ${n} from ${e.to}`)
          : [`${e.from}: export/import * from ${e.to}`],
      );
    expect(bad).toEqual([]);
  });

  it('below the seam nothing imports upward: gpu/ and native/ import no kernels/ or backend/, kernels/ no backend/', () => {
    const bad = all
      .filter(
        (e) =>
          (under(e.from, 'gpu', 'native') && under(e.to, 'kernels', 'backend', ...ABOVE)) ||
          (under(e.from, 'kernels') && under(e.to, 'backend', ...ABOVE)),
      )
      .map((e) => `${e.from} -> ${e.to}`);
    expect(bad).toEqual([]);
  });

  it('backend/ imports nothing above it', () => {
    const bad = all
      .filter((e) => under(e.from, 'backend') && under(e.to, ...ABOVE, 'cli', 'bench'))
      .map((e) => `${e.from} -> ${e.to}`);
    expect(bad).toEqual([]);
  });
});
