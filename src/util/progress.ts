/**
 * Progress bar for long loops. On a TTY it redraws one line (at most ~10 times a second) with count,
 * rate and ETA; otherwise (logs, CI) it prints a plain line every ~5% so logs stay short.
 */

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Clock in ms (tests inject one). */
  now?: () => number;
  /** Minimum ms between TTY redraws. */
  redrawMs?: number;
}

export class Progress {
  private count = 0;
  private readonly t0: number;
  private lastDraw = -Infinity;
  private lastStep = -1;
  private info = '';
  private finished = false;
  private readonly now: () => number;
  private readonly redrawMs: number;

  constructor(
    readonly total: number,
    readonly label: string,
    private readonly stream: ProgressStream = process.stderr,
    opts: ProgressOptions = {},
  ) {
    if (!Number.isFinite(total) || total < 0) throw new RangeError(`Progress: total must be a finite number >= 0, got ${total}`);
    this.now = opts.now ?? (() => performance.now());
    this.redrawMs = opts.redrawMs ?? 100;
    this.t0 = this.now();
  }

  /** Items ticked so far. */
  get current(): number {
    return this.count;
  }

  tick(n = 1, info?: string): void {
    if (this.finished) return;
    this.count += n;
    if (info !== undefined) this.info = info;
    const t = this.now();
    if (this.stream.isTTY) {
      if (t - this.lastDraw >= this.redrawMs || this.count >= this.total) {
        this.lastDraw = t;
        this.draw(t);
      }
    } else {
      // One line per 5% step (and the last one), never more than one per step.
      const step = this.total > 0 ? Math.floor((Math.min(this.count, this.total) / this.total) * 20) : 20;
      if (step > this.lastStep && (step > 0 || this.count >= this.total)) {
        this.lastStep = step;
        this.stream.write(this.line(t) + '\n');
      }
    }
  }

  done(): void {
    if (this.finished) return;
    this.finished = true;
    const t = this.now();
    const secs = (t - this.t0) / 1000;
    const msg = `${this.label}: ${this.count}/${this.total} done in ${fmtDuration(secs)} (${fmtRate(this.count / secs)})${this.info ? ' ' + this.info : ''}`;
    this.stream.write(this.stream.isTTY ? `\r\x1b[2K${msg}\n` : msg + '\n');
  }

  private line(t: number): string {
    const secs = (t - this.t0) / 1000;
    const rate = this.count / secs;
    const pct = this.total > 0 ? (100 * this.count) / this.total : 100;
    const left = this.total - this.count;
    const eta = rate > 0 && left > 0 ? ` eta ${fmtDuration(left / rate)}` : '';
    return `${this.label}: ${this.count}/${this.total} (${pct.toFixed(0)}%) ${fmtRate(rate)}${eta}${this.info ? ' ' + this.info : ''}`;
  }

  private draw(t: number): void {
    const text = this.line(t);
    const cols = this.stream.columns ?? 80;
    const barWidth = Math.max(0, Math.min(30, cols - text.length - 4));
    const frac = this.total > 0 ? Math.min(1, this.count / this.total) : 1;
    const filled = Math.round(frac * barWidth);
    const bar = barWidth > 0 ? `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ` : '';
    this.stream.write(`\r\x1b[2K${bar}${text}`.slice(0, cols + 6));
  }
}

export function fmtDuration(secs: number): string {
  if (!Number.isFinite(secs)) return '?';
  if (secs < 59.5) return `${secs.toFixed(secs < 9.95 ? 1 : 0)}s`;
  const m = Math.floor(secs / 60);
  if (m < 60) return `${m}m${String(Math.floor(secs % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function fmtRate(perSec: number): string {
  if (!Number.isFinite(perSec)) return '? it/s';
  if (perSec <= 0) return '0 it/s';
  return perSec >= 1 ? `${perSec.toFixed(perSec < 10 ? 2 : 1)} it/s` : `${(1 / perSec).toFixed(2)} s/it`;
}
