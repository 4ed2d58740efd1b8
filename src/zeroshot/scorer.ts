/**
 * The NAS-Bench-201 zero-shot pipeline shared by `wgnas score`, `correlate` and `search`: a scorer
 * that turns NB201 cells into proxy scores on a fixed minibatch, and the population-level
 * aggregators (the vote) on top.
 */
import { type Backend, GpuOutOfMemoryError } from '../backend/index.js';
import type { InitMode } from '../nn/init.js';
import { NB201_DEFAULT, type Nb201NetConfig, type Nb201NetOptions, nb201Factory } from '../nn/nb201-net.js';
import { DEFAULT_ARENA_BYTES } from '../proxies/correlation-proxies.js';
import { nb201StackedFactory } from '../nn/nb201-stacked.js';
import { type CellPlan, planCell } from '../nn/nb201-stacked-plan.js';
import {
  type CellScores,
  checkPerNetwork,
  GROUPABLE_PROXIES,
  type ProxyBatch,
  requestedAggregators,
  resolveProxies,
  scoreNet,
  scoreNetsGrouped,
  scoreNetsStacked,
} from '../proxies/index.js';
import { formatArch, type Nb201Cell, parseArch } from '../spaces/nb201.js';
import { checkLabels, ClassCountError } from '../data/labels.js';
import { type ProxyInputs, proxyBatch, withInputs } from './batch.js';
import { autoGroupSize, groupDevice, type GroupMode, MAX_AUTO_GROUP, memoryBudgetBytes } from './group-size.js';
import { NO_POOL_PEAK, type PoolPeak } from './process-memory.js';
import { packedGroups, stackedPlansBytes } from './stacked-memory.js';

export interface ScoreOptions {
  /**
   * The network (NB201's C=16, N=5 where a field is left out). numClasses: the batch's dataset's
   * (batch.classes) where not given, else 10 (CIFAR-10, NB201's); a count other than batch.classes
   * is refused, and so is a label outside [0, numClasses).
   */
  net?: Partial<Nb201NetConfig>;
  /** Seeds the weight initialisation (and Zen's Gaussian input). */
  seed?: number;
  /** The shared networks' initialisation (default PyTorch's). */
  init?: InitMode;
}

/**
 * The network a batch is scored on: `net` with NB201's defaults for the fields it leaves out and
 * the batch's class count (batch.classes; 10 where neither says). `fn` names the caller in errors.
 */
export function nb201NetFor(batch: ProxyBatch, net: Partial<Nb201NetConfig> = {}, fn = 'scoreCell'): Nb201NetConfig {
  const given = net.numClasses;
  if (given !== undefined && batch.classes !== undefined && given !== batch.classes)
    throw new ClassCountError(
      `${fn}: the network's numClasses is ${given} but the batch's dataset has ${batch.classes} classes (batch.classes); leave numClasses out to take the batch's`,
    );
  return { ...NB201_DEFAULT, ...net, numClasses: given ?? batch.classes ?? NB201_DEFAULT.numClasses };
}

/** Where nb201NetFor's class count came from, for a label it does not fit. */
function classesAdvice(batch: ProxyBatch, net: Partial<Nb201NetConfig> | undefined): string {
  if (batch.classes !== undefined) return `the batch's dataset has ${batch.classes} classes (batch.classes)`;
  if (net?.numClasses !== undefined) return `opts.net.numClasses is ${net.numClasses}`;
  return `the network has NB201's ${NB201_DEFAULT.numClasses} classes by default; give the data's class count as batch.classes (proxyMinibatch's batches carry it) or opts.net.numClasses`;
}

/**
 * Scores one NAS-Bench-201 cell (an Nb201Cell or its arch string) on `batch`, its network built as
 * `opts.net` (nb201NetFor). Per-network proxies only: a population-level name (vote, ...) is refused.
 */
