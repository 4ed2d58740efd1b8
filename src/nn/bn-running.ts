/**
 * Batch-norm running statistics, as PyTorch keeps them: after every training step
 *   running_mean = (1 - m) running_mean + m batch_mean
 *   running_var  = (1 - m) running_var  + m batch_var * M / (M - 1)   (unbiased, M values per channel)
 * starting from mean 0, var 1; eval mode normalises with them (Tape's bnEval, the batchNormEval op).
 * Each BN's eps is its own (the tape's records and eval lookups carry it): the variance is recovered
 * from the batch's invStd with it, and eval mode's invStd = 1 / sqrt(running var + eps).
 *
 * The averages live on the host in f32 (what a weights file stores, so a resumed run continues
 * bit for bit); one step's batch statistics of every BN are read with one readMany (one round trip,
 * one staging buffer), with the step's loss where the trainer reads that too.
 */
import type { Backend, Tensor } from '../backend/index.js';
import type { BnBatchRecord, BnEvalStats } from './tape.js';

export interface BnRunningOptions {
  /** PyTorch's momentum (weight of the new batch): 0.1. */
  momentum?: number;
}

export interface BnRunning {
  mean: Float32Array;
  var: Float32Array;
}

export class BnRunningStats implements BnEvalStats {
  readonly momentum: number;
  private readonly stats = new Map<string, BnRunning>();
  /** Device copies for eval mode (mean, invStd at eps), dropped whenever the averages change. */
  private readonly device = new Map<string, { mean: Tensor; invStd: Tensor; eps: number }>();

  constructor(
    private readonly backend: Backend,
    opts: BnRunningOptions = {},
  ) {
    this.momentum = opts.momentum ?? 0.1;
    if (!(this.momentum > 0 && this.momentum <= 1)) throw new RangeError(`BN momentum must be in (0, 1], got ${this.momentum}`);
  }

  /** The averages of one BN (mean 0, var 1 before its first update). */
  get(name: string, channels: number): BnRunning {
    let s = this.stats.get(name);
    if (!s) {
      s = { mean: new Float32Array(channels), var: new Float32Array(channels).fill(1) };
      this.stats.set(name, s);
    }
    if (s.mean.length !== channels)
      throw new RangeError(`BN '${name}': running statistics have ${s.mean.length} channels, the layer has ${channels}`);
    return s;
  }

  /** Every BN's averages, by name (live arrays: do not modify). */
  entries(): Array<[string, BnRunning]> {
    return [...this.stats.entries()];
  }

  /** Folds one training step's batch statistics (Tape with bnBatchStats) into the averages: one read. */
  async update(records: readonly BnBatchRecord[]): Promise<void> {
    if (records.length === 0) return;
    this.fold(records, await this.backend.readMany(batchTensors(records)));
  }

  /**
   * Folds batch statistics read elsewhere: `values` are batchTensors(records)' values, in order (a
   * step that reads its loss too reads both with one readMany).
   */
  fold(records: readonly BnBatchRecord[], values: readonly Float32Array[]): void {
    if (values.length !== 2 * records.length)
      throw new RangeError(`BN fold: ${values.length} tensors read for ${records.length} batch norms (mean and invStd each)`);
    records.forEach((r, i) => {
      foldBatch(this.get(r.name, r.mean.size), values[2 * i], values[2 * i + 1], r.count, this.momentum, r.eps);
      this.drop(r.name);
    });
  }

  /** Eval mode (Tape bnEval): the running mean and 1 / sqrt(running var + eps) on the device. */
  statsFor(name: string, channels: number, eps: number): { mean: Tensor; invStd: Tensor } {
    let d = this.device.get(name);
    if (d && d.eps !== eps) {
      this.drop(name);
      d = undefined;
    }
    if (!d) {
      const s = this.stats.get(name);
      if (!s) throw new Error(`BN '${name}' has no running statistics (no training step ran through it)`);
      if (s.mean.length !== channels)
        throw new RangeError(`BN '${name}': running statistics have ${s.mean.length} channels, the layer has ${channels}`);
      const invStd = Float32Array.from(s.var, (v) => 1 / Math.sqrt(v + eps));
      d = { mean: this.backend.upload(s.mean, [channels]), invStd: this.backend.upload(invStd, [channels]), eps };
      this.device.set(name, d);
    }
    return d;
  }

  /** '<bn>.running_mean' / '<bn>.running_var' (the weights-file names, src/export/weights.ts). */
  toTensors(): Map<string, { shape: number[]; data: Float32Array }> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, s] of this.stats) {
      out.set(`${name}.running_mean`, { shape: [s.mean.length], data: Float32Array.from(s.mean) });
      out.set(`${name}.running_var`, { shape: [s.var.length], data: Float32Array.from(s.var) });
    }
    return out;
  }

  /** Restores averages written by toTensors(); other entries of `tensors` are ignored. */
  load(tensors: ReadonlyMap<string, { data: ArrayLike<number> }>): void {
    for (const [key, t] of tensors) {
      const m = /^(.*)\.running_mean$/.exec(key);
      if (!m) continue;
      const v = tensors.get(`${m[1]}.running_var`);
      if (!v || v.data.length !== t.data.length)
        throw new RangeError(`BN '${m[1]}': running_mean without a matching running_var`);
      this.stats.set(m[1], { mean: Float32Array.from(t.data), var: Float32Array.from(v.data) });
      this.drop(m[1]);
    }
  }

  private drop(name: string): void {
    const d = this.device.get(name);
    if (!d) return;
    d.mean.dispose();
    d.invStd.dispose();
    this.device.delete(name);
  }

  dispose(): void {
    for (const name of [...this.device.keys()]) this.drop(name);
  }
}

/** Every record's batch mean and invStd, in order: what fold() takes the values of. */
export function batchTensors(records: readonly BnBatchRecord[]): Tensor[] {
  return records.flatMap((r) => [r.mean, r.invStd]);
}

/**
 * One momentum update from a batch's mean and invStd = 1 / sqrt(biased var + eps) over `count`
 * values per channel (f64 arithmetic, f32 result: the stored precision).
 */
export function foldBatch(
  s: BnRunning,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  count: number,
  momentum: number,
  eps: number,
): void {
  // PyTorch's unbiased correction; one value per channel has no spread to correct.
  const unbias = count > 1 ? count / (count - 1) : 1;
  for (let c = 0; c < s.mean.length; c++) {
    const biased = Math.max(0, 1 / (invStd[c] * invStd[c]) - eps);
    s.mean[c] = (1 - momentum) * s.mean[c] + momentum * mean[c];
    s.var[c] = (1 - momentum) * s.var[c] + momentum * biased * unbias;
  }
}
