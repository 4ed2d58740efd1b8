/**
 * scripts/device-suite.sh where no data root has CIFAR-10 (a clone without ../shared/data, nothing
 * fetched; what `wgnas data list` says): the large size stops before any step, in one line naming
 * what to get. (The tiny size takes the tracked fixture: device-suite.gpu.test.ts runs it so.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..', '..');
let work = '';
afterEach(() => rmSync(work, { recursive: true, force: true }));

describe('device suite without CIFAR-10', () => {
  it('SUITE_SIZE=large stops at the start in one line naming what to fetch', { timeout: 120_000 }, () => {
    work = mkdtempSync(join(tmpdir(), 'wgnas-suite-data-'));
    const out = join(work, 'out');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SUITE_OUT: out,
      // No data root but the package's: no ../shared/data, an empty user cache, no $WGNAS_DATA_DIR.
      WGNAS_SHARED_DATA_DIR: 'none',
      WGNAS_CACHE_DIR: join(work, 'cache'),
    };
    delete env.WGNAS_DATA_DIR;
    delete env.WGNAS_CLI; // the CLI's own lookup (npx tsx src/cli/main.ts)
    const r = spawnSync('bash', ['scripts/device-suite.sh'], { cwd: root, env, encoding: 'utf8' });
    const line =
      "no CIFAR-10 in the data roots (wgnas data list): run 'wgnas data fetch cifar10' (or set WGNAS_DATA_DIR; " +
      'on a device, pack it with scripts/device-pack.sh), or SUITE_SIZE=tiny for the tracked fixture';
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^\[suite [\d:]+\] /)]);
    expect(r.stderr).toContain(line);
    expect(readFileSync(join(out, 'suite.log'), 'utf8')).toMatch(
      new RegExp(`^\\[suite [\\d:]+\\] ${line.replace(/[().'$]/g, '\\$&')}\\n$`),
    );
  });
});
