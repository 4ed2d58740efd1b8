/**
 * The code version a result was computed by: the package version and a hash of the code and shaders
 * that compute scores. A result store shared by many runs must not hand an old score to new code, and
 * a worker must not score for a submitter running other code (its rows would not match a local run).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../data/paths.js';

let cached: string | undefined;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (/\.(ts|js|wgsl)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** `VERSION+src.HASH12` (HASH over src/ or dist/, and shaders/, by relative path and content). */
export function codeVersion(root = repoRoot()): string {
  if (cached !== undefined && root === repoRoot()) return cached;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const code = existsSync(join(root, 'src')) ? 'src' : 'dist';
  const h = createHash('sha256');
  for (const f of [...filesUnder(join(root, code)), ...filesUnder(join(root, 'shaders'))].map((p) => relative(root, p)).sort()) {
    h.update(`${f}\0`);
    h.update(readFileSync(join(root, f)));
    h.update('\0');
  }
  const v = `${pkg.version}+${code}.${h.digest('hex').slice(0, 12)}`;
  if (root === repoRoot()) cached = v;
  return v;
}
