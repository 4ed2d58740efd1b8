/**
 * `search --space-file ... --evaluated FILE`: the cell-space search's evaluations streamed to FILE
 * as they finish and replayed on --resume, as the NAS-Bench-201 search's are (the seeded strategy,
 * fed the recorded scores, retraces its proposals, so its RNG and population end where they were),
 * with the settings the rows depend on (the space file by the hash of its content). Cells priced on
 * this CPU for --max-latency-ms come out some percent apart from one timing to the next, and the
 * ceiling could then decide otherwise on a resume: their prices are recorded in FILE's settings
 * record when measured, and a resume uses those.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { DeviceKind } from '../backend/index.js';
import { ReplayLog, type Row, rowNumber, type RowStream, RowStreamError, rowStreamFiles } from '../data/row-stream.js';
import { archCost, type CostModel } from '../mobilenet/cost/model.js';
import { archMadds } from '../mobilenet/madds.js';
import type { CellSpace } from '../mobilenet/space.js';
import { sha256Hex } from '../util/durable.js';
import type { RunSettings } from '../util/run-settings.js';
import { UsageError } from './args.js';
import { streamRecord } from './resume-settings.js';
import type { GpuKernels } from './device.js';
import type { Io } from './run.js';
import { openEvaluatedRows, strategySettings } from './search-report.js';
import type { ValuesOf } from './spec.js';
import type { SEARCH_CELLS_OPTIONS } from './specs/search.js';

type CellsValues = ValuesOf<typeof SEARCH_CELLS_OPTIONS>;

/** A file in the settings: what it is and the SHA-256 of its bytes (its place may change on a resume). */
function contentId(what: string, path: string): string {
  return `${what}, sha256 ${sha256Hex(readFileSync(path)).slice(0, 12)}`;
}

/** What the rows depend on, keyed by flag (--budget may grow; --train-steps and --out act after the search). */
function cellsSettings(v: CellsValues, space: CellSpace, device: DeviceKind): RunSettings {
  const ceiling = v['max-latency-ms'];
  const table = v['latency-table'];
  return {
    '--space-file': contentId(`${space.file.source} space`, v['space-file']!),
    ...strategySettings(v),
    '--budget-madds': v['budget-madds'] ?? null,
    '--min-madds': v['min-madds'] ?? null,
    '--max-latency-ms': ceiling ?? null,
    '--latency-table': table ? contentId('latency table', table) : null,
    // The library that times the cells; the prices it gave are the run's state (recordPrices).
    '--backend': ceiling !== undefined && !table ? v.backend : null,
    '--device': device,
    '--dataset': v.dataset,
  };
}

/** Cells priced on this CPU as a run recorded them: the cost model, and where and when it was timed. */
export interface RecordedPrices {
  cost: CostModel;
  host: string;
  /** ISO time of the timing. */
  at: string;
}

const PRICES_KEY = 'cellPrices';

const isPrice = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

/** `r` as prices recorded for `space` (each cell of each layer priced), else null. */
function fittingPrices(r: unknown, space: CellSpace): RecordedPrices | null {
  const p = r as Partial<RecordedPrices> | null;
  const c = p?.cost;
  const sizes = space.cells.map((x) => x.length);
  const ok =
    typeof p?.host === 'string' &&
    typeof p.at === 'string' &&
    c?.unit === 'ms' &&
    c.source === 'measured' &&
    isPrice(c.fixed) &&
    Array.isArray(c.perPosition) &&
    c.perPosition.length === sizes.length &&
    c.perPosition.every((row, b) => Array.isArray(row) && row.length === sizes[b] && row.every(isPrice));
  return ok ? (p as RecordedPrices) : null;
}

/** Whether `file` is a row stream's settings file (an --evaluated FILE.settings.json), by its content. */
export function isSettingsFile(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { format?: unknown })?.format === 'wgnas-row-stream';
  } catch {
    return false;
  }
}

/**
 * The cell prices an earlier search recorded in its --evaluated FILE.settings.json (`file`), for
 * `space`: a fresh run prices the cells as that one did instead of timing them anew (the timings
 * move by some percent, and a run near the ceiling would decide otherwise). Throws one line naming
 * the file when it records none, or none of this space.
 */
export function recordedPricesIn(file: string, space: CellSpace): RecordedPrices {
  const state = (JSON.parse(readFileSync(file, 'utf8')) as { state?: Record<string, unknown> }).state;
  const r = state?.[PRICES_KEY];
  if (r === undefined)
    throw new UsageError(
      `--latency-table ${file} records no cell prices (its search ran without --max-latency-ms, or with a --latency-table)`,
    );
  const p = fittingPrices(r, space);
  if (!p) throw new UsageError(`--latency-table ${file}: its recorded cell prices are not of this --space-file's cells`);
  return p;
}

