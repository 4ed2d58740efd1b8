/**
 * `score --kernel-profile FILE`: which passes of a run the profile covers. It leaves out the
 * warm-up passes (the first pass, or where --group auto probes one architecture alone, the probe
 * and the first group): they compile the pipelines, which a long run does not. A run with no pass
 * left after them is still profiled, from its last pass on, unwarmed: the file's `warmedUp: false`
 * and the summary line say so (a profile asked for is always written when anything was scored).
 */
import type { Backend } from '../backend/index.js';
import type { Nb201Cell } from '../spaces/nb201.js';
import type { PoolPeak, ZeroShotScorer } from '../zeroshot/index.js';
import { kernelProfileLine, kernelProfileReport, writeKernelProfile } from './kernel-profile.js';
import type { Io } from './run.js';

export class ScoreProfile {
  private on = false;
  /** Architectures scored before the profile started, and while it ran. */
  private warmup = 0;
  private archs = 0;
  private calls = 0;
  private warmedUp = true;
  /** Passes that warm up: the probe (when there is one) and the first group. */
  private readonly warmupCalls: number;

  /** `cells`: the whole selection; `from`: the rows a resume keeps (scoreAll's arguments). */
  constructor(
    readonly path: string,
    private readonly backend: Backend,
    private readonly scorer: ZeroShotScorer,
    private readonly cells: readonly Nb201Cell[],
    private readonly from: number,
  ) {
    this.warmupCalls = scorer.needsProbe ? 2 : 1;
    // A run of one pass has nothing to warm up with: profiled whole.
    if (this.passesLeft(0) === 1) this.start(false);
  }

  /** After each pass (scoreAll's onRows): counts it, and starts the profile after the warm-up. */
  passed(rows: number): void {
    if (this.on) {
      this.archs += rows;
      return;
    }
    this.warmup += rows;
    this.calls++;
    const left = this.passesLeft(this.warmup);
    if (left === 0) return;
    if (this.calls >= this.warmupCalls) this.start(true);
    // The probe was the only warm-up there is room for: the last group, its pipelines cold.
    else if (left === 1) this.start(false);
  }

  /** Writes the file (with the run's pool peak) and says so in one line (or why nothing was written). */
  async finish(settings: Record<string, unknown>, io: Io, pool: PoolPeak): Promise<void> {
    if (!this.on) {
      io.err('kernel profile: not written, no architecture was left to score\n');
      return;
    }
    const report = {
      ...kernelProfileReport('score', { ...settings, warmupArchs: this.warmup }, this.archs, await this.backend.stopProfile()),
      warmedUp: this.warmedUp,
      pool,
    };
    writeKernelProfile(this.path, report);
    io.err(kernelProfileLine(report, this.path));
  }

  private start(warmedUp: boolean): void {
    this.backend.startProfile();
    this.on = true;
    this.warmedUp = warmedUp;
  }

  /**
   * The passes left once `done` more architectures are scored, counted up to 2 (enough to decide):
   * stacked auto groups by their boundaries over the whole selection (as scoreAll finds them), a
   * probe and the groups after it, or groups of the scorer's size.
   */
  private passesLeft(done: number): number {
    const at = this.from + done;
    const todo = this.cells.length - at;
    if (todo <= 0) return 0;
    const s = this.scorer;
    if (s.packsStacked) {
      let n = 0;
      for (const [, end] of s.stackedGroups(this.cells)) if (end > at && ++n === 2) break;
      return n;
    }
    if (s.needsProbe) return Math.min(2, todo);
    return Math.min(2, Math.ceil(todo / (s.grouped ? s.groupSize : 1)));
  }
}
