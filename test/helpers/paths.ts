/** Paths the tests share: the repository, its CLI entry, fixtures, and the shared data beside the checkout. */
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');
export const SRC = join(REPO, 'src');
export const BIN = join(REPO, 'bin', 'wgnas.js');
export const FIXTURES = join(REPO, 'test', 'fixtures');
/** The development layout's ../shared/data (what the tests were written against; not $WGNAS_DATA_DIR). */
export const SHARED_DATA = join(REPO, '..', 'shared', 'data');
export const SHARED_LATENCY = join(SHARED_DATA, 'latency');
