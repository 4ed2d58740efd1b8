/** Where the read-only shared data lives (../shared/data next to the repo, or $WGNAS_DATA_DIR). */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo root: the nearest ancestor of this module holding package.json (works from src/ and dist/src/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`wgnas: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The shared data directory: $WGNAS_DATA_DIR, else <repo>/../shared/data. Throws naming the path if it is missing. */
export function dataDir(): string {
  const env = process.env.WGNAS_DATA_DIR;
  const dir = env ? resolve(env) : resolve(repoRoot(), '..', 'shared', 'data');
  if (!existsSync(dir)) {
    throw new Error(
      `shared data directory not found: ${dir} ` +
        (env ? '(from $WGNAS_DATA_DIR)' : '(default <repo>/../shared/data; set $WGNAS_DATA_DIR to point elsewhere)'),
    );
  }
  return dir;
}

/** A file under the shared data directory; throws naming the full path if it is missing. */
export function dataFile(...parts: string[]): string {
  const p = join(dataDir(), ...parts);
  if (!existsSync(p)) throw new Error(`shared data file not found: ${p}`);
  return p;
}