export async function scoreCell(
  backend: Backend,
  cell: Nb201Cell | string,
  proxyNames: readonly string[],
  batch: ProxyBatch,
  opts: ScoreOptions = {},
): Promise<CellScores> {
  checkPerNetwork(proxyNames, 'scoreCell');
  const c = typeof cell === 'string' ? parseArch(cell) : cell;
  if (!Array.isArray(c?.edges))
    throw new TypeError(`scoreCell: cell must be an Nb201Cell (parseArch's) or an arch string, got ${JSON.stringify(cell)}`);
  const net = nb201NetFor(batch, opts.net);
  checkLabels(batch.y, net.numClasses, 'scoreCell', classesAdvice(batch, opts.net));
  return scoreNet(backend, nb201Factory(backend, c, net), proxyNames, batch, opts.seed ?? 0, opts.init);
}

export interface ZeroShotOptions {
  batchSize: number;
  seed: number;
  /** The networks; numClasses as scoreCell's opts.net (the batch's dataset's where left out). */
  net: Nb201NetOptions;
  /**
   * Architectures whose passes run together (groupable proxies only: WRCor, NASWOT, params, flops).
   * 'auto': as many as the adapter's memory holds (group-size.ts), 1 on software adapters and the CPU.
   */
  group?: number | 'auto';
  /**
   * How a group runs: 'separate' (default) builds each network and runs its passes one network
   * after another; 'stacked' runs the group as ONE channel-stacked network (src/nn/nb201-stacked.ts):
   * about one network's dispatches per group, at ~k times the convolution FLOPs (every op some
   * network puts on an edge runs for all) and memory (--group auto packs groups by it: stacked-memory.ts).
   */
  groupMode?: GroupMode;
  /** The minibatch to score on (a --dataset's); default: the bundled CIFAR-10 subset's, drawn by `seed`. */
  batch?: ProxyBatch;
  /**
   * Initialisation of the networks ('pytorch', the default: the PyTorch reference scores'; 'kaiming':
   * kaiming-normal, AZ-NAS's and VKDNW's code; 'gaussian': N(0, 1) weights, SWAP's code). VKDNW and
   * Zen keep the init their definitions fix.
   */
  init?: InitMode;
  /** 'gaussian': N(0, 1) images instead of the batch's (drawn from `seed`); default 'data'. */
  inputs?: ProxyInputs;
  /** The share of the device's memory 'auto' sizes groups for (default 1; 1/N for N processes). */
  memoryShare?: number;
}

export const ZERO_SHOT_DEFAULTS: ZeroShotOptions = {
  batchSize: 64,
  seed: 0,
  net: { channels: NB201_DEFAULT.channels, cellsPerStage: NB201_DEFAULT.cellsPerStage },
};

export interface ScoredCell {
  arch: string;
  scores: Record<string, number>;
  timeMs: number;
}

/** Names to compute for a requested list (an aggregator expands to its members, 'all' to everything). */
export function expandProxyNames(names: readonly string[], fn = 'expandProxyNames'): string[] {
  return resolveProxies(names, fn).map((p) => p.name);
}

/** True when the request asks for the vote (by name or through 'all'). */
export function wantsVote(names: readonly string[]): boolean {
  return requestedAggregators(names).some((a) => a.name === 'vote');
}

export class ZeroShotScorer {
  readonly batch: ProxyBatch;
  readonly proxies: string[];
  /** The networks scored: opts.net with the batch's class count (nb201NetFor). */
  readonly net: Nb201NetConfig;
  constructor(
    readonly backend: Backend,
    proxyNames: readonly string[],
    readonly opts: ZeroShotOptions = ZERO_SHOT_DEFAULTS,
  ) {
    this.proxies = expandProxyNames(proxyNames, 'ZeroShotScorer');
    this.batch = withInputs(opts.batch ?? proxyBatch(opts.batchSize, opts.seed), opts.inputs ?? 'data', opts.seed);
    this.net = nb201NetFor(this.batch, opts.net, 'ZeroShotScorer');
    checkLabels(this.batch.y, this.net.numClasses, 'ZeroShotScorer', classesAdvice(this.batch, opts.net));
  }

  /** The group size 'auto' settled on (after the first architecture), if asked for 'auto'. */
  private autoGroup: number | undefined;
  /** Most cells in a packed stacked group: MAX_AUTO_GROUP until a group runs out of GPU memory. */
  private stackedCap = MAX_AUTO_GROUP;
  /** Cells in the group scored last (the one that failed, where scoring threw). */
  lastGroupCells = 0;
  private peak: PoolPeak = NO_POOL_PEAK;

