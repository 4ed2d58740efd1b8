/**
 * A result file less its provenance (src/cli/provenance.ts): each run records its own date, command
 * line and earlier runs, so two runs that must give the same result compare without it.
 */
import { readFileSync } from 'node:fs';

export function withoutProvenance(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutProvenance);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => k !== 'provenance')
        .map(([k, x]) => [k, withoutProvenance(x)]),
    );
  return v;
}

/** The JSON file at `path`, less its provenance. */
export const resultOf = (path: string): unknown => withoutProvenance(JSON.parse(readFileSync(path, 'utf8')));
