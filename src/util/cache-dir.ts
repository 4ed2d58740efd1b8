/** The per-user cache folder (fetched data, tuned tiles); it need not exist yet. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** $WGNAS_CACHE_DIR, else $XDG_CACHE_HOME/wgnas, else ~/.cache/wgnas. */
export function userCacheDir(): string {
  if (process.env.WGNAS_CACHE_DIR) return resolve(process.env.WGNAS_CACHE_DIR);
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg ? resolve(xdg) : join(homedir(), '.cache'), 'wgnas');
}
