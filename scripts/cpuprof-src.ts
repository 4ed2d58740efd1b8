/**
 * Maps a V8 CPU profile (node --cpu-prof) of the compiled dist/ back to src/: each call frame's
 * position goes through the .js.map tsc wrote beside its file (tsc --sourceMap), so a profile viewer
 * shows src/zeroshot/scorer.ts:319 instead of a dist/ line. A profile of the sources under tsx (what
 * bin/wgnas.js runs in a checkout) cannot be mapped so: tsx compiles each file to one line, and every
 * function is at line 1. Frames without a map (Node's own, node_modules) stay as they are; a mapped
 * frame's per-line ticks (positionTicks, in dist/ lines) are dropped. The recipe: docs/bench.md,
 * "Profiling the host side".
 *
 * Usage: npx tsx scripts/cpuprof-src.ts FILE.cpuprofile...   (writes each as FILE.src.cpuprofile)
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapping, type SourceMapPayload } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeFileAtomic } from '../src/util/durable.js';

/** The parts of a .cpuprofile this reads and writes. */
export interface CpuProfile {
  nodes: Array<{
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    positionTicks?: unknown;
  }>;
}

/** The .map beside a compiled file, or null. */
const mapBeside = (file: string): string | null => (existsSync(`${file}.map`) ? readFileSync(`${file}.map`, 'utf8') : null);

/** Maps `profile`'s frames in place; how many were mapped, and how many had a map but no position in it. */
export function mapProfile(profile: CpuProfile, readMap = mapBeside): { mapped: number; unmapped: number } {
  const maps = new Map<string, SourceMap | null>();
  const mapOf = (url: string): SourceMap | null => {
    if (!url.startsWith('file://')) return null;
    if (!maps.has(url)) {
      const text = readMap(fileURLToPath(url));
      maps.set(url, text === null ? null : new SourceMap(JSON.parse(text) as SourceMapPayload));
    }
    return maps.get(url)!;
  };
  let mapped = 0;
  let unmapped = 0;
  for (const node of profile.nodes) {
    const f = node.callFrame;
    const map = mapOf(f.url);
    if (!map || f.lineNumber < 0) continue;
    // Node 20 answers {} where no entry covers the position.
    const e = map.findEntry(f.lineNumber, f.columnNumber) as Partial<SourceMapping>;
    if (e.originalSource === undefined || e.originalLine === undefined || e.originalColumn === undefined) {
      unmapped++;
      continue;
    }
    // tsc writes each source relative to its map, which lies beside the file.
    f.url = new URL(e.originalSource, pathToFileURL(fileURLToPath(f.url))).href;
    f.lineNumber = e.originalLine;
    f.columnNumber = e.originalColumn;
    delete node.positionTicks;
    mapped++;
  }
  return { mapped, unmapped };
}

function main(): void {
  // A glob over a folder mapped before holds the mapped files too: those are left alone.
  const inputs = process.argv.slice(2).filter((f) => !f.endsWith('.src.cpuprofile'));
  if (!inputs.length) {
    process.stderr.write('usage: npx tsx scripts/cpuprof-src.ts FILE.cpuprofile...\n');
    process.exit(2);
  }
  for (const input of inputs) {
    let profile: CpuProfile;
    try {
      profile = JSON.parse(readFileSync(input, 'utf8')) as CpuProfile;
      if (!Array.isArray(profile.nodes)) throw new Error('no nodes: not a .cpuprofile');
    } catch (e) {
      process.stderr.write(`${input}: ${(e as Error).message}\n`);
      process.exit(1);
    }
    const { mapped, unmapped } = mapProfile(profile);
    if (mapped === 0) {
      process.stderr.write(
        `${input}: no call frame has a source map: profile the build of \`npx tsc -p tsconfig.build.json --sourceMap\` (node --cpu-prof dist/cli/main.js ...), not bin/wgnas.js under tsx\n`,
      );
      process.exit(1);
    }
    const output = input.replace(/(\.cpuprofile)?$/, '.src.cpuprofile');
    writeFileAtomic(output, JSON.stringify(profile));
    const missed = unmapped ? ` (${unmapped} more had no position in their maps)` : '';
    process.stderr.write(`${input}: mapped ${mapped} call frames to their sources${missed}; wrote ${output}\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
