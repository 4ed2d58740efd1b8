/**
 * Minimal RFC 4180 CSV reader (quoted fields with commas and "" escapes) for the shared tables and
 * score files. Every error names the source and the line, so a truncated or garbled file is found.
 */

/** A CSV that cannot be read; the message names the source and line. */
export class CsvError extends Error {
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

/** parseCsv, keeping each row's line number (blank lines are skipped, so row index != line). */
export function parseCsvLines(text: string, where = 'CSV'): CsvLine[] {
  // eslint-disable-next-line no-control-regex
  if (/\x00/.test(text.slice(0, 4096))) throw new CsvError(`${where}: not a CSV file (binary data)`);
  const rows: CsvLine[] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let quoteLine = 0;
  let line = 1;
  let rowLine = 1;
  let i = 0;
  const endRow = () => {
    row.push(field);
    if (row.length > 1 || row[0] !== '') rows.push({ fields: row, line: rowLine });
    row = [];
    field = '';
  };
  while (i < text.length) {
    const ch = text[i];
    if (ch === '\n') line++;
    if (!quoted && row.length === 0 && field === '' && ch !== '\n' && ch !== '\r') rowLine = line;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += ch;
      i++;
      continue;
    }
    if (ch === '"') {
      quoted = true;
      quoteLine = line;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') endRow();
    else if (ch !== '\r') field += ch;
    i++;
  }
  if (quoted) throw new CsvError(`${where}:${quoteLine}: unterminated quoted field (is the file truncated?)`);
  if (field !== '' || row.length) endRow();
  return rows;
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
export function readCsvRecords(text: string, where: string, opts: CsvObjectOptions = {}): Array<{ record: Record<string, string>; line: number }> {
  const [head, ...body] = parseCsvLines(text, where);
  if (!head) throw new CsvError(`${where}: empty CSV (no header row)`);
  const header = head.fields;
  const missing = (opts.required ?? []).filter((c) => !header.includes(c));
  if (missing.length) throw new CsvError(`${where}:${head.line}: missing column ${missing.join(', ')} (header: ${cut(header.join(','))})`);
  return body.map(({ fields, line }) => {
    if (fields.length !== header.length) {
      throw new CsvError(`${where}:${line}: expected ${header.length} fields (${cut(header.join(','))}), got ${fields.length}`);
    }
    const record: Record<string, string> = {};
    header.forEach((h, j) => (record[h] = fields[j]));
    return { record, line };
  });
}