  /**
   * The backend pool's largest figures after any pass of this scorer (the process's memory: the
   * pool keeps the largest working set it met). Read after each pass: the pool holds no more in
   * between, and its peak in use is kept across a probe's resetPeak.
   */
  get poolPeak(): PoolPeak {
    return this.peak;
  }

  private notePool(): void {
    const s = this.backend.stats();
    this.peak = {
      peakBytesInUse: Math.max(this.peak.peakBytesInUse, s.peakBytesInUse),
      peakBytesAllocated: Math.max(this.peak.peakBytesAllocated, s.bytesAllocated),
    };
  }

  /**
   * Stacked groups keep the last group's idle buffers for the next (most sizes recur) until a group
   * runs out of memory beside them: from then on every idle buffer goes back before each group.
   */
  releasesAllBetweenGroups = false;

  /**
   * After a group of `cells` ran out of GPU memory (its tensors are disposed by then): gives the
   * pool's buffers back to the driver and keeps 'auto' at half that group from now on (scores do
   * not depend on the group). Returns the new size.
   */
  /** Waits for the work submitted and gives every idle pooled buffer back to the driver (where the backend pools). */
  async releaseIdleBuffers(): Promise<void> {
    await (this.backend.trimPool?.() ?? this.backend.sync());
  }

  async shrinkAfterOom(cells: number): Promise<number> {
    await this.releaseIdleBuffers();
    const to = Math.max(1, Math.floor(cells / 2));
    this.autoGroup = Math.min(this.autoGroup ?? to, to);
    this.stackedCap = Math.min(this.stackedCap, to);
    return to;
  }

  /** Architectures per group: the option, or what 'auto' settled on (1 until then). */
  get groupSize(): number {
    const g = this.opts.group ?? 1;
    return g === 'auto' ? (this.autoGroup ?? 1) : g;
  }

  /** True when 'auto' settles on one architecture per pass without measuring: the device gains nothing from groups. */
  get autoRunsAlone(): boolean {
    return this.opts.group === 'auto' && groupDevice(this.backend).noGain;
  }

  /** True while 'auto' still has to measure an architecture's working set (not for stacked groups: packed). */
  get needsProbe(): boolean {
    return (
      this.opts.group === 'auto' &&
      this.autoGroup === undefined &&
      !this.packsStacked &&
      !groupDevice(this.backend).noGain &&
      this.groupable
    );
  }

  /**
   * --group auto with --group-mode stacked: groups of consecutive cells packed to the memory budget
   * by their plan's estimate (stackedGroups), not one size for all.
   */
  get packsStacked(): boolean {
    return this.opts.group === 'auto' && this.opts.groupMode === 'stacked' && this.groupable && !groupDevice(this.backend).noGain;
  }

  /** The budget stacked groups are packed to: the device's (group-size.ts) times opts.memoryShare. */
  get stackedBudgetBytes(): number {
    return (this.opts.memoryShare ?? 1) * memoryBudgetBytes(groupDevice(this.backend));
  }

  /**
   * [start, end) of each stacked group over `cells` (packsStacked): the longest runs of
   * consecutive cells whose estimated bytes (stackedGroupBytes) fit stackedBudgetBytes, up to
   * MAX_AUTO_GROUP (half the last group that ran out of memory, after shrinkAfterOom). Depends on the cells, network, batch, proxies and budget only, so a resumed run
   * given the whole selection gets the first run's boundaries. Found as they are consumed (each
   * cell planned when a group first reaches it).
   */
  stackedGroups(cells: readonly Nb201Cell[], budgetBytes = this.stackedBudgetBytes): Iterable<[number, number]> {
    const { limits } = this.backend;
    const o = {
      backward: resolveProxies(this.proxies).some((p) => p.unit.needs.backward),
      arenaBytes: Math.min(DEFAULT_ARENA_BYTES, limits.maxTensorBytes),
      maxBatchedLayers: limits.maxBatchedLayers,
    };
    const plans: CellPlan[] = [];
    const planOf = (i: number) => (plans[i] ??= planCell(cells[i], this.net.unfedEdges ?? 'skip'));
    const bytes = (a: number, b: number) =>
      stackedPlansBytes(
        Array.from({ length: b - a }, (_, k) => planOf(a + k)),
        this.net,
        this.batch.n,
        o,
      );
    return packedGroups(cells.length, bytes, budgetBytes, this.stackedCap);
  }

