/**
 * Test data without ../shared: when no data root holds the CIFAR-10 subset (a clone with no
 * ../shared/data and no `wgnas data fetch`), the tests read the real CIFAR-10 images committed in
 * test/fixtures/cifar10-mini (its README says what they are). Set through $WGNAS_DATA_DIR, so child
 * processes (the CLI tests) see it too. The tables the commands need ship in the package's data/.
 */
import { join } from 'node:path';
import { findDataFile } from '../../src/data/paths.js';

export const CIFAR10_MINI_ROOT = join(import.meta.dirname, '..', 'fixtures', 'cifar10-mini');

if (!process.env.WGNAS_DATA_DIR && !findDataFile('cifar10', 'train_5000.bin')) process.env.WGNAS_DATA_DIR = CIFAR10_MINI_ROOT;
