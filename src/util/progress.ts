/**
 * The one progress bar. On a terminal it redraws one line (at most ~10 times a second) with count,
 * rate and ETA, and `log` prints a line above it. When the stream is not a terminal it stays quiet
 * (pipes and files get the results, not redraws) unless asked for a plain line every ~5% (`lines`),
 * and `quiet` silences it altogether. The caller supplies the stream: library code never prints.
 */

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Clock in ms (tests inject one). */
  now?: () => number;
  /** Minimum ms between terminal redraws. */
  redrawMs?: number;
  /** Print nothing (--quiet). */
  quiet?: boolean;
  /** Not a terminal: print a plain line every ~5% and a summary (for logs). Default: print nothing. */
  lines?: boolean;
  /** Items already done when the bar starts (a resumed run): counted, but not in the rate. */
  initial?: number;
  /** With `lines`: at least this many ms between two lines (the summary is always printed). */
  lineMs?: number;
  /** What is counted: items (count/total, it/s) or bytes (MiB, MiB/s: a download). Default items. */
  unit?: 'items' | 'bytes';
}

/** What the commands show in a log file: a line per 5%, at most one per 30 s, so short runs stay short. */
export const LOG_LINES = { lines: true, lineMs: 30_000 } as const;

/** Terminal width to draw in; a 0-column or unknown terminal gets 80. */
const widthOf = (s: ProgressStream) => (s.columns && s.columns > 0 ? s.columns : 80);
const CLEAR = '\r\x1b[2K';

/** Where a line may start on `s`: on a terminal, the bar's line (and anything echoed onto it, ^C) cleared first. */
export function lineStart(s: ProgressStream): string {
  return s.isTTY ? CLEAR : '';
}

export class Progress {
  private count: number;
  private initial: number;
  private t0: number;
  private lastDraw = -Infinity;
  private lastStep = -1;
  private lastLine = -Infinity;
  private readonly lineMs: number;
  private drawn = false;
  private info = '';
  private finished = false;
  private readonly now: () => number;
  private readonly redrawMs: number;
  private readonly mode: 'tty' | 'lines' | 'off';
  private readonly bytes: boolean;

  constructor(
    readonly total: number,
    readonly label: string,
    private readonly stream: ProgressStream,
    opts: ProgressOptions = {},
  ) {
    if (!Number.isFinite(total) || total < 0) throw new RangeError(`Progress: total must be a finite number >= 0, got ${total}`);
    this.now = opts.now ?? (() => performance.now());
    this.redrawMs = opts.redrawMs ?? 100;
    this.lineMs = opts.lineMs ?? 0;
    this.initial = this.count = opts.initial ?? 0;
    this.bytes = opts.unit === 'bytes';
    this.mode = opts.quiet ? 'off' : stream.isTTY ? 'tty' : opts.lines ? 'lines' : 'off';
    this.t0 = this.now();
  }

  /** Items done so far. */
  get current(): number {
    return this.count;
  }

  /**
   * `count` items are done, though not by this run (a resumed search replayed them from its file):
   * they count like `initial`, the clock restarts, and the rate and ETA measure what follows.
   */
  rebase(count: number): void {
    this.initial = this.count = count;
    this.t0 = this.now();
  }

  tick(n = 1, info?: string): void {
    this.update(this.count + n, info);
  }

  /** Sets the count of items done (absolute). */
  update(count: number, info?: string): void {
    if (this.finished) return;
    this.count = count;
    if (info !== undefined) this.info = info;
    const t = this.now();
    if (this.mode === 'tty') {
      if (t - this.lastDraw >= this.redrawMs || this.count >= this.total) {
        this.lastDraw = t;
        this.draw(t);
      }
    } else if (this.mode === 'lines') {
      // One line per 5% step (and the last one), never more than one per step (nor per lineMs).
      const step = this.total > 0 ? Math.floor((Math.min(this.count, this.total) / this.total) * 20) : 20;
      if (step > this.lastStep && (step > 0 || this.count >= this.total) && t - this.lastLine >= this.lineMs) {
        this.lastStep = step;
        this.lastLine = t;
        this.stream.write(this.line(t) + '\n');
      }
    }
  }

  /** A message line, always printed: above the bar on a terminal, plain otherwise. */
  log(line: string): void {
    if (this.mode === 'tty' && this.drawn) {
      this.stream.write(`${CLEAR}${line}\n`);
      this.draw(this.now());
    } else this.stream.write(`${line}\n`);
  }

  /**
   * Prints the summary. `info` replaces the last info there: a per-item figure (the last
   * architecture's time) would read as the whole run's.
   */
  done(info?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (info !== undefined) this.info = info;
    if (this.mode === 'off') return;
    const t = this.now();
    const secs = (t - this.t0) / 1000;
    const rate = this.rate(t);
    const msg = `${this.label}: ${this.amount()} done in ${fmtDuration(secs)}${rate ? ` (${this.fmtRate(rate)})` : ''}${this.info ? ' ' + this.info : ''}`;
    this.stream.write(this.mode === 'tty' ? `${CLEAR}${msg}\n` : msg + '\n');
  }

  /**
   * Items per second done by this run (not the resumed `initial`) over this run's time; 0 until
   * this run has done one (a resumed run's first line has no rate, not "0 it/s").
   */
  private rate(t: number): number {
    const n = this.count - this.initial;
    const secs = (t - this.t0) / 1000;
    return n > 0 && secs > 0 ? n / secs : 0;
  }

  private line(t: number): string {
    const rate = this.rate(t);
    const pct = this.total > 0 ? (100 * this.count) / this.total : 100;
    const left = this.total - this.count;
    const eta = rate > 0 && left > 0 ? ` eta ${fmtDuration(left / rate)}` : '';
    return `${this.label}: ${this.amount()} (${pct.toFixed(0)}%)${rate ? ' ' + this.fmtRate(rate) : ''}${eta}${this.info ? ' ' + this.info : ''}`;
  }

  /** Done of total: '12/40', or '8.1/162.2 MiB' counting bytes. */
  private amount(): string {
    if (!this.bytes) return `${this.count}/${this.total}`;
    const mib = (n: number) => (n / 2 ** 20).toFixed(1);
    return `${mib(this.count)}/${mib(this.total)} MiB`;
  }

  private fmtRate(perSec: number): string {
    return this.bytes ? `${(perSec / 2 ** 20).toFixed(1)} MiB/s` : fmtRate(perSec);
  }

  private draw(t: number): void {
    const text = this.line(t);
    const cols = widthOf(this.stream);
    const barWidth = Math.max(0, Math.min(30, cols - text.length - 4));
    const frac = this.total > 0 ? Math.min(1, this.count / this.total) : 1;
    const filled = Math.round(frac * barWidth);
    const bar = barWidth > 0 ? `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ` : '';
    // One column short of the width: writing the last column makes some terminals wrap.
    this.stream.write(`${CLEAR}${`${bar}${text}`.slice(0, Math.max(1, cols - 1))}`);
    this.drawn = true;
  }
}

export function fmtDuration(secs: number): string {
  if (!Number.isFinite(secs)) return '?';
  if (secs < 59.5) return `${secs.toFixed(secs < 9.95 ? 1 : 0)}s`;
  const m = Math.floor(secs / 60);
  if (m < 60) return `${m}m${String(Math.floor(secs % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A positive, finite rate. */
function fmtRate(perSec: number): string {
  return perSec >= 1 ? `${perSec.toFixed(perSec < 10 ? 2 : 1)} it/s` : `${(1 / perSec).toFixed(2)} s/it`;
}
