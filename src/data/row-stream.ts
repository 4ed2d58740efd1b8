/**
 * Result rows streamed to a file as they are finished, and read back to resume.
 * - `.csv` (default) and `.jsonl`: each batch of rows is appended in one write and fsynced; a
 *   kill leaves at most one partial last line, dropped on resume.
 * - `.json`: rows stream to FILE.rows.jsonl and FILE is written atomically by finish().
 * A sidecar FILE.settings.json records the settings that produced the rows (keyed by CLI flag);
 * a resume with other settings is refused naming the flag (ResumeMismatchError, a usage error).
 * Beside them it may keep the run's state (recordState): what the run measured that a resume must
 * reuse rather than measure again (search --space-file's cell prices), and the run's provenance
 * (recordProvenance: the code, command line, device; never compared, a resume reads it back).
 * FILE.lock keeps two runs off one file. A symbolic link FILE is followed once: all of these sit
 * beside its target, and the link stays a link.
 * JSON has no Infinity or NaN: JSON and JSON-lines rows hold a non-finite number as the string
 * "Infinity", "-Infinity" or "NaN" (jsonRow), CSV as that text; cellNumber reads both back exactly
 * (and the null that older versions wrote for any non-finite number, as NaN).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import { parseCsvLines } from './csv.js';
import {
  acquireLock,
  cleanTempFiles,
  DurableAppender,
  killPoint,
  type LockHandle,
  type LockOwner,
  writeFileAtomic,
  followLinks,
  writeTarget,
} from '../util/durable.js';
import { UserFacingError } from '../util/errors.js';
import { checkRunSettings, ResumeMismatchError, type RunSettings } from '../util/run-settings.js';

export type RowValue = string | number | null | undefined;
export type Row = Record<string, RowValue>;
export type StreamSettings = RunSettings;
export type RowFormat = 'csv' | 'jsonl' | 'json';

/**
 * The files of a row stream at `path` as the stream itself places them: a link is followed, so the
 * settings record and the streamed rows sit beside its target. Readers of an output's state before
 * the stream opens (the resume and interrupted-run checks) use this, so they never look beside the
 * link instead.
 */
export function rowStreamFiles(path: string): { target: string; sidecar: string; rows: string } {
  const target = followLinks(path);
  return { target, sidecar: `${target}.settings.json`, rows: `${target}.rows.jsonl` };
}

/** The lock file of a row stream whose rows go to `target` (links already followed). */
export const rowStreamLockPath = (target: string): string => `${target}.lock`;

/** A streamed file that cannot be read back (corrupt rows, an unreadable settings file). */
export class RowStreamError extends UserFacingError {
  override readonly name = 'RowStreamError';
}

export function rowFormatOf(path: string): RowFormat {
  if (/\.json$/i.test(path)) return 'json';
  if (/\.(jsonl|ndjson)$/i.test(path)) return 'jsonl';
  return 'csv';
}

/** A number JSON cannot hold (Infinity, -Infinity, NaN) as the string CSV writes for it; other values as they are. */
function jsonValue(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

/** A row (or rows, or any value) as JSON text, non-finite numbers as the strings "Infinity", "-Infinity", "NaN". */
export function jsonRow(row: unknown, indent?: number): string {
  return JSON.stringify(row, jsonValue, indent);
}

/** Non-finite numbers in text, in any case: JavaScript's spelling and Python's (inf, -inf, nan). */
const NON_FINITE = new Map<string, number>([
  ['infinity', Infinity],
  ['+infinity', Infinity],
  ['-infinity', -Infinity],
  ['inf', Infinity],
  ['+inf', Infinity],
  ['-inf', -Infinity],
  ['nan', NaN],
]);

/** An empty cell: absent, or empty text (CSV's empty field). */
export function emptyCell(v: unknown): boolean {
  return v === undefined || (typeof v === 'string' && v.trim() === '');
}

/**
 * The number in a cell of a row read back, or undefined when it holds none (text such as 'abc', an
 * empty cell, a boolean, an object): a JSON number; the text of a number as CSV and JSON rows write
 * it, 'Infinity', '-Infinity' and 'NaN' included (in any case, and Python's inf / nan); null, which
 * JSON rows held for a non-finite number before they kept it as a string, is NaN.
 */
export function cellNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === null) return NaN;
  if (typeof v !== 'string' || emptyCell(v)) return undefined;
  const s = v.trim();
  const special = NON_FINITE.get(s.toLowerCase());
  if (special !== undefined) return special;
  const n = Number(s);
  return Number.isNaN(n) ? undefined : n;
}

