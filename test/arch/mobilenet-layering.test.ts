/**
 * The import graph around the MobileNet spaces: ProxylessNAS and AutoSpace both build on
 * src/mobilenet and never import each other; src/mobilenet and the layers below it never import a
 * search method or the CLI; no import cycle among these modules. Reads the sources (type-only
 * imports and re-exports count too).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SRC } from '../helpers/paths.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** src-relative path of each file -> the src-relative paths it imports (relative specifiers only). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const spec = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const f of files(SRC)) {
    const text = readFileSync(f, 'utf8');
    const deps = [...text.matchAll(spec)].map((m) => relative(SRC, resolve(dirname(f), m[1])).replace(/\.js$/, '.ts'));
    graph.set(relative(SRC, f), deps);
  }
  return graph;
}

const under = (p: string, ...dirs: string[]) => dirs.some((d) => p === `${d}.ts` || p.startsWith(`${d}/`));

describe('import graph', () => {
  const graph = importGraph();
  const edges = [...graph].flatMap(([from, tos]) => tos.map((to) => ({ from, to })));

  it('finds the modules it checks', () => {
    expect(graph.has('mobilenet/skeleton.ts')).toBe(true);
    expect(graph.get('proxyless/supernet.ts')).toContain('mobilenet/skeleton.ts');
    expect(graph.get('autospace/evolve.ts')).toContain('mobilenet/skeleton.ts');
    for (const { to } of edges) expect(graph.has(to), `${to} (imported) exists`).toBe(true);
  });

  it('ProxylessNAS and AutoSpace do not import each other', () => {
    const crossing = edges.filter(
      ({ from, to }) =>
        (under(from, 'proxyless') && under(to, 'autospace')) || (under(from, 'autospace') && under(to, 'proxyless')),
    );
    expect(crossing).toEqual([]);
  });

  it('src/mobilenet and the layers below it import no search method, proxy or command', () => {
    const low = ['mobilenet', 'nn', 'data', 'latency', 'util', 'kernels', 'gpu', 'native'];
    const high = ['proxyless', 'autospace', 'cli', 'zeroshot', 'proxies', 'search'];
    const upward = edges.filter(({ from, to }) => under(from, ...low) && under(to, ...high));
    expect(upward).toEqual([]);
  });

  it('no import cycle among the MobileNet, ProxylessNAS and AutoSpace modules', () => {
    const scope = [...graph.keys()].filter((f) => under(f, 'mobilenet', 'proxyless', 'autospace'));
    const inScope = new Set(scope);
    // Depth-first search with colours: a grey node reached again closes a cycle.
    const colour = new Map<string, 'grey' | 'black'>();
    const cycles: string[][] = [];
    const visit = (f: string, path: string[]): void => {
      colour.set(f, 'grey');
      for (const to of graph.get(f) ?? []) {
        if (!inScope.has(to)) continue;
        if (colour.get(to) === 'grey') cycles.push([...path.slice(path.indexOf(to)), to]);
        else if (!colour.has(to)) visit(to, [...path, to]);
      }
      colour.set(f, 'black');
    };
    for (const f of scope) if (!colour.has(f)) visit(f, [f]);
    expect(cycles).toEqual([]);
  });
});
