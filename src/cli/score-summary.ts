/**
 * What `wgnas score` says at the end besides the rows: their time without each process's first
 * pass, whose time_ms includes the process's one-time setup (the pool growing to its working set,
 * oneDNN's primitives or the GPU's pipelines created: 3-6 s against 0.25-0.5 s a cell on a server
 * CPU), so a mean over the file's time_ms column misleads; and the pool's peak, the memory each
 * process holds until it ends (zeroshot/process-memory.ts).
 */
import { fmtBytes, fmtMs, plural } from '../util/format.js';
import { maxPoolPeak, NO_POOL_PEAK, type PoolPeak } from '../zeroshot/process-memory.js';

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export class ScoreRunStats {
  private readonly setupMs: number[] = [];
  private readonly steadyMs: number[] = [];
  private peak: PoolPeak = NO_POOL_PEAK;

  /** `processes`: the processes scoring (--procs; each has a first pass). */
  constructor(private readonly processes = 1) {}

  /** A pass's cells' time_ms; `first`: its process's first pass (setup included). */
  pass(timesMs: readonly number[], first: boolean): void {
    (first ? this.setupMs : this.steadyMs).push(...timesMs);
  }

  /** A process's pool figures (the largest process's are reported). */
  pool(p: PoolPeak): void {
    this.peak = maxPoolPeak(this.peak, p);
  }

  get poolPeak(): PoolPeak {
    return this.peak;
  }

  /** The summary: '' when nothing was scored. */
  text(): string {
    if (!this.setupMs.length) return '';
    const s = this.setupMs.length;
    const first =
      this.processes > 1
        ? `each process's first pass ${fmtMs(mean(this.setupMs))} ms/cell (${plural(s, 'cell')}, setup included)`
        : s === 1
          ? `the first cell ${fmtMs(this.setupMs[0])} ms (one-time setup included)`
          : `the first pass ${fmtMs(mean(this.setupMs))} ms/cell (${s} cells, one-time setup included)`;
    const then = this.steadyMs.length
      ? `, then ${fmtMs(mean(this.steadyMs))} ms/cell over ${plural(this.steadyMs.length, 'cell')}`
      : '';
    const { peakBytesAllocated: held, peakBytesInUse: used } = this.peak;
    const per = this.processes > 1 ? ' per process (the largest; ' : ' (';
    const pool = held > 0 ? `; pool peak ${fmtBytes(held)} held${per}${fmtBytes(used)} in use)` : '';
    return `time_ms: ${first}${then}${pool}`;
  }
}