/** A cell's number as read back (see cellNumber); an empty cell, or one with no number in it, is NaN. */
export const rowNumber = (x: unknown): number => cellNumber(x) ?? NaN;

/**
 * CSV text of rows (csv-stringify: fields with a comma, quote or newline are quoted, "" escapes).
 * A field with '|' is quoted too: NAS-Bench-201 arch strings have it, and spreadsheets that guess
 * the separator take '|' for one.
 */
function csvText(rows: readonly (readonly RowValue[])[]): string {
  return stringify(
    rows.map((r) => r.map((v) => (v === undefined || v === null ? '' : String(v)))),
    { quoted_match: /\|/, record_delimiter: '\n' },
  );
}

export function csvLine(columns: readonly string[], row: Row): string {
  return csvText([columns.map((c) => row[c])]);
}

/** Columns of a table: every key of every row, in first-seen order (as `wgnas score` always wrote). */
export function columnsOf(rows: readonly Row[]): string[] {
  return [...new Set(rows.flatMap((r) => Object.keys(r)))];
}

/** A whole table as text in `format` (CSV with a header row, JSON lines, or a JSON array). */
export function formatRows(format: RowFormat, rows: readonly Row[], columns = columnsOf(rows)): string {
  if (format === 'json') return jsonRow(rows, 2) + '\n';
  if (format === 'jsonl') return rows.map((r) => jsonRow(r) + '\n').join('');
  return csvText([columns, ...rows.map((r) => columns.map((c) => r[c]))]);
}

/** Complete lines of `text`: a last line without its newline is a write cut short, dropped. */
function completePart(text: string): { text: string; dropped: boolean } {
  const end = text.lastIndexOf('\n');
  return { text: text.slice(0, end + 1), dropped: end + 1 < text.length };
}

function readJsonLines(path: string, text: string): Row[] {
  return text
    .split('\n')
    .map((l, i) => ({ l, i }))
    .filter(({ l }) => l.trim() !== '')
    .map(({ l, i }) => {
      try {
        const r = JSON.parse(l) as unknown;
        if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new Error('not an object');
        return r as Row;
      } catch (e) {
        throw new RowStreamError(`${path}:${i + 1}: not a JSON row (${(e as Error).message}); the file is corrupt`);
      }
    });
}

export interface ReadRows {
  columns: string[];
  rows: Row[];
  /** A partial last line was dropped. */
  truncated: boolean;
}

