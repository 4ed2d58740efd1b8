/**
 * What `wgnas evolve-space` says: --hand-designed's space on stdout, or, with --out, a "wrote FILE" line as the
 * other commands say it; an evolution with --quiet, no progress but the learned space.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_EVOLVE } from '../../src/autospace/evolve.js';
import { CIFAR_LAYOUT } from '../../src/mobilenet/layout.js';
import { fixedMadds } from '../../src/mobilenet/madds.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasCapturingStderr, wgnasInProcess } from '../helpers/cli.js';

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

describe('evolve-space --quiet', () => {
  const RUN = [
    ...['evolve-space', '--budget-madds', '6M', '--population', '3', '--k', '2', '--iterations', '1', '--steps', '1'],
    ...['--warmup', '1', '--replace-every', '1', '--min-evals', '1', '--batch', '4', '--train', '16', '--val', '16'],
    ...['--device', 'cpu', '--cpu-threads', '1', '--seed', '2'],
  ];

  it('no header, iteration or warm-up lines; the learned space and the same file', { timeout: 240_000 }, async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const loud = await wgnasCapturingStderr([...RUN, '--out', join(tmp, 'loud.json')]);
    expect(loud.code, loud.err).toBe(0);
    expect(loud.stderr).toMatch(/^evolve-space: cifar layout/m);
    expect(loud.stderr).toMatch(/^iter +1\/1/m);
    const quiet = await wgnasCapturingStderr([...RUN, '--quiet', '--out', join(tmp, 'quiet.json')]);
    expect(quiet.code, quiet.err).toBe(0);
    expect(quiet.stderr).not.toMatch(/evolve-space: cifar layout|^iter |warm-up/m);
    expect(quiet.stderr).toMatch(/^learned space \(top 2 per layer/m);
    const strip = (f: string) => {
      const j = JSON.parse(readFileSync(join(tmp, f), 'utf8'));
      return JSON.stringify(j.layers);
    };
    expect(strip('quiet.json')).toBe(strip('loud.json'));
  });
});

describe('evolve-space under a budget the reference network overruns', () => {
  it(
    'one note line (--quiet too) says the reference cell sits out; the space stays within budget',
    { timeout: 240_000 },
    async ({ skip }) => {
      if (!cpuTestBackend()) return skip();
      const out = join(tmp, 'tight.json');
      const r = await wgnasCapturingStderr([
        ...['evolve-space', '--budget-madds', '1.2M', '--population', '3', '--k', '2', '--iterations', '1', '--steps', '1'],
        ...['--warmup', '0', '--batch', '4', '--train', '16', '--val', '16', '--device', 'cpu', '--cpu-threads', '1'],
        ...['--quiet', '--out', out],
      ]);
      expect(r.code, r.err).toBe(0);
      const notes = (r.err + r.stderr).split('\n').filter((l) => l.startsWith('note:'));
      expect(notes).toEqual([
        "note: the reference cell (MBConv k3 e6) exceeds its layer's share of --budget-madds 1.20M in all 11 layers: left out there (it neither guides nor joins the space)",
      ]);
      const space = JSON.parse(readFileSync(out, 'utf8')) as { layers: Array<{ cells: Array<{ cell: string; madds: number }> }> };
      const searchable = space.layers.reduce((s, l) => s + Math.max(...l.cells.map((c) => c.madds)), 0);
      for (const l of space.layers) for (const c of l.cells) expect(c.cell).not.toBe('pw6<0;dw3<1;pwl<2;=>3');
      // Every layer's dearest cell together: within the searchable budget's slack (1.5 x (1.2M - the skeleton)).
      expect(searchable).toBeLessThanOrEqual(DEFAULT_EVOLVE.layerSlack * (1.2e6 - fixedMadds(CIFAR_LAYOUT)));
    },
  );
});