  private get groupable(): boolean {
    return this.proxies.every((p) => GROUPABLE_PROXIES.has(p));
  }

  /** True when `score many` can batch architectures (every requested proxy is groupable and group > 1). */
  get grouped(): boolean {
    return this.groupSize > 1 && this.groupable;
  }

  /**
   * Scores one architecture alone and settles 'auto' from the buffer pool's peak while it ran
   * (the working set one architecture adds), so the next groups fit the adapter's memory.
   */
  async probe(cell: Nb201Cell): Promise<ScoredCell> {
    const base = this.backend.stats().bytesInUse;
    this.backend.resetPeak();
    const r = await this.score(cell);
    const perArch = this.backend.stats().peakBytesInUse - base;
    this.autoGroup = autoGroupSize(groupDevice(this.backend), perArch, this.opts.memoryShare ?? 1);
    return r;
  }

  /** Scores cells, `opts.group` architectures per batched pass when the proxies allow. */
  async scoreMany(cells: readonly Nb201Cell[]): Promise<ScoredCell[]> {
    this.lastGroupCells = cells.length;
    if (!this.grouped && !this.packsStacked) {
      const out: ScoredCell[] = [];
      for (const c of cells) out.push(await this.score(c));
      return out;
    }
    const t0 = performance.now();
    const { backend, proxies, batch, net } = this;
    const { seed, init } = this.opts;
    const rs =
      this.opts.groupMode === 'stacked'
        ? await scoreNetsStacked(backend, nb201StackedFactory(backend, cells, net), proxies, batch, seed, init)
        : await scoreNetsGrouped(
            backend,
            cells.map((c) => nb201Factory(backend, c, net)),
            proxies,
            batch,
            seed,
            init,
          );
    const each = (performance.now() - t0) / Math.max(1, cells.length);
    this.notePool();
    return rs.map((r, i) => ({ arch: formatArch(cells[i]), scores: r.scores, timeMs: each }));
  }

  async score(cell: Nb201Cell): Promise<ScoredCell> {
    this.lastGroupCells = 1;
    const t0 = performance.now();
    const { seed, init } = this.opts;
    const r = await scoreCell(this.backend, cell, this.proxies, this.batch, { net: this.net, seed, init });
    const timeMs = performance.now() - t0;
    this.notePool();
    return { arch: formatArch(cell), scores: r.scores, timeMs };
  }
}

/**
 * Scores selection[from..] in order; after each architecture (or group) `onRows` gets its rows (to stream them
 * to a file, so a killed run keeps what it finished; awaited, so a caller may store them before the next
 * group runs) and `onProgress` hears how far it is. Rows come only from groups whose work all ran: the
 * GPU's errors (out of memory, validation, a lost device) are thrown by the reads the scores come from.
 * A group of --group auto that runs out of GPU memory is scored again at half the size (kept from then
 * on), said through `onNote` (a stacked group beside idle buffers kept from the last group: first at
 * the same size, every idle buffer returned; see scoreOrShrink); at one cell, or with a fixed
 * --group, the error is thrown.
 */
