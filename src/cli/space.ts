/** Reading a space file for a command: every failure names the file. */
import type { BnSettings, CellSpace } from '../mobilenet/space.js';
import { readSpaceFile, SpaceFileError } from '../mobilenet/space-file.js';

export function readSpace(path: string): CellSpace {
  try {
    return readSpaceFile(path);
  } catch (e) {
    if (e instanceof SpaceFileError) throw e;
    // A JSON shape the loader did not foresee (null cells, "layout": {}) surfaces as a TypeError.
    throw new Error(`space file ${path} is malformed: ${(e as Error).message}`);
  }
}

/** A BN flag of a command that builds a space's networks: its value, and whether it was given. */
export interface BnFlag {
  /** 'bn-eps' */
  name: string;
  value: number;
  given: boolean;
}

/**
 * The value of a BN setting for the networks of a space: the flag's when given, else the one the
 * space file records (its `bn`, what its cells evolved with), else the flag's default (files that
 * record none). `note`: the line to print when a given flag overrides a different recorded value.
 */
export function bnOfSpace(
  space: CellSpace,
  path: string,
  key: keyof BnSettings,
  flag: BnFlag,
): { value: number; note: string | null } {
  const recorded = space.file.bn?.[key];
  if (recorded === undefined) return { value: flag.value, note: null };
  if (!flag.given) return { value: recorded, note: null };
  const note =
    flag.value === recorded
      ? null
      : `note: --${flag.name} ${flag.value} overrides bn.${key} ${recorded} recorded in space file ${path}\n`;
  return { value: flag.value, note };
}
