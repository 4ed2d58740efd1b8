/**
 * The layering of src/ (.dependency-cruiser.cjs, docs/architecture.md) holds: no module imports
 * from a layer above its own, and no runtime import cycles (type-only imports may close a loop:
 * they vanish when compiled).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/paths.js';

const root = REPO;

describe('dependency layers', () => {
  it('dependency-cruiser finds no violation in src/', { timeout: 120_000 }, () => {
    let out = '';
    let code = 0;
    try {
      out = execFileSync(
        join(root, 'node_modules', '.bin', 'depcruise'),
        ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'],
        {
          cwd: root,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
    } catch (e) {
      const err = e as { status: number; stdout: string; stderr: string };
      code = err.status;
      out = `${err.stdout}${err.stderr}`;
    }
    expect(code, out).toBe(0);
    expect(out).toMatch(/no dependency violations found/);
  });
});
