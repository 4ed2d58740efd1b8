/**
 * Results by content key, in one Redis hash per namespace. Writes are first-wins (HSETNX): a
 * duplicate delivery or a re-run finds the result and neither scores again nor replaces it.
 */
import type { Redis } from 'ioredis';
import { jsonRow, rowNumber } from '../data/row-stream.js';

export interface StoredResult {
  arch: string;
  /** Proxy scores; Infinity, -Infinity and NaN are stored as those strings (JSON has no such numbers). */
  scores: Record<string, number>;
  timeMs: number;
  /** The worker that computed it. */
  worker: string;
}

export const resultsKey = (ns: string): string => `${ns}:results`;

/** A result as stored: as a result row, with its non-finite scores as strings (a -Infinity stays -Infinity). */
export const encodeResult = (r: StoredResult): string => jsonRow(r);

/** A stored result back; null, which results stored before held for any non-finite score, is NaN. */
export function decodeResult(s: string): StoredResult {
  const r = JSON.parse(s) as Omit<StoredResult, 'scores' | 'timeMs'> & { scores: Record<string, unknown>; timeMs: unknown };
  return {
    ...r,
    scores: Object.fromEntries(Object.entries(r.scores).map(([k, v]) => [k, rowNumber(v)])),
    timeMs: rowNumber(r.timeMs),
  };
}

export class ResultStore {
  constructor(
    private readonly redis: Redis,
    readonly ns: string,
  ) {}

  async has(key: string): Promise<boolean> {
    return (await this.redis.hexists(resultsKey(this.ns), key)) === 1;
  }

  /** The stored results of `keys` (absent ones missing from the map). */
  async getMany(keys: readonly string[]): Promise<Map<string, StoredResult>> {
    const out = new Map<string, StoredResult>();
    for (let i = 0; i < keys.length; i += 1000) {
      const part = keys.slice(i, i + 1000);
      const vals = await this.redis.hmget(resultsKey(this.ns), ...part);
      vals.forEach((v, j) => v !== null && out.set(part[j], decodeResult(v)));
    }
    return out;
  }

  /** Stores a result unless one is there already; true when this call wrote it. */
  async put(key: string, r: StoredResult): Promise<boolean> {
    return (await this.redis.hsetnx(resultsKey(this.ns), key, encodeResult(r))) === 1;
  }

  async count(): Promise<number> {
    return this.redis.hlen(resultsKey(this.ns));
  }
}

/** Where results of `kind` live: one Redis hash per namespace and kind (scores: resultsKey). */
export const kindResultsKey = (ns: string, kind: 'profile' | 'evolve'): string => `${ns}:results:${kind}`;

/** First-wins JSON results in one Redis hash (latency entries, evolved spaces): as ResultStore, any value type. */
export class JsonStore<T> {
  constructor(
    private readonly redis: Redis,
    readonly hash: string,
  ) {}

  async getMany(keys: readonly string[]): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    for (let i = 0; i < keys.length; i += 1000) {
      const part = keys.slice(i, i + 1000);
      const vals = await this.redis.hmget(this.hash, ...part);
      vals.forEach((v, j) => v !== null && out.set(part[j], JSON.parse(v) as T));
    }
    return out;
  }

  async put(key: string, value: T): Promise<boolean> {
    return (await this.redis.hsetnx(this.hash, key, JSON.stringify(value))) === 1;
  }

  /** Drops results (a refused profile's entries from another device, so a re-run measures them again). */
  async remove(keys: readonly string[]): Promise<void> {
    if (keys.length) await this.redis.hdel(this.hash, ...keys);
  }
}
