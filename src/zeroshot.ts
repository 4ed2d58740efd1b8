/**
 * The zero-shot pipeline shared by `wgnas score`, `correlate` and `search`: a fixed CIFAR-10
 * minibatch, a scorer that turns NB201 cells into proxy scores, and the majority vote on top.
 */
import { batchOf, loadCifar10 } from './data/cifar10.js';
import type { Gpu } from './gpu/gpu.js';
import { NB201_DEFAULT, type Nb201NetConfig } from './nn/nb201-net.js';
import { GROUPABLE_PROXIES, type ProxyBatch, nb201Factory, scoreCell, scoreNetsGrouped } from './proxies/evaluate.js';
import { resolveProxies, VOTE_MEMBERS } from './proxies/registry.js';
import { voteScores } from './proxies/vote.js';
import { formatArch, type Nb201Cell } from './spaces/nb201.js';
import { Progress } from './util/progress.js';
import { Rng } from './util/rng.js';

export interface ZeroShotOptions {
  batchSize: number;
  seed: number;
  net: Nb201NetConfig;
  /** Architectures whose correlation matrices are computed together (WRCor/NASWOT/static proxies only). */
  group?: number;
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

  /** True when `score many` can batch architectures (every requested proxy is groupable and group > 1). */
  get grouped(): boolean {
    return (this.opts.group ?? 1) > 1 && this.proxies.every((p) => GROUPABLE_PROXIES.has(p));
  }

  /** Scores cells, `opts.group` architectures per batched correlation pass when the proxies allow. */
  async scoreMany(cells: readonly Nb201Cell[]): Promise<ScoredCell[]> {
    if (!this.grouped) {
      const out: ScoredCell[] = [];
      for (const c of cells) out.push(await this.score(c));
      return out;
    }
    const t0 = performance.now();
    const rs = await scoreNetsGrouped(this.gpu, cells.map((c) => nb201Factory(this.gpu, c, this.opts.net)), this.proxies, this.batch, this.opts.seed);
    const each = (performance.now() - t0) / Math.max(1, cells.length);
    return rs.map((r, i) => ({ arch: formatArch(cells[i]), scores: r.scores, timeMs: each }));
  }

  async score(cell: Nb201Cell): Promise<ScoredCell> {
    const t0 = performance.now();
    const r = await scoreCell(this.gpu, cell, this.proxies, this.batch, { net: this.opts.net, seed: this.opts.seed });
    return { arch: formatArch(cell), scores: r.scores, timeMs: performance.now() - t0 };
  }
}

/** Scores cells in order with a progress bar on stderr; `onRows` gets each batch as it finishes (to stream it). */
export async function scoreAll(scorer: ZeroShotScorer, cells: readonly Nb201Cell[], label: string, onRows?: (rows: ScoredCell[]) => void): Promise<ScoredCell[]> {
  const rows: ScoredCell[] = [];
  const bar = new Progress(cells.length, label);
  const g = scorer.grouped ? scorer.opts.group! : 1;
  for (let i = 0; i < cells.length; i += g) {
    const rs = await scorer.scoreMany(cells.slice(i, i + g));
    rows.push(...rs);
    onRows?.(rs);
    bar.tick(rs.length, `${(rs[0].timeMs / 1000).toFixed(2)} s/arch`);
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
