/**
 * One per-user cache folder for everything wgnas keeps there (docs/cli.md, Environment): the data
 * `wgnas data fetch` writes, the matmul tiles `wgnas bench --autotune` tunes and the measured bench peaks follow
 * $WGNAS_CACHE_DIR, else $XDG_CACHE_HOME/wgnas, else ~/.cache/wgnas alike.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { userDataDir } from '../../src/data/paths.js';
import { peakCachePath } from '../../src/bench/peak-cache.js';
import { autotuneCachePath } from '../../src/kernels/matmul-tiles.js';
import { userCacheDir } from '../../src/util/cache-dir.js';

const saved = { cache: process.env.WGNAS_CACHE_DIR, xdg: process.env.XDG_CACHE_HOME };
const set = (name: string, v: string | undefined) => (v === undefined ? delete process.env[name] : (process.env[name] = v));

afterEach(() => {
  set('WGNAS_CACHE_DIR', saved.cache);
  set('XDG_CACHE_HOME', saved.xdg);
});

describe('user cache folder', () => {
  it.each([
    ['$WGNAS_CACHE_DIR first', 'rel/cache', '/xdg', resolve('rel/cache')],
    ['$XDG_CACHE_HOME/wgnas without it', undefined, '/xdg', '/xdg/wgnas'],
    ['~/.cache/wgnas without either', undefined, undefined, join(homedir(), '.cache', 'wgnas')],
  ])('%s: the data, the autotune and the peak caches live in it', (_, cache, xdg, dir) => {
    set('WGNAS_CACHE_DIR', cache);
    set('XDG_CACHE_HOME', xdg);
    expect(userCacheDir()).toBe(dir);
    expect(userDataDir()).toBe(join(dir, 'data'));
    expect(autotuneCachePath()).toBe(join(dir, 'autotune.json'));
    expect(peakCachePath()).toBe(join(dir, 'peaks.json'));
  });
});
