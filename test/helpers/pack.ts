/**
 * `npm pack` this checkout and install the tarball into an empty project, offline: the consumer's
 * package-lock.json is written from this repository's lock (the runtime packages, their tarballs
 * already in npm's cache after `npm ci`) plus the tarball itself, so `npm ci --offline` installs it
 * exactly as a user's `npm install wgnas` would lay it out, without the network.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './paths.js';

export { REPO };

interface LockEntry {
  dev?: boolean;
  devOptional?: boolean;
  link?: boolean;
  [k: string]: unknown;
}

/** Runs `npm pack` (its prepack hook compiles dist/); returns the tarball's path and file list. */
export function packTarball(dest: string): { tarball: string; files: Array<{ path: string; size: number }>; bytes: number } {
  mkdirSync(dest, { recursive: true });
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dest], {
    cwd: REPO,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  // prepack's own output (tsc) may precede the JSON.
  const info = JSON.parse(out.slice(out.indexOf('[\n'))) as Array<{
    filename: string;
    size: number;
    files: Array<{ path: string; size: number }>;
  }>;
  return { tarball: join(dest, info[0].filename), files: info[0].files, bytes: info[0].size };
}

/** An empty project at `dir` depending on `tarball`, with a lock that lets `npm ci --offline` install it. */
export function writeConsumer(dir: string, tarball: string): void {
  mkdirSync(dir, { recursive: true });
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Record<string, unknown>;
  const spec = `file:${tarball}`;
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  const packages: Record<string, LockEntry> = {
    '': { name: 'consumer', version: '1.0.0', dependencies: { wgnas: spec } },
    'node_modules/wgnas': {
      version: pkg.version,
      resolved: spec,
      integrity,
      hasInstallScript: true,
      dependencies: pkg.dependencies,
      optionalDependencies: pkg.optionalDependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [k, v] of Object.entries(lock.packages)) {
    if (k === '' || v.dev || v.link) continue;
    const { devOptional: _, ...entry } = v;
    packages[k] = entry;
  }
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, dependencies: { wgnas: spec } }, null, 2),
  );
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2),
  );
}
