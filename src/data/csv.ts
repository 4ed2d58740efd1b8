/**
 * CSV reading for the shared tables and score files, on csv-parse (RFC 4180: quoted fields with
 * commas, newlines and "" escapes; \n or \r\n rows). Every error names the source and the line, so a
 * truncated or garbled file is found.
 */
import { CsvError as CsvParseError, parse } from 'csv-parse/sync';
import { UserFacingError } from '../util/errors.js';

/** A CSV that cannot be read; the message names the source and line. */
export class CsvError extends UserFacingError {
  override readonly name = 'CsvError';
}

const cut = (s: string, n = 80) => (s.length > n ? `${s.slice(0, n)}...` : s);

/** Parses CSV text into rows of fields. Blank lines are skipped. `where` names the source in errors. */
export function parseCsv(text: string, where = 'CSV'): string[][] {
  return parseCsvLines(text, where).map((r) => r.fields);
}

/** A row of fields and the (1-based) line it starts on. */
export interface CsvLine {
  fields: string[];
  line: number;
}

/** What csv-parse says, as one line of ours (its own messages run long and name no file). */
function csvProblem(e: CsvParseError): string {
  if (e.code === 'CSV_QUOTE_NOT_CLOSED') return 'unterminated quoted field (is the file truncated?)';
  return e.message.replace(/^[^:]*:\s*/, '').split('\n')[0];
}

/** parseCsv, keeping each row's line number (blank lines are skipped, so row index != line). */
export function parseCsvLines(text: string, where = 'CSV'): CsvLine[] {
  // eslint-disable-next-line no-control-regex
  if (/\x00/.test(text.slice(0, 4096))) throw new CsvError(`${where}: not a CSV file (binary data)`);
  let records: Array<{ record: string[]; info: { lines: number }; raw: string }>;
  try {
    records = parse(text, {
      info: true,
      raw: true,
      skip_empty_lines: true,
      relax_column_count: true,
      record_delimiter: ['\r\n', '\n'],
    }) as unknown as typeof records;
  } catch (e) {
    if (e instanceof CsvParseError) throw new CsvError(`${where}:${e.lines}: ${csvProblem(e)}`);
    throw e;
  }
  // info.lines is the line a record ends on; its raw text (after the blank lines skipped before it)
  // says how many lines a quoted field spans, so the start line is the one errors should name.
  return records.map(({ record, info, raw }) => {
    const own = raw.replace(/^[\r\n]+/, '').replace(/\r?\n$/, '');
    return { fields: record, line: info.lines - (own.match(/\n/g)?.length ?? 0) };
  });
}

export interface CsvObjectOptions {
  /** Columns the header must have. */
  required?: readonly string[];
}

/** Parses CSV with a header row into objects; `where` names the source in errors. */
export function readCsvObjects(text: string, where: string, opts: CsvObjectOptions = {}): Array<Record<string, string>> {
  return readCsvRecords(text, where, opts).map((r) => r.record);
}

/** readCsvObjects, each record with the line it is on (for errors about its values). */
export function readCsvRecords(
  text: string,
  where: string,
  opts: CsvObjectOptions = {},
): Array<{ record: Record<string, string>; line: number }> {
  const [head, ...body] = parseCsvLines(text, where);
  if (!head) throw new CsvError(`${where}: empty CSV (no header row)`);
  const header = head.fields;
  const missing = (opts.required ?? []).filter((c) => !header.includes(c));
  if (missing.length)
    throw new CsvError(`${where}:${head.line}: missing column ${missing.join(', ')} (header: ${cut(header.join(','))})`);
  return body.map(({ fields, line }) => {
    if (fields.length !== header.length) {
      throw new CsvError(`${where}:${line}: expected ${header.length} fields (${cut(header.join(','))}), got ${fields.length}`);
    }
    const record: Record<string, string> = {};
    header.forEach((h, j) => (record[h] = fields[j]));
    return { record, line };
  });
}
