/** What `wgnas evolve-space --hand-designed` says: the space on stdout, or, with --out, a "wrote FILE" line as the other commands say it. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-evolve-out-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('evolve-space --hand-designed', () => {
  it('--out FILE: the file written, one "wrote FILE" line on stderr, nothing on stdout', async () => {
    const out = join(tmp, 'space.json');
    const r = await wgnasInProcess(['evolve-space', '--hand-designed', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe(`wrote ${out}\n`);
    expect(r.out).toBe('');
    expect(JSON.parse(readFileSync(out, 'utf8')).source).toBe('hand-designed');
  });

  it('without --out: the space on stdout, nothing on stderr', async () => {
    const r = await wgnasInProcess(['evolve-space', '--hand-designed']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out).source).toBe('hand-designed');
  });
});
