/**
 * The zero-shot pipeline shared by `wgnas score`, `correlate` and `search`: a fixed CIFAR-10
 * minibatch, a scorer that turns NB201 cells into proxy scores, and the majority vote on top.
 */
import { batchOf, loadCifar10 } from './data/cifar10.js';
import type { Gpu } from './gpu/gpu.js';
import { NB201_DEFAULT, type Nb201NetConfig } from './nn/nb201-net.js';
import { type ProxyBatch, scoreCell } from './proxies/evaluate.js';
import { resolveProxies, VOTE_MEMBERS } from './proxies/registry.js';
import { voteScores } from './proxies/vote.js';
import { formatArch, type Nb201Cell } from './spaces/nb201.js';
import { Progress } from './util/progress.js';
import { Rng } from './util/rng.js';

export interface ZeroShotOptions {
  batchSize: number;
  seed: number;
  net: Nb201NetConfig;
}

export const ZERO_SHOT_DEFAULTS: ZeroShotOptions = { batchSize: 64, seed: 0, net: NB201_DEFAULT };

/** One class-balanced minibatch from the shared CIFAR-10 training images, chosen by the seed. */
export function proxyBatch(batchSize: number, seed: number): ProxyBatch {
  const ds = loadCifar10('train');
  if (batchSize < 2 || batchSize > ds.count) throw new RangeError(`batch size must be in [2, ${ds.count}], got ${batchSize}`);
  const rng = new Rng(seed);
  const idx = rng.shuffle([...Array(ds.count).keys()]).slice(0, batchSize);
  const { x, y } = batchOf(ds, idx);
  return { x, y, n: batchSize };
}

export interface ScoredCell {
  arch: string;
  scores: Record<string, number>;
  timeMs: number;
}

/** Names to compute for a requested list ('vote' expands to its members, 'all' to everything). */
export function expandProxyNames(names: readonly string[]): string[] {
  return resolveProxies(names).map((p) => p.name);
}

export function wantsVote(names: readonly string[]): boolean {
  return names.some((n) => n === 'vote' || n === 'all');
}

export class ZeroShotScorer {
  readonly batch: ProxyBatch;
  readonly proxies: string[];
  constructor(
    readonly gpu: Gpu,
    proxyNames: readonly string[],
    readonly opts: ZeroShotOptions = ZERO_SHOT_DEFAULTS,
  ) {
    this.proxies = expandProxyNames(proxyNames);
    this.batch = proxyBatch(opts.batchSize, opts.seed);
  }

  async score(cell: Nb201Cell): Promise<ScoredCell> {
    const t0 = performance.now();
    const r = await scoreCell(this.gpu, cell, this.proxies, this.batch, { net: this.opts.net, seed: this.opts.seed });
    return { arch: formatArch(cell), scores: r.scores, timeMs: performance.now() - t0 };
  }
}

/** Scores cells in order with a progress bar on stderr. */
export async function scoreAll(scorer: ZeroShotScorer, cells: readonly Nb201Cell[], label: string): Promise<ScoredCell[]> {
  const rows: ScoredCell[] = [];
  const bar = new Progress(cells.length, label);
  for (const c of cells) {
    const r = await scorer.score(c);
    rows.push(r);
    bar.tick(1, `${(r.timeMs / 1000).toFixed(2)} s/arch`);
  }
  bar.done();
  return rows;
}

/** Adds the population-level 'vote' score to each row (needs the vote members). */
export function addVote(rows: ScoredCell[]): void {
  if (!rows.length || VOTE_MEMBERS.some((m) => rows[0].scores[m] === undefined)) return;
  const v = voteScores(rows.map((r) => r.scores));
  rows.forEach((r, i) => (r.scores.vote = v[i]));
}
