/**
 * Asynchronous regularized evolution on the queue: up to `inFlight` children are out at once, each a
 * job that whichever worker is free takes; each result is reported as it arrives and a new child is
 * proposed at once. A run records its completions in order; replayed in that order (a resume), the
 * search proposes exactly the same children (AsyncRegularizedEvolution is seeded).
 */
import { AsyncRegularizedEvolution, type AsyncEvolutionOptions, type HistoryEntry } from '../search/index.js';
import type { SearchSpace } from '../spaces/space.js';
import type { QueueClient } from './client.js';
import type { ScoreSettings } from './jobs.js';
import { UserFacingError } from '../util/errors.js';

export interface Completion {
  step: number;
  arch: string;
  scores: Record<string, number>;
  /** What the worker took to compute it (a new completion's; a replayed one need not say). */
  timeMs?: number;
}

export interface QueueSearchOptions<A> extends AsyncEvolutionOptions {
  client: QueueClient;
  settings: ScoreSettings;
  space: SearchSpace<A>;
  /** Children out at once (part of the run's identity: another value proposes other children). */
  inFlight: number;
  /** Raw scores -> the search's score; called once per result, in completion order (online vote), with its architecture. */
  value: (scores: Record<string, number>, arch: A) => number;
  /** Completions of an earlier run, in its order: replayed instead of computed. */
  replay?: readonly Completion[];
  /** After each new (not replayed) completion: to record it. */
  onCompletion?: (c: Completion) => void;
  /** After every completion, replayed or not (progress). */
  onProgress?: (done: number) => void;
}

export interface QueueSearchResult<A> {
  best: A;
  bestScore: number;
  history: Array<HistoryEntry<A>>;
  /** Children computed or replayed (repeats of a finished architecture are not). */
  evaluations: number;
}

export class SearchDivergedError extends UserFacingError {
  override readonly name = 'SearchDivergedError';
}

export async function queueEvolution<A>(o: QueueSearchOptions<A>): Promise<QueueSearchResult<A>> {
  const { client, settings, space } = o;
  const algo = new AsyncRegularizedEvolution(space, o);
  /** space.key -> the search score of an architecture already in (a repeat is not scored again). */
  const cache = new Map<string, number>();
  const inflight = new Map<number, { arch: A; archStr: string; key: string; submitted: boolean }>();
  let evaluations = 0;
  let done = 0;

  const fill = () => {
    while (inflight.size < o.inFlight) {
      const p = algo.propose();
      if (!p) return;
      const hit = cache.get(space.key(p.arch));
      if (hit !== undefined) {
        algo.report(p.step, p.arch, hit);
        o.onProgress?.(++done);
        continue;
      }
      const archStr = space.format(p.arch);
      inflight.set(p.step, { arch: p.arch, archStr, key: client.keyOf(settings, archStr), submitted: false });
    }
  };
  const complete = (step: number, scores: Record<string, number>, replayed: boolean, timeMs?: number) => {
    const e = inflight.get(step)!;
    inflight.delete(step);
    const v = o.value(scores, e.arch);
    cache.set(space.key(e.arch), v);
    algo.report(step, e.arch, v);
    evaluations++;
    if (!replayed) o.onCompletion?.({ step, arch: e.archStr, scores, timeMs });
    o.onProgress?.(++done);
    fill();
  };
  const submitNew = async () => {
    for (const [step, e] of [...inflight].sort((a, b) => a[0] - b[0])) {
      if (e.submitted) continue;
      e.submitted = true;
      await client.submit('search-child', settings, [e.archStr], step);
    }
  };

  fill();
  for (const r of o.replay ?? []) {
    const e = inflight.get(r.step);
    if (!e || e.archStr !== r.arch) {
      throw new SearchDivergedError(
        `--resume: the recorded child ${r.step} is ${r.arch}, this run proposed ${e?.archStr ?? 'no such child'} (the run diverged: other settings or code)`,
      );
    }
    complete(r.step, r.scores, true);
  }
  await submitNew();
  while (!algo.finished) {
    if (!client.pendingCount) throw new Error('search: children out but none waited for (internal error)');
    const got = await client.next();
    // Results that came in together are taken in step order (the record keeps the order used).
    const arrived = [...inflight].filter(([, e]) => got.has(e.key)).sort((a, b) => a[0] - b[0]);
    for (const [step, e] of arrived) {
      const r = got.get(e.key)!;
      complete(step, r.scores, false, r.timeMs);
    }
    await submitNew();
  }
  if (algo.best === undefined) throw new Error('search: nothing was evaluated');
  return { best: algo.best, bestScore: algo.bestScore, history: algo.history, evaluations };
}