/** The columns of a row that hold numbers (checked on resume): the proxy's score and the time. */
const numberColumns = (proxy: string) => (r: Row) => [proxy, 'time_ms'].filter((c) => c in r);

/** --evaluated FILE of a cell-space search (see the file comment). */
export class CellsLog {
  private readonly replay: ReplayLog;

  constructor(
    private readonly stream: RowStream,
    private readonly space: CellSpace,
    private readonly proxy: string,
  ) {
    this.replay = new ReplayLog(stream, 'choices');
  }

  /** FILE's row stream (its settings file records the run's provenance). */
  get rows(): RowStream {
    return this.stream;
  }

  /** Evaluations in FILE when it was opened. */
  get recorded(): number {
    return this.replay.recorded;
  }

  /** Evaluations handed back from FILE so far. */
  get replayed(): number {
    return this.replay.replayed;
  }

  /**
   * The prices a resumed run recorded, checked against the space (null when none were: a fresh
   * run, or one stopped before its first row). A priced run whose rows are there without them
   * cannot be continued as it ran.
   */
  prices(): RecordedPrices | null {
    const side = rowStreamFiles(this.stream.path).sidecar;
    const r = this.stream.state?.[PRICES_KEY];
    if (r === undefined) {
      if (this.recorded > 0)
        throw new RowStreamError(
          `--resume: ${side} records no cell prices for the ${this.recorded} evaluations in ${this.stream.path} (written without --max-latency-ms?); --force starts over`,
        );
      return null;
    }
    const p = fittingPrices(r, this.space);
    if (!p) throw new RowStreamError(`--resume: ${side}: the recorded cell prices do not fit the space (corrupt or hand-edited)`);
    return p;
  }

  /** Records the prices just measured (with this run's first rows, or at once on a resume). */
  recordPrices(cost: CostModel): RecordedPrices {
    const p: RecordedPrices = { cost, host: hostname(), at: cost.meta?.date ?? new Date().toISOString() };
    this.stream.recordState({ ...this.stream.state, [PRICES_KEY]: p });
    return p;
  }

  /**
   * searchCellSpace's `evaluate`: the recorded score while FILE replays (the proposal must be the
   * recorded one), else `compute`'s, appended as a row with its MAdds, its latency under `latency`
   * and the time it took.
   */
  evaluator(latency?: Pick<CostModel, 'unit' | 'fixed' | 'perPosition'>) {
    return async (choices: number[], compute: () => Promise<number>): Promise<number> => {
      const row = await this.replay.row(choices.join(','), async () => {
        const t0 = performance.now();
        const score = await compute();
        return {
          choices: choices.join(','),
          [this.proxy]: score,
          madds: archMadds(this.space, choices),
          ...(latency ? { latency_ms: archCost(latency, choices) } : {}),
          time_ms: Math.round(performance.now() - t0),
        };
      });
      // Replayed rows were checked when FILE was opened; CSV values are text.
      return rowNumber(row[this.proxy]);
    };
  }

  /** The search ended: fewer proposals than FILE's rows means a smaller --budget. */
  finish(budget: number): void {
    if (this.replayed < this.recorded)
      throw new UsageError(
        `--resume: ${this.stream.path} holds ${this.recorded} evaluations, this run made ${this.replayed} (smaller --budget than ${budget}?)`,
      );
    this.stream.finish();
  }

  close(): void {
    this.stream.close();
  }
}

/**
 * Opens --evaluated FILE (locked; on --resume its settings checked and its rows read), before the
 * cells are priced or the device starts. `data`: the minibatch's fingerprint; `threads`: the CPU
 * backend's (null on the GPU).
 */
export function openCellsLog(
  v: CellsValues & { evaluated: string },
  space: CellSpace,
  run: { device: DeviceKind; data: string; threads: number | null; f16: boolean; bn: GpuKernels },
  io: Io,
): CellsLog {
  const path = v.evaluated;
  const rec = streamRecord(path, v.resume, run.data, run.threads, { given: v['cpu-threads'] !== undefined, flag: '--evaluated' });
  const record = { settings: { ...cellsSettings(v, space, run.device), ...rec.settings }, unrecorded: rec.unrecorded };
  // No --redis with --space-file: a refusal's advice names no queue.
  const stream = openEvaluatedRows(path, record, v, io, numberColumns(v.proxy), run.f16, run.bn, false);
  return new CellsLog(stream, space, v.proxy);
}
