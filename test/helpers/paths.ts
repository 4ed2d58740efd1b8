/** Paths the tests share: the repository, its CLI entry and fixtures (data comes through src/data/paths.ts, never ../shared directly). */
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');
export const SRC = join(REPO, 'src');
export const BIN = join(REPO, 'bin', 'wgnas.js');
export const FIXTURES = join(REPO, 'test', 'fixtures');
