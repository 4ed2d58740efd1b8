/**
 * Measured peaks, cached per adapter and driver (peaks.json in the user cache, beside autotune.json).
 * A calibration on a shared or software device moves with the load (lavapipe gave 11.8, 17.8 and
 * 31.7 GFLOP/s in three runs), so "% of peak" re-measured every run cannot be compared between runs:
 * the best of a few calibration rounds is kept once and reused until the adapter key (vendor,
 * architecture, device, description with the driver version) or the calibration method changes,
 * or `wgnas bench --recalibrate` measures again.
 */
import { join } from 'node:path';
import { userCacheDir } from '../util/cache-dir.js';
import { readJsonCache, writeJsonCache } from '../util/json-cache.js';
import type { Peak } from './peaks.js';

/** Bump when the calibration kernels or their sizing change: older entries are then measured again. */
export const CALIBRATION_METHOD = 1;
/** Calibration rounds on a cache miss; each rate is the best of them (a peak is a best case). */
export const DEFAULT_CALIBRATION_ROUNDS = 3;

interface CachedPeak {
  flopsPerS: number;
  bytesPerS: number;
  name: string;
  measuredAt: string;
  rounds: number;
  method: number;
  /** Per-thread rates of a CPU peak (Peak.threads). */
  threads?: Peak['threads'];
  /** When a run's kernels beat the measured rates and raised them (raiseCachedPeak). */
  raisedAt?: string;
}

interface PeakCacheFile {
  version: 1;
  peaks: Record<string, CachedPeak>;
}

export function peakCachePath(): string {
  return join(userCacheDir(), 'peaks.json');
}

function readPeakCache(path: string): PeakCacheFile {
  return readJsonCache(path, 'peaks', 'peak cache', 'measuring again');
}

const usable = (c: CachedPeak | undefined, method: number): c is CachedPeak =>
  !!c && c.method === method && c.flopsPerS > 0 && c.bytesPerS > 0 && typeof c.measuredAt === 'string';

/** A cached entry's per-thread rates, when they are there and whole. */
const threadRates = (t: CachedPeak['threads']): t is NonNullable<CachedPeak['threads']> =>
  !!t && t.count >= 1 && t.oneThreadFlopsPerS > 0 && t.allThreadsFlopsPerS > 0;

/** Each rate the best of two calibration rounds (a peak is a best case). */
export function bestOfRounds(a: Peak, b: Peak): Peak {
  const best: Peak = { ...a, flopsPerS: Math.max(a.flopsPerS, b.flopsPerS), bytesPerS: Math.max(a.bytesPerS, b.bytesPerS) };
  if (a.threads && b.threads) {
    best.threads = {
      count: a.threads.count,
      oneThreadFlopsPerS: Math.max(a.threads.oneThreadFlopsPerS, b.threads.oneThreadFlopsPerS),
      allThreadsFlopsPerS: Math.max(a.threads.allThreadsFlopsPerS, b.threads.allThreadsFlopsPerS),
    };
  }
  return best;
}

export interface CachedPeakOptions {
  /** Measure now and replace the cached entry (bench --recalibrate). */
  recalibrate?: boolean;
  /** Calibration rounds on a miss (default DEFAULT_CALIBRATION_ROUNDS). */
  rounds?: number;
  cachePath?: string;
  log?: (line: string) => void;
  /** What a measurement does, logged once before the rounds (e.g. 'calibrating ... on lavapipe'). */
  what?: string;
  /** The calibration method entries must carry (default CALIBRATION_METHOD; the CPU has its own). */
  method?: number;
}

/**
 * The cached peak of `key`, else the best of `rounds` runs of `measure` (each rate its own best),
 * written to the cache. The result says where it came from (origin, measuredAt, rounds).
 */
export async function cachedPeak(key: string, measure: () => Promise<Peak>, o: CachedPeakOptions = {}): Promise<Peak> {
  const path = o.cachePath ?? peakCachePath();
  const method = o.method ?? CALIBRATION_METHOD;
  const hit = o.recalibrate ? undefined : readPeakCache(path).peaks[key];
  if (usable(hit, method)) {
    return {
      flopsPerS: hit.flopsPerS,
      bytesPerS: hit.bytesPerS,
      source: 'calibrated',
      name: hit.name,
      origin: 'cached',
      measuredAt: hit.measuredAt,
      rounds: hit.rounds,
      ...(threadRates(hit.threads) ? { threads: hit.threads } : {}),
    };
  }
  const rounds = Math.max(1, o.rounds ?? DEFAULT_CALIBRATION_ROUNDS);
  o.log?.(
    `${o.what ?? 'measuring the peak'} (best of ${rounds} round${rounds > 1 ? 's' : ''}, then cached for this adapter and driver)...`,
  );
  let best: Peak = await measure();
  for (let i = 1; i < rounds; i++) {
    best = bestOfRounds(best, await measure());
  }
  const measuredAt = new Date().toISOString();
  const peak: Peak = { ...best, source: 'calibrated', origin: 'measured', measuredAt, rounds };
  // Read again: another run may have cached another adapter meanwhile.
  const cache = readPeakCache(path);
  cache.peaks[key] = {
    flopsPerS: peak.flopsPerS,
    bytesPerS: peak.bytesPerS,
    name: peak.name,
    measuredAt,
    rounds,
    method,
    ...(peak.threads ? { threads: peak.threads } : {}),
  };
  try {
    writeJsonCache(path, cache);
  } catch (e) {
    // An unwritable cache costs the next run a calibration, not this run its numbers.
    o.log?.(`note: could not cache the measured peak (${(e as Error).message.split('\n')[0]})`);
  }
  return peak;
}

export interface RaiseCachedPeakOptions {
  cachePath?: string;
  /** As CachedPeakOptions.method. */
  method?: number;
  log?: (line: string) => void;
}

/**
 * Saves a roofline that kernels of this run raised (raiseMeasuredRoofline) into `key`'s cache entry:
 * a rate a kernel reached is a better lower bound of the peak than the calibration's, and a later
 * run measured against the old one would read other % of peak. Each rate only goes up (another run
 * may have raised the entry meanwhile); measuredAt and rounds stay. Returns whether it was saved
 * (an unwritable cache costs later runs the comparison, not this run its numbers).
 */
export function raiseCachedPeak(key: string, peak: Peak, o: RaiseCachedPeakOptions = {}): boolean {
  const path = o.cachePath ?? peakCachePath();
  const cache = readPeakCache(path);
  const method = o.method ?? CALIBRATION_METHOD;
  const had = cache.peaks[key];
  const base: CachedPeak = usable(had, method)
    ? had
    : {
        flopsPerS: 0,
        bytesPerS: 0,
        name: peak.name,
        measuredAt: peak.measuredAt ?? new Date().toISOString(),
        rounds: peak.rounds ?? 1,
        method,
        ...(peak.threads ? { threads: peak.threads } : {}),
      };
  cache.peaks[key] = {
    ...base,
    flopsPerS: Math.max(base.flopsPerS, peak.flopsPerS),
    bytesPerS: Math.max(base.bytesPerS, peak.bytesPerS),
    raisedAt: new Date().toISOString(),
  };
  try {
    writeJsonCache(path, cache);
    return true;
  } catch (e) {
    o.log?.(`note: could not cache the raised peak (${(e as Error).message.split('\n')[0]})`);
    return false;
  }
}
