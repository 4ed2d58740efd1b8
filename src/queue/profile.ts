/**
 * The submitting side of `wgnas profile --redis`: a table source whose ops are timed by the workers
 * of a queue. A latency table describes one device, so the first entry's stamp (the timing worker's
 * CPU model, cores, ISA and oneDNN version, threads... or its adapter and driver) becomes the
 * table's, and an entry timed on anything else ends the run (DeviceMixError, naming the worker and
 * the field) instead of entering the table. A resumed table's stamp is the device to match.
 */
import { CPU_RESUME_FIELDS, type TableSource } from '../latency/table-writer.js';
import type { LatencyEntry } from '../latency/lut.js';
import { GPU_RESUME_FIELDS } from '../mobilenet/gpu-profiler.js';
import { type ClientOptions, QueueClient } from './client.js';
import { profileKey, type ProfileSettings } from './jobs.js';
import type { ProfileResult } from './profile-job.js';
import { JsonStore, kindResultsKey } from './result-store.js';
import { UserFacingError } from '../util/errors.js';

/** An entry timed on another device than the table's. */
export class DeviceMixError extends UserFacingError {
  override readonly name = 'DeviceMixError';
}

export type ProfileClient = QueueClient<ProfileResult>;

export function openProfileClient(o: ClientOptions): ProfileClient {
  return new QueueClient<ProfileResult>(o, (redis, ns) => new JsonStore<ProfileResult>(redis, kindResultsKey(ns, 'profile')));
}

export interface QueuedTableOptions {
  client: ProfileClient;
  settings: ProfileSettings;
  /** Ops per job. */
  shardSize: number;
  /** The stamp of the table being resumed, when every key is in it already (nothing is queued). */
  resumeStamp?: Record<string, string>;
  /**
   * Settings whose stored results count too (checked against the table's device as any): a resume
   * of a table its workers resolved `--cache-flush auto` for finds what its first run stored under
   * 'auto', while it queues the table's byte count.
   */
  alsoStoredAs?: readonly ProfileSettings[];
  /** Told when the jobs are out: how many, the results stored already, those of another device dropped. */
  onSubmitted?: (jobs: number, stored: number, dropped: number) => void | Promise<void>;
}

/** The first field in which two stamps differ, or undefined. */
export function stampDifference(a: Record<string, string>, b: Record<string, string>): string | undefined {
  for (const f of new Set([...Object.keys(a), ...Object.keys(b)])) if (a[f] !== b[f]) return f;
  return undefined;
}

