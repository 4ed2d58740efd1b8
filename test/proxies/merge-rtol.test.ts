/**
 * Each proxy's merge tolerance (its registry definition's mergeRtol: how far apart two scores of one
 * network may be and still merge, correlate --scores) is documented: docs/reliability.md's table
 * names every proxy with the registry's value, in registry order.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MERGE_RTOL, defineProxy, definePass, defineProxyFamily } from '../../src/proxies/define.js';
import { PROXIES } from '../../src/proxies/registry.js';
import { mergeRtolOf, sameScore } from '../../src/cli/score-files.js';
import { CORRELATE_SCORES_OPTIONS } from '../../src/cli/specs/correlate.js';
import { REPO } from '../helpers/paths.js';

/** The rows of the table between the doc's markers: [proxy, tolerance]. */
function documented(): Array<[string, string]> {
  const doc = readFileSync(join(REPO, 'docs', 'reliability.md'), 'utf8');
  const table = /<!-- merge-rtol-table -->\n([\s\S]*?)<!-- \/merge-rtol-table -->/.exec(doc)?.[1];
  expect(table, 'docs/reliability.md has the merge-rtol-table markers').toBeDefined();
  return table!
    .trim()
    .split('\n')
    .slice(2)
    .map((l) => l.split('|').map((c) => c.trim()))
    .map((c): [string, string] => [c[1], c[2]]);
}

describe('merge tolerances', () => {
  it("docs/reliability.md's table has every proxy with the registry's tolerance, in registry order", () => {
    const want = [...PROXIES.values()].map((p): [string, string] => [p.name, p.mergeRtol.toExponential(0)]);
    expect(
      documented(),
      `docs/reliability.md's merge-rtol-table, first two columns:\n${want.map((r) => `| ${r.join(' | ')} |`).join('\n')}`,
    ).toEqual(want);
  });

  it("correlate --scores' help states the registry's tolerances (zico's 2e-1, not a stale figure)", () => {
    const help = CORRELATE_SCORES_OPTIONS.scores.help;
    expect(help).toContain(
      `(${mergeRtolOf('params').toExponential()} relative for params and flops, ${mergeRtolOf('wrcor').toExponential()} for wrcor and naswot, up to ${mergeRtolOf('zico').toExponential()} for zico,`,
    );
    expect(mergeRtolOf('flops')).toBe(mergeRtolOf('params'));
    expect(mergeRtolOf('naswot')).toBe(mergeRtolOf('wrcor'));
    expect(Math.max(...[...PROXIES.values()].map((p) => p.mergeRtol))).toBe(mergeRtolOf('zico'));
    expect(help).toContain('up to 2e-1 for zico');
  });

  it('the counts are exact, the gradient sums looser than the log-determinants; unknown columns take the default', () => {
    expect(mergeRtolOf('params')).toBe(1e-9);
    expect(mergeRtolOf('wrcor')).toBe(1e-5);
    expect(mergeRtolOf('zico')).toBeGreaterThan(mergeRtolOf('grad_norm'));
    expect(mergeRtolOf('grad_norm')).toBeGreaterThan(mergeRtolOf('wrcor'));
    expect(mergeRtolOf('time_ms')).toBe(DEFAULT_MERGE_RTOL);
    // A real pair: zico of one cell on the CPU backend and on lavapipe (bench/results/merge-tolerance/).
    const [cpu, gpu] = [418.05836456346134, 413.41995180222267];
    expect(sameScore(cpu, gpu, mergeRtolOf('zico'))).toBe(true);
    expect(sameScore(cpu, gpu, mergeRtolOf('wrcor'))).toBe(false);
  });

  it("a definition's own tolerance: one for a proxy, one or each for a family; out of range refused", () => {
    const pass = definePass({ name: 'p', order: 0, run: async () => 0 });
    expect(defineProxy({ name: 'a', description: '', pass, compute: () => 0 }).mergeRtols).toEqual([DEFAULT_MERGE_RTOL]);
    expect(defineProxy({ name: 'a', description: '', pass, mergeRtol: 1e-3, compute: () => 0 }).mergeRtols).toEqual([1e-3]);
    const members = { x: '', y: '' };
    const compute = async () => ({ x: 0, y: 0 });
    expect(defineProxyFamily({ members, pass, mergeRtol: 2e-4, compute }).mergeRtols).toEqual([2e-4, 2e-4]);
    expect(defineProxyFamily({ members, pass, mergeRtol: { x: 1e-6, y: 1e-2 }, compute }).mergeRtols).toEqual([1e-6, 1e-2]);
    expect(() => defineProxy({ name: 'a', description: '', pass, mergeRtol: 2, compute: () => 0 })).toThrow(
      "proxy 'a': mergeRtol must be in [0, 1), got 2",
    );
  });
});