export async function scoreAll(
  scorer: ZeroShotScorer,
  selection: readonly Nb201Cell[],
  onProgress?: (done: number, total: number, msPerArch: number) => void,
  onRows?: (rows: ScoredCell[]) => unknown,
  from = 0,
  onNote?: (line: string) => void,
): Promise<ScoredCell[]> {
  const rows: ScoredCell[] = [];
  const done = async (rs: ScoredCell[], total: number) => {
    rows.push(...rs);
    await onRows?.(rs);
    onProgress?.(rows.length, total, rs[0].timeMs);
  };
  if (scorer.packsStacked) {
    // Boundaries over the whole selection: a resume (from > 0) finishes its group, then keeps them.
    // After a group runs out of memory they are packed again from its first cell, at the smaller cap.
    let base = 0;
    let pos = from;
    for (let repack = true; repack;) {
      repack = false;
      for (const [a0, b0] of scorer.stackedGroups(selection.slice(base))) {
        const [a, b] = [a0 + base, b0 + base];
        if (b <= pos) continue;
        const group = selection.slice(Math.max(a, pos), b);
        // Each group's tensors follow its cells: idle buffers the last group did not use are
        // returned (the driver has them back before this group allocates), those it used are kept
        // for this one, unless a group ran out of memory beside them (then all go back).
        const idle = () => {
          const { bytesAllocated, bytesInUse } = scorer.backend.stats();
          return bytesAllocated - bytesInUse;
        };
        if (idle() > 0) await scorer.backend.trimPool?.({ keepRecent: !scorer.releasesAllBetweenGroups });
        const held = scorer.backend.trimPool ? idle() : 0; // what a retry could return
        const rs = await scoreOrShrink(scorer, group, onNote, held);
        if (!rs) {
          base = pos = Math.max(a, pos);
          repack = true;
          break;
        }
        await done(rs, selection.length - from);
        pos = b;
      }
    }
    return rows;
  }
  const cells = selection.slice(from);
  let start = 0;
  if (scorer.needsProbe && cells.length > 0) {
    const probed = await scorer.probe(cells[0]);
    // Streamed like every group's rows: a file written from onRows must start with this one.
    await done([probed], cells.length);
    start = 1;
  }
  for (let i = start; i < cells.length;) {
    const group = cells.slice(i, i + (scorer.grouped ? scorer.groupSize : 1));
    const rs = await scoreOrShrink(scorer, group, onNote);
    if (!rs) continue; // the same cells again, in smaller groups
    await done(rs, cells.length);
    i += group.length;
  }
  return rows;
}

/**
 * Scores a group; null where --group auto's group ran out of GPU memory (score it again): beside
 * `idleBytes` of the pool's idle buffers kept from the last stacked group, at the same size with
 * every idle buffer returned from now on; else at half the size.
 */
async function scoreOrShrink(
  scorer: ZeroShotScorer,
  group: readonly Nb201Cell[],
  onNote?: (line: string) => void,
  idleBytes = 0,
): Promise<ScoredCell[] | null> {
  try {
    return await scorer.scoreMany(group);
  } catch (e) {
    if (!(e instanceof GpuOutOfMemoryError) || scorer.opts.group !== 'auto') throw e;
    if (idleBytes > 0 && !scorer.releasesAllBetweenGroups) {
      scorer.releasesAllBetweenGroups = true;
      await scorer.releaseIdleBuffers();
      const mib = (idleBytes / 2 ** 20).toFixed(1);
      onNote?.(
        `note: out of GPU memory at a group of ${group.length} cells beside ${mib} MiB of idle buffers kept from the last group; the same group again, with idle buffers returned before each group from now on`,
      );
      return null;
    }
    if (group.length <= 1) throw e;
    const to = await scorer.shrinkAfterOom(group.length);
    onNote?.(`note: out of GPU memory at a group of ${group.length} cells; going on with ${to}`);
    return null;
  }
}

/**
 * Adds the requested population-level scores (aggregators named in `names`, or all with 'all') to
 * each row. Per-network names in `names` are passed over (the rows carry them); an unknown name
 * throws UnknownProxyError, and a row without a score of a requested aggregator's member throws
 * one line naming both, before any row changes.
 */
export function addAggregates(rows: ScoredCell[], names: readonly string[]): void {
  resolveProxies(names, 'addAggregates');
  const aggs = requestedAggregators(names, 'addAggregates');
  for (const a of aggs) {
    for (const m of a.members) {
      const i = rows.findIndex((r) => typeof r.scores?.[m] !== 'number');
      if (i >= 0)
        throw new RangeError(
          `addAggregates: '${a.name}' needs a '${m}' score on every row; row ${i} (${rows[i].arch}) has none: score the rows with ['${a.name}'] (its members ${a.members.join(', ')})`,
        );
    }
  }
  for (const a of aggs) {
    if (!rows.length) continue;
    const v = a.aggregate(rows.map((r) => r.scores));
    rows.forEach((r, i) => (r.scores[a.name] = v[i]));
  }
}

/** Adds the population-level 'vote' score to each row (needs the vote members). */
export function addVote(rows: ScoredCell[]): void {
  addAggregates(rows, ['vote']);
}