/** Reads rows written by a RowStream (CSV values stay strings, as written). */
export function readStreamedRows(path: string, format: RowFormat): ReadRows {
  const { text, dropped } = completePart(readFileSync(path, 'utf8'));
  if (format === 'csv') {
    let table: ReturnType<typeof parseCsvLines>;
    try {
      table = parseCsvLines(text, path);
    } catch (e) {
      throw new RowStreamError((e as Error).message);
    }
    const [head, ...body] = table;
    if (!head) return { columns: [], rows: [], truncated: dropped };
    const header = head.fields;
    const rows = body.map(({ fields: r, line }) => {
      if (r.length !== header.length)
        throw new RowStreamError(`${path}:${line}: expected ${header.length} fields, got ${r.length}; the file is corrupt`);
      return Object.fromEntries(header.map((h, j) => [h, r[j]])) as Row;
    });
    return { columns: header, rows, truncated: dropped };
  }
  if (format === 'json') {
    let rows: unknown;
    try {
      rows = JSON.parse(text);
    } catch (e) {
      throw new RowStreamError(`${path}: not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(rows)) throw new RowStreamError(`${path}: expected a JSON array of rows`);
    return { columns: columnsOf(rows as Row[]), rows: rows as Row[], truncated: false };
  }
  const rows = readJsonLines(path, text);
  return { columns: columnsOf(rows), rows, truncated: dropped };
}

interface Sidecar {
  format: 'wgnas-row-stream';
  version: 1;
  settings: StreamSettings;
  complete: boolean;
  /** What the run recorded to be reused by a resume (recordState); absent when nothing. */
  state?: Record<string, unknown>;
  /** Where the rows came from (recordProvenance); absent in files of an earlier wgnas. */
  provenance?: Record<string, unknown>;
}

export interface RowStreamOptions {
  /** Settings that produced the rows, keyed by the CLI flag (compared on resume). */
  settings: StreamSettings;
  /** Keep the rows already in the file (their settings must match) and append after them. */
  resume?: boolean;
  /** Told when the file's lock was left by a dead run and is taken over. */
  onStaleLock?: (owner: LockOwner) => void;
  /** Kill-point name passed after each append (fault-injection tests). */
  killTag?: string;
  /** What a setting the saved run did not record meant then (e.g. '--device': 'gpu' before there was a CPU backend). */
  unrecorded?: StreamSettings;
  /**
   * What unrecorded settings meant where the file itself tells (its recorded settings and
   * provenance, e.g. the GPU adapter kind: src/util/kernels-record.ts); over `unrecorded`.
   */
  unrecordedOf?: (recorded: Readonly<StreamSettings>, provenance: unknown) => StreamSettings;
  /** The advice of a refused resume where such an unrecorded setting differs (when the old meaning may not be the whole story). */
  unrecordedAdvice?: Readonly<Record<string, string>>;
  /** The advice of a refused resume for a setting and its two values (undefined: the above, else the default). */
  settingAdvice?: (key: string, was: unknown, now: unknown) => string | undefined;
  /** The flag that names the file, for the advice of a refused resume (default '--out'; search's is '--evaluated'). */
  flag?: string;
}

/** An output file that rows are streamed into (see the file comment). */
export class RowStream {
  readonly format: RowFormat;
  /** Rows already in the file when it was opened with resume. */
  readonly done: Row[] = [];
  private columns: string[] | null = null;
  private appender: DurableAppender | null = null;
  private lock: LockHandle | null;
  private readonly sidecarPath: string;
  /** Where rows are appended: the file itself, or FILE.rows.jsonl for .json. */
  private readonly streamPath: string;
  /** The run's state kept in the sidecar: read back on resume, set by recordState. */
  private stateRecord: Record<string, unknown> | undefined;
  /** This run's provenance (recordProvenance), written with the settings. */
  private provenanceRecord: Record<string, unknown> | undefined;
  /** The provenance the resumed file recorded (undefined: a fresh stream, or a file written before it was recorded). */
  savedProvenance: Readonly<Record<string, unknown>> | undefined;

  /** The file the rows go to: the path given, or the target of a symbolic link there (the link stays). */
  readonly path: string;

  constructor(
    path: string,
    private readonly o: RowStreamOptions,
  ) {
    // The format is the one the name given asks for; the link (if it is one) is resolved once, so
    // the lock, the settings record and the temporaries sit beside the rows.
    this.format = rowFormatOf(path);
    this.path = path = writeTarget(path);
    this.sidecarPath = `${path}.settings.json`;
    this.streamPath = this.format === 'json' ? `${path}.rows.jsonl` : path;
    this.lock = acquireLock(rowStreamLockPath(path), { what: `output ${path}`, onStale: (w) => o.onStaleLock?.(w) });
    try {
      for (const p of [path, this.streamPath, this.sidecarPath]) cleanTempFiles(p);
      if (o.resume) this.openResume();
      else this.openFresh();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  private writeSidecar(complete: boolean): void {
    this.reopened = false;
    const s: Sidecar = { format: 'wgnas-row-stream', version: 1, settings: this.o.settings, complete };
    if (this.stateRecord) s.state = this.stateRecord;
    if (this.provenanceRecord) s.provenance = this.provenanceRecord;
    writeFileAtomic(this.sidecarPath, JSON.stringify(s, null, 1) + '\n');
  }

  /** False until a fresh stream replaced the old output (at its first append or finish). */
  private started = false;
  /**
   * A finished output opened to resume: marked unfinished at its first new row, so a resume refused
   * after opening it (a smaller --budget, a corrupt score) leaves it finished.
   */
  private reopened = false;

  /**
   * A fresh stream leaves an existing file alone until there is something to write (a run refused
   * or failing before its first row loses nothing). Old rows go first, then the new settings: a
   * kill in between leaves no rows to attribute to the wrong settings.
   */
  private start(): void {
    if (this.started) return;
    this.started = true;
    rmSync(this.path, { force: true });
    rmSync(this.streamPath, { force: true });
    this.writeSidecar(false);
  }

  private openFresh(): void {
    this.started = false;
  }

  private openResume(): void {
    const haveRows = existsSync(this.streamPath) || existsSync(this.path);
    if (!existsSync(this.sidecarPath)) {
      if (haveRows)
        throw new ResumeMismatchError(
          `--resume: ${this.path} has no ${this.sidecarPath} (not written by a streaming run): cannot tell its settings; use another ${this.o.flag ?? '--out'}`,
        );
      this.writeSidecar(false);
      this.started = true;
      return;
    }
    let side: Sidecar;
    try {
      side = JSON.parse(readFileSync(this.sidecarPath, 'utf8')) as Sidecar;
    } catch (e) {
      throw new RowStreamError(`${this.sidecarPath}: not valid JSON (${(e as Error).message})`);
    }
    if (side?.format !== 'wgnas-row-stream' || typeof side.settings !== 'object' || side.settings === null) {
      throw new RowStreamError(`${this.sidecarPath}: not a wgnas row-stream settings file`);
    }
    const recorded = side.settings as StreamSettings;
    const state = (side as { state?: unknown }).state;
    if (state !== undefined && (typeof state !== 'object' || state === null || Array.isArray(state)))
      throw new RowStreamError(`${this.sidecarPath}: 'state' is not an object (corrupt or hand-edited)`);
    const prov = (side as { provenance?: unknown }).provenance;
    const told = this.o.unrecordedOf?.(recorded, prov);
    checkRunSettings({ ...this.o.unrecorded, ...told, ...recorded }, this.o.settings, {
      where: ` in ${this.path}`,
      advice: `resume with its settings or write another ${this.o.flag ?? '--out'}`,
      adviceFor: (k, was, now) =>
        this.o.settingAdvice?.(k, was, now) ?? (k in recorded ? undefined : this.o.unrecordedAdvice?.[k]),
    });
    this.started = true;
    this.stateRecord = state as Record<string, unknown> | undefined;
    // Never compared: a hand-edited or unreadable one is only not carried forward.
    if (typeof prov === 'object' && prov !== null && !Array.isArray(prov)) this.savedProvenance = prov as Record<string, unknown>;
    const source = existsSync(this.streamPath) ? this.streamPath : existsSync(this.path) ? this.path : null;
    if (source === null) return;
    const fmt: RowFormat = source === this.streamPath && this.format === 'json' ? 'jsonl' : this.format;
    const read = readStreamedRows(source, fmt);
    this.done.push(...read.rows);
    if (read.rows.length || this.format === 'csv') this.columns = read.columns.length ? read.columns : null;
    if (this.format === 'json' && source === this.path) {
      // A finished .json: its rows move back into the stream file until the next finish().
      writeFileAtomic(this.streamPath, formatRows('jsonl', read.rows));
    } else if (read.truncated) {
      // Drop the partial last line for good before appending after it.
      writeFileAtomic(source, formatRows(fmt, read.rows, read.columns));
    }
    this.reopened = side.complete;
  }

  /**
   * False where a resumed CSV's header lacks `column` (a file from before it was written): rows
   * appended to it must leave it out. True for JSON rows, which need no header, and a fresh CSV.
   */
  takes(column: string): boolean {
    return this.format !== 'csv' || this.columns === null || this.columns.includes(column);
  }

  /** The state the resumed run recorded (recordState), or what this run recorded since; undefined when none. */
  get state(): Readonly<Record<string, unknown>> | undefined {
    return this.stateRecord;
  }

  /**
   * Records `state` beside the settings (replacing what was there): at once when the stream has
   * started (a resume), else with the first rows, so a fresh run that fails before them leaves the
   * old output alone. A resume reads it back (`state`).
   */
  recordState(state: Record<string, unknown>): void {
    this.stateRecord = state;
    if (this.started) this.writeSidecar(false);
  }

  /**
   * Records where the rows come from (the code, command line, device), beside the settings and
   * never compared with a resumed file's: at once on a resume (a finished file stays finished
   * until its first new row), else with the first rows.
   */
  recordProvenance(provenance: object): void {
    this.provenanceRecord = provenance as Record<string, unknown>;
    if (!this.started) return;
    const reopened = this.reopened;
    this.writeSidecar(reopened);
    this.reopened = reopened;
  }

  /** Appends rows (one write + fsync). The first rows of a fresh CSV fix its columns. */
  append(rows: readonly Row[]): void {
    if (!rows.length) return;
    this.start();
    if (this.reopened) this.writeSidecar(false);
    let text = '';
    if (this.format === 'csv') {
      if (this.columns === null) {
        this.columns = columnsOf(rows);
        text += csvText([this.columns]);
      }
      const extra = columnsOf(rows).filter((c) => !this.columns!.includes(c));
      if (extra.length) throw new RowStreamError(`${this.path}: row has column(s) ${extra.join(', ')} not in the file's header`);
      text += rows.map((r) => csvLine(this.columns!, r)).join('');
    } else text = rows.map((r) => jsonRow(r) + '\n').join('');
    this.appender ??= new DurableAppender(this.streamPath, 'the rows written before are kept (--resume continues after them)');
    this.appender.append(text);
    if (this.o.killTag) killPoint(this.o.killTag);
  }

  /**
   * Ends the stream. `finalRows` (all rows, e.g. with a population-level column added) replace the
   * file atomically; a .json file is always written here, and its stream file removed.
   */
  finish(finalRows?: readonly Row[]): void {
    this.start();
    this.appender?.close();
    this.appender = null;
    if (finalRows || this.format === 'json' || !existsSync(this.path)) {
      const rows = finalRows ?? (existsSync(this.streamPath) ? readStreamedRows(this.streamPath, 'jsonl').rows : []);
      writeFileAtomic(this.path, formatRows(this.format, rows));
      if (this.streamPath !== this.path) rmSync(this.streamPath, { force: true });
    }
    this.writeSidecar(true);
    this.close();
  }

  /** Releases the lock (the file stays resumable). */
  close(): void {
    this.appender?.close();
    this.appender = null;
    this.lock?.release();
    this.lock = null;
  }
}

/**
 * Checks that resumed rows are the first rows of this run (their `key` column equals the first
 * keys, in order); throws naming the first row that does not belong.
 */
export function checkResumedKeys(path: string, done: readonly Row[], keys: readonly string[], key: string, what = 'item'): void {
  if (done.length > keys.length)
    throw new ResumeMismatchError(
      `--resume: ${path} has ${done.length} rows, this run has only ${keys.length} ${what}s (another selection?)`,
    );
  done.forEach((r, i) => {
    if (String(r[key]) !== keys[i]) {
      throw new ResumeMismatchError(
        `--resume: ${path} row ${i + 1} is ${key} ${String(r[key])}, this run's ${what} ${i + 1} is ${keys[i]} (another selection?)`,
      );
    }
  });
}

/**
 * Resumes a deterministic search: the rows already in the stream are handed back, in order, in
 * place of the computation, as long as the search proposes the same keys; past them each new row
 * is computed and appended. Fed the same scores, a seeded search retraces its steps exactly.
 */
export class ReplayLog {
  private next = 0;
  constructor(
    private readonly stream: RowStream,
    private readonly keyColumn: string,
  ) {}

  /** Rows handed back from the file so far. */
  get replayed(): number {
    return this.next;
  }

  get recorded(): number {
    return this.stream.done.length;
  }

  async row(key: string, compute: () => Promise<Row>): Promise<Row> {
    const done = this.stream.done;
    if (this.next < done.length) {
      const r = done[this.next++];
      if (String(r[this.keyColumn]) !== key) {
        throw new RowStreamError(
          `--resume: ${this.stream.path} row ${this.next} is ${this.keyColumn} ${String(r[this.keyColumn])}, this run proposed ${key} (the run diverged: other settings or code)`,
        );
      }
      return r;
    }
    const r = await compute();
    this.next++;
    this.stream.append([r]);
    return r;
  }
}