/** Times `keys` (the ops not in the table yet) on the workers; see the module comment. */
export function queuedTableSource(keys: readonly string[], o: QueuedTableOptions): TableSource {
  const { client, settings } = o;
  const opOf = new Map(keys.map((k) => [profileKey(settings, k), k]));
  const ownKeys = new Set(opOf.keys());
  for (const other of o.alsoStoredAs ?? []) for (const k of keys) opOf.set(profileKey(other, k), k);
  const order = new Map(keys.map((k, i) => [k, i]));
  /** Results taken from the queue before measure() asked for them (the first one, for the stamp). */
  const early = new Map<string, ProfileResult>();
  let first: ProfileResult | undefined;
  /**
   * The device every entry must match: the resumed table's stamp (on the fields a worker stamps),
   * else the first entry's.
   */
  const resumed = o.resumeStamp;
  const differs = (r: ProfileResult): string | undefined =>
    resumed
      ? Object.keys(r.stamp).find((f) => f in resumed && resumed[f] !== r.stamp[f])
      : stampDifference(r.stamp, first!.stamp);
  const refName = () => (resumed ? 'the table resumed' : `worker ${first!.worker}`);
  const refValue = (f: string) => (resumed ? resumed[f] : first!.stamp[f]);

  const refuse = async (r: ProfileResult, op: string, field: string): Promise<never> => {
    // Neither the other device's entries nor its queued work may reach a re-run of this table.
    const stored = await client.stored([...ownKeys]);
    const foreign = [...stored].filter(([, s]) => differs(s) !== undefined).map(([k]) => k);
    await (client.store as JsonStore<ProfileResult>).remove(foreign);
    await client.cancelWaiting();
    const show = (v: string | undefined) => (v === undefined ? 'none' : `'${v}'`);
    throw new DeviceMixError(
      `--redis: worker ${r.worker} timed ${op.length > 60 ? `${op.slice(0, 57)}...` : op} on another device: ${field} ${show(r.stamp[field])}, the table's ${show(refValue(field))} (${refName()}); one table, one device: stop that worker or give it another --queue`,
    );
  };

  const check = async (key: string, r: ProfileResult): Promise<void> => {
    first ??= r;
    const f = differs(r);
    if (f !== undefined) await refuse(r, opOf.get(key) ?? key, f);
  };

  return {
    resumeFields: settings.device === 'gpu' ? GPU_RESUME_FIELDS : CPU_RESUME_FIELDS,
    async stamp() {
      if (!keys.length) return o.resumeStamp ?? {};
      const all = [...opOf.keys()];
      const stored = await client.stored(all);
      // The table's device: the resumed table's, else the first stored entry's in key order, else the
      // first to arrive. Stored entries of another device (a refused run's stragglers) never enter
      // the table: they are dropped and their ops queued again.
      const firstStored = () => all.find((k) => stored.has(k));
      if (!resumed && firstStored() !== undefined) first = stored.get(firstStored()!);
      const foreign = [...stored].filter(([, r]) => (resumed || first) && differs(r) !== undefined).map(([k]) => k);
      // Those under other settings (alsoStoredAs) are right for their own tables: skipped, kept.
      await (client.store as JsonStore<ProfileResult>).remove(foreign.filter((k) => ownKeys.has(k)));
      for (const k of foreign) stored.delete(k);
      for (const [k, r] of stored) early.set(k, r);
      // A resume whose every op is stored already (a killed run's workers finished them) queues
      // nothing: its first stored entry is the one to stamp with, or nothing would ever arrive.
      if (first === undefined && firstStored() !== undefined) first = stored.get(firstStored()!);
      const storedOps = new Set([...stored.keys()].map((k) => opOf.get(k)));
      const missing = keys.filter((k) => !storedOps.has(k));
      let jobs = 0;
      for (let i = 0; i < missing.length; i += o.shardSize) {
        const ops = missing.slice(i, i + o.shardSize);
        await client.submitJob('profile-ops', { profile: settings, ops, keys: ops.map((k) => profileKey(settings, k)) });
        jobs++;
      }
      await o.onSubmitted?.(jobs, storedOps.size, foreign.length);
      while (!first) {
        if (!client.pendingCount)
          throw new Error('profile --redis: no op queued nor stored to stamp the table with (internal error)');
        for (const [k, r] of await client.next()) {
          early.set(k, r);
          first ??= r;
        }
      }
      await check([...early].find(([, r]) => r === first)![0], first);
      return first.stamp;
    },
    async measure(todo, put) {
      const want = new Set(todo);
      const take = async (got: Map<string, ProfileResult>) => {
        for (const [k, r] of got) {
          const op = opOf.get(k);
          if (op === undefined || !want.has(op)) continue;
          await check(k, r);
          want.delete(op);
          put(op, r.entry as LatencyEntry);
        }
      };
      // Stored results in key order (a resume's table reads as a local one until the new ones come).
      await take(new Map([...early].sort(([a], [b]) => order.get(opOf.get(a)!)! - order.get(opOf.get(b)!)!)));
      while (want.size) {
        if (!client.pendingCount)
          throw new Error(`profile --redis: ${want.size} op(s) neither queued nor stored (internal error)`);
        await take(await client.next());
      }
    },
  };
}
