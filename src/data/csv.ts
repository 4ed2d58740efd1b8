/** Minimal RFC 4180 CSV reader (quoted fields with commas and "" escapes) for the shared tables. */

/** Parses CSV text into rows of fields. Blank lines are skipped. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endRow = () => {
    row.push(field);
    if (row.length > 1 || row[0] !== '') rows.push(row);
    row = [];
    field = '';
  };
  while (i < text.length) {
    const ch = text[i];
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
    if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') endRow();
    else if (ch !== '\r') field += ch;
    i++;
  }
  if (quoted) throw new Error('CSV: unterminated quoted field at end of input');
  if (field !== '' || row.length) endRow();
  return rows;
}

/** Parses CSV with a header row into objects; `where` names the source in errors. */
export function readCsvObjects(text: string, where: string): Array<Record<string, string>> {
  const [header, ...body] = parseCsv(text);
  if (!header) throw new Error(`${where}: empty CSV`);
  return body.map((r, i) => {
    if (r.length !== header.length) {
      throw new Error(`${where}:${i + 2}: expected ${header.length} fields (${header.join(',')}), got ${r.length}`);
    }
    const o: Record<string, string> = {};
    header.forEach((h, j) => (o[h] = r[j]));
    return o;
  });
}
