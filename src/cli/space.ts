/** Reading a space file for a command: every failure names the file. */
import type { CellSpace } from '../mobilenet/space.js';
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
