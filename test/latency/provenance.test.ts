/**
 * tableProvenance names a shipped published table by its content, not its file name: a copy under
 * another name keeps the source, a user's own file under the shipped name does not get it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PUBLISHED_TABLES, tableProvenance } from '../../src/latency/lut.js';
import { REPO } from '../helpers/paths.js';

const SHIPPED = join(REPO, 'data', 'latency');
const PIXEL = join(SHIPPED, 'proxylessnas_mobile_trim.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-provenance-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('tableProvenance of unstamped tables', () => {
  it('the sha256 of every shipped table is the one PUBLISHED_TABLES names it by', () => {
    const shipped = readdirSync(SHIPPED).filter((f) => f.endsWith('.yaml'));
    const byFile = Object.fromEntries(
      shipped.map((f) => [
        f,
        createHash('sha256')
          .update(readFileSync(join(SHIPPED, f)))
          .digest('hex'),
      ]),
    );
    expect(Object.fromEntries(Object.entries(PUBLISHED_TABLES).map(([sha, t]) => [t.file, sha]))).toEqual(byFile);
    expect(tableProvenance(PIXEL, {})).toBe('Pixel 1, TFLite, 1 thread; published by ProxylessNAS');
    expect(tableProvenance(join(SHIPPED, 'ofa_note10_224_lookup_table.yaml'), {})).toBe(
      'Samsung Note10; published by Once-for-All',
    );
  });

  it('a copy under another name keeps its source; a changed file under the shipped name has no stamp', () => {
    const copy = join(tmp, 'mine.yaml');
    writeFileSync(copy, readFileSync(PIXEL));
    expect(tableProvenance(copy, {})).toBe('Pixel 1, TFLite, 1 thread; published by ProxylessNAS');
    mkdirSync(join(tmp, 'own'));
    const same = join(tmp, 'own', 'proxylessnas_mobile_trim.yaml');
    writeFileSync(same, readFileSync(PIXEL, 'utf8').replace('mean: 0.', 'mean: 1.'));
    expect(tableProvenance(same, {})).toBe('no stamp: device unknown');
    expect(tableProvenance(join(tmp, 'gone.yaml'), {})).toBe('no stamp: device unknown');
  });
});
