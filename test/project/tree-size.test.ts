/**
 * The tracked tree stays within its share of a GPU-machine call: the call carries the tracked files
 * (counted as scripts/device-pack.sh counts them, git ls-files and each file's size) with .devcarry
 * and .devrun, 64 MiB in all, or it is refused. Every session adds results to the tree, so the
 * budget leaves the carried folders 4 MiB to grow. Without git this fails under CI=true (CI runs
 * from a clone) and skips elsewhere.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/paths.js';

const MiB = 1048576;
/** What a device call carries at most. */
const CALL_BYTES = 64 * MiB;
/** .devcarry + .devrun as scripts/device-pack.sh packed them on 2026-12-05 (du -sb: Node, Dawn, bundles, CIFAR-10). */
const CARRIED_BYTES = 40_257_471;
/** Room kept for the carried folders to grow. */
const MARGIN_BYTES = 4 * MiB;
const BUDGET_BYTES = CALL_BYTES - CARRIED_BYTES - MARGIN_BYTES; // 21.6 MiB

/** Each tracked path with its size (a path deleted but not yet committed counts 0, as device-pack's stat skips it). */
function trackedSizes(): Array<{ path: string; bytes: number }> {
  const paths = execFileSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8', maxBuffer: 1 << 26 })
    .split('\0')
    .filter(Boolean);
  return paths.map((path) => {
    try {
      return { path, bytes: lstatSync(join(REPO, path)).size };
    } catch {
      return { path, bytes: 0 };
    }
  });
}

const mib = (b: number) => `${(b / MiB).toFixed(2)} MiB`;

describe('the tracked tree', () => {
  it(`stays within ${mib(BUDGET_BYTES)}, its share of a device call`, ({ skip }) => {
    let files: Array<{ path: string; bytes: number }>;
    try {
      files = trackedSizes();
    } catch (e) {
      const why = `no git file list (${(e as Error).message.split('\n')[0]})`;
      if (process.env.CI === 'true') throw new Error(`${why}: CI runs from a git clone`);
      return skip(why);
    }
    expect(files.length).toBeGreaterThan(100);
    const total = files.reduce((s, f) => s + f.bytes, 0);
    const largest = [...files]
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, 8)
      .map((f) => `  ${(f.bytes / 1024).toFixed(0)} KiB ${f.path}`);
    expect(
      total,
      `tracked files total ${mib(total)}, over the ${mib(BUDGET_BYTES)} budget (a device call carries 64 MiB: ` +
        `${mib(CARRIED_BYTES)} of .devcarry + .devrun, 4 MiB kept free). Gzip large raw results ` +
        '(gzip -9n FILE, references renamed to FILE.gz; src/util/gz-file.ts reads either form, ' +
        'bench/results-dir.ts writeResult gzips results over 128 KiB), keep fixtures small, leave data in ' +
        `../shared. Largest:\n${largest.join('\n')}`,
    ).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});
