/**
 * `proxyless --plot` over a kill and a --resume: the checkpoint's history keeps each step's
 * softmax(α), so the resumed run's plot is the uninterrupted run's, byte for byte (its α panel
 * included, not blank before the resume). CPU backend, tiny search; the kill lands after a
 * checkpoint switch in a child.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasChild } from '../helpers/child.js';
import { TINY_PROXYLESS, wgnasInProcess } from '../helpers/cli.js';
import { resultOf } from '../helpers/provenance.js';

const hasCpu = cpuTestBackend() !== null;
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-plot-resume-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = (name: string) => [
  'proxyless',
  ...TINY_PROXYLESS,
  '--steps',
  '4',
  '--checkpoint-every',
  '1',
  '--device',
  'cpu',
  '--cpu-threads',
  '1',
  '--quiet',
  '--checkpoint',
  join(tmp, `${name}-ck`),
  '--out',
  join(tmp, `${name}.json`),
  '--plot',
  join(tmp, `${name}.svg`),
];

describe('proxyless --plot after --resume', () => {
  it('equals the uninterrupted run: the α of the steps before the kill is plotted', { timeout: 240_000 }, async ({ skip }) => {
    if (!hasCpu) return skip();
    const ref = await wgnasInProcess(run('ref'));
    expect(ref.code, ref.err).toBe(0);
    const refSvg = readFileSync(join(tmp, 'ref.svg'), 'utf8');
    expect(refSvg).toMatch(/class="series block-prob"[^>]* points="\d/);
    expect(refSvg).not.toMatch(/no α recorded/);

    // Killed after its third checkpoint (of the warm-up step and four search steps), then resumed.
    const killed = await wgnasChild(run('cut'), { killAt: 'checkpoint.switched:3' });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const resumed = await wgnasInProcess([...run('cut'), '--resume']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resultOf(join(tmp, 'cut.json'))).toEqual(resultOf(join(tmp, 'ref.json')));
    expect(readFileSync(join(tmp, 'cut.svg'), 'utf8')).toBe(refSvg);
  });
});
