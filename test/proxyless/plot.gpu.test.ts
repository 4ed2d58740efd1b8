import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run as cli } from '../../src/cli/commands/proxyless.js';
import type { Gpu } from '../../src/gpu/index.js';
import {
  type SearchPlotData,
  type SearchPlotPoint,
  mergeProgress,
  niceTicks,
  plotDataFromSearch,
  searchPlotSvg,
} from '../../src/proxyless/plot.js';
import type { ProgressEvent, SearchResult } from '../../src/proxyless/search-config.js';
import { testGpu } from '../helpers/gpu.js';

const TABLE = 'data/latency/proxylessnas_mobile_trim.yaml';

/**
 * XML well-formedness (Node has no parser): one root, tags nested and closed in order, quoted
 * unique attributes, no raw '<' and only the predefined or numeric entities in text and attributes.
 * Returns [element name, attributes] in document order.
 */
function parseXml(xml: string): Array<{ name: string; attrs: Record<string, string>; text: string }> {
  const body = xml.replace(/^<\?xml [^?]*\?>\s*/, '');
  const okText = (t: string, where: string) => {
    if (t.includes('<')) throw new Error(`raw '<' in ${where}`);
    const bad = t.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, '').indexOf('&');
    if (bad >= 0) throw new Error(`stray '&' in ${where}: ${t}`);
  };
  const stack: string[] = [];
  const elems: Array<{ name: string; attrs: Record<string, string>; text: string }> = [];
  let roots = 0;
  let i = 0;
  while (i < body.length) {
    const lt = body.indexOf('<', i);
    const text = body.slice(i, lt < 0 ? body.length : lt);
    okText(text, 'text');
    if (elems.length && text.trim()) elems[elems.length - 1].text += text;
    if (lt < 0) break;
    const gt = body.indexOf('>', lt);
    if (gt < 0) throw new Error('unterminated tag');
    const tag = body.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const open = stack.pop();
      if (open !== tag.slice(1)) throw new Error(`</${tag.slice(1)}> closes <${open}>`);
      continue;
    }
    const m = /^([A-Za-z][\w:-]*)((?:\s+[A-Za-z][\w:-]*="[^"]*")*)\s*(\/?)$/.exec(tag);
    if (!m) throw new Error(`malformed tag <${tag.slice(0, 80)}>`);
    const attrs: Record<string, string> = {};
    for (const [, k, v] of m[2].matchAll(/([A-Za-z][\w:-]*)="([^"]*)"/g)) {
      if (k in attrs) throw new Error(`duplicate attribute ${k} in <${m[1]}>`);
      okText(v, `attribute ${k}`);
      attrs[k] = v;
    }
    if (stack.length === 0) roots++;
    elems.push({ name: m[1], attrs, text: '' });
    if (!m[3]) stack.push(m[1]);
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
  return elems;
}

const polylines = (svg: string) => parseXml(svg).filter((e) => e.name === 'polyline');
const pointCount = (p: { attrs: Record<string, string> }) =>
  p.attrs.points.trim() ? p.attrs.points.trim().split(/\s+/).length : 0;

function synthetic(steps: number, warmup: number, blocks: number): SearchPlotData {
  const points: SearchPlotPoint[] = [];
  for (let s = 1; s <= steps; s++) {
    const search = s > warmup;
    const t = search ? (s - warmup) / Math.max(1, steps - warmup) : 0;
    points.push({
      step: s,
      phase: search ? 'search' : 'warmup',
      trainLoss: 2.3 - 0.8 * (s / steps),
      valLoss: search ? 2.2 - 0.5 * t : null,
      expectedCost: 70 - 15 * t,
      argmaxCost: 72 - 18 * t,
      probs: Array.from({ length: blocks }, (_, b) => {
        const p = 1 / 7 + (0.8 - 1 / 7) * t * ((b + 1) / blocks);
        return [p, ...Array<number>(6).fill((1 - p) / 6)];
      }),
    });
  }
  return {
    points,
    choices: Array<number>(blocks).fill(0),
    names: Array.from({ length: blocks }, (_, b) => `${3 + 2 * (b % 3)}x${3 + 2 * (b % 3)}_MBConv6`),
    target: 60,
    warmupSteps: warmup,
  };
}

describe('searchPlotSvg', () => {
  it('is well-formed, one polyline per series, labelled panels, legend and escaped text', () => {
    const data = synthetic(30, 10, 5);
    const svg = searchPlotSvg(data, { title: 'search <T & "60"> ms', subtitle: "it's" });
    const elems = parseXml(svg);
    expect(elems[0].name).toBe('svg');
    const lines = polylines(svg);
    // train CE, val CE, E[lat], argmax latency, then one per block.
    expect(lines.map((l) => l.attrs.class)).toEqual([
      'series train-loss',
      'series val-loss',
      'series expected-cost',
      'series argmax-cost',
      ...Array(5).fill('series block-prob'),
    ]);
    expect(pointCount(lines[0])).toBe(30);
    expect(pointCount(lines[1])).toBe(20); // no validation CE during warm-up
    for (const l of lines.slice(4)) expect(pointCount(l)).toBe(30);
    const texts = elems.filter((e) => e.name === 'text').map((e) => e.text);
    expect(texts).toContain('search &lt;T &amp; &quot;60&quot;&gt; ms');
    expect(texts).toContain('it&apos;s');
    for (const want of [
      '(a) cross-entropy loss',
      '(b) latency',
      'CE (nats)',
      'latency (ms)',
      'probability',
      'target 60 ms',
      'warm-up (α frozen)',
      '0.25',
      '0.75',
      'weight step (warm-up + search)',
    ]) {
      expect(texts).toContain(want);
    }
    expect(texts.some((t) => t.startsWith('(c) α evolution'))).toBe(true);
    expect(texts).toContain('b1 3x3_MBConv6  p=0.27');
    expect(texts).toContain('b5 5x5_MBConv6  p=0.80');
    // The target is a dashed horizontal line.
    const target = elems.find((e) => e.attrs.class === 'target')!;
    expect(target.attrs['stroke-dasharray']).toBeTruthy();
    expect(target.attrs.y1).toBe(target.attrs.y2);
    // Every coordinate is a finite number.
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('a multiply-adds search is drawn in millions with its unit', () => {
    const data = synthetic(10, 2, 3);
    data.points.forEach((p) => {
      p.expectedCost = p.expectedCost! * 1e5;
      p.argmaxCost = p.argmaxCost! * 1e5;
    });
    const svg = searchPlotSvg({ ...data, unit: 'madds', target: 6e6 }, { title: 'madds' });
    const texts = parseXml(svg)
      .filter((e) => e.name === 'text')
      .map((e) => e.text);
    for (const want of ['(b) multiply-adds', 'MAdds (millions)', 'target 6 M MAdds', 'E[MAdds] under softmax(α)'])
      expect(texts).toContain(want);
    expect(texts.some((t) => /ms/.test(t) && t !== 'madds')).toBe(false);
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('a 1-step history, an empty one and NaN / missing values do not break it', () => {
    const one = synthetic(1, 0, 3);
    const svg1 = searchPlotSvg(one, { title: 'one step' });
    expect(polylines(svg1)).toHaveLength(7);
    expect(parseXml(svg1).filter((e) => e.name === 'circle').length).toBeGreaterThan(0); // lone points get markers
    expect(svg1).not.toMatch(/NaN|Infinity|undefined/);

    const bad = synthetic(12, 4, 3);
    bad.points[5].trainLoss = NaN;
    bad.points[6].valLoss = Infinity;
    bad.points[7].expectedCost = null;
    bad.points[8].probs = null;
    bad.points[9].probs![1][0] = NaN;
    bad.points.forEach((p) => (p.argmaxCost = NaN));
    bad.target = NaN;
    const svg2 = searchPlotSvg(bad, { title: 'nan' });
    const lines = polylines(svg2);
    expect(lines).toHaveLength(7);
    expect(pointCount(lines[0])).toBe(11);
    expect(pointCount(lines[3])).toBe(0); // argmax latency all NaN: an empty polyline
    expect(pointCount(lines[5])).toBe(10);
    expect(svg2).not.toMatch(/NaN|Infinity|undefined/);

    const empty = searchPlotSvg({ points: [], choices: [2, 0] }, { title: 'empty' });
    expect(polylines(empty)).toHaveLength(6);
    expect(parseXml(empty).some((e) => e.text === 'no α recorded')).toBe(true);
    expect(empty).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('grows the α panel with the block count (21 ImageNet blocks fit their legend)', () => {
    const h = (svg: string) => Number(parseXml(svg)[0].attrs.height);
    expect(h(searchPlotSvg(synthetic(5, 1, 21), { title: 'x' }))).toBeGreaterThan(
      h(searchPlotSvg(synthetic(5, 1, 3), { title: 'x' })),
    );
    const svg = searchPlotSvg(synthetic(5, 1, 21), { title: 'x' });
    const height = h(svg);
    for (const e of parseXml(svg)) if (e.attrs.y !== undefined) expect(Number(e.attrs.y)).toBeLessThan(height);
  });
});

describe('helpers', () => {
  it('niceTicks: round steps covering the range', () => {
    expect(niceTicks(0, 60, 6)).toEqual([0, 10, 20, 30, 40, 50, 60]);
    expect(niceTicks(1.37, 2.41, 5)).toEqual([1.4, 1.6, 1.8, 2, 2.2, 2.4]);
    expect(niceTicks(0, 1, 4)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 7, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });

  const ev = (phase: 'warmup' | 'search', step: number, total: number, over: Partial<ProgressEvent> = {}): ProgressEvent => ({
    phase,
    step,
    total,
    lr: 0.05,
    trainLoss: 2,
    trainAcc: 0.1,
    archObjective: null,
    archCe: null,
    expectedCost: 50,
    argmaxCost: 51,
    entropy: 1.9,
    choices: [0, 1],
    msPerStep: 100,
    ...over,
  });

  it('mergeProgress: window means, the latest state', () => {
    const m = mergeProgress([
      ev('search', 1, 4, { trainLoss: 1, trainAcc: 0.5, archCe: 2, archObjective: 3, msPerStep: 10 }),
      ev('search', 2, 4, { trainLoss: 3, trainAcc: 0.25, msPerStep: 30, expectedCost: 40, choices: [1, 1] }),
      ev('search', 3, 4, { trainLoss: 2, trainAcc: 0, archCe: 4, archObjective: 5, msPerStep: 20 }),
    ]);
    expect(m).toMatchObject({
      step: 3,
      trainLoss: 2,
      trainAcc: 0.25,
      archCe: 3,
      archObjective: 4,
      msPerStep: 20,
      expectedCost: 50,
      choices: [0, 1],
    });
    expect(mergeProgress([ev('warmup', 1, 2)]).archCe).toBeNull();
    expect(() => mergeProgress([])).toThrow(/no events/);
  });

  it('plotDataFromSearch: global steps after the warm-up, α where recorded', () => {
    const history = [ev('warmup', 2, 2), ev('search', 1, 3, { archCe: 2.1 }), ev('search', 3, 3, { archCe: 1.9 })];
    const probs = new Map([
      [
        history[2],
        [
          [0.2, 0.8],
          [0.5, 0.5],
        ],
      ],
    ]);
    const res = { choices: [1, 0], names: ['a', 'b'], unit: 'ms', history } as unknown as SearchResult;
    const d = plotDataFromSearch(res, { target: 45, probsOf: (e) => probs.get(e) });
    expect(d.warmupSteps).toBe(2);
    expect(d.points.map((p) => p.step)).toEqual([2, 3, 5]);
    expect(d.points.map((p) => p.valLoss)).toEqual([null, 2.1, 1.9]);
    expect(d.points.map((p) => p.probs)).toEqual([
      null,
      null,
      [
        [0.2, 0.8],
        [0.5, 0.5],
      ],
    ]);
    expect(d.target).toBe(45);
    expect(d.unit).toBe('ms');
  });
});

describe('wgnas proxyless --plot', () => {
  let gpu: Gpu | null;
  const tmp = mkdtempSync(join(tmpdir(), 'wgnas-plot-'));
  beforeAll(async () => {
    gpu = await testGpu();
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('a tiny CIFAR search writes the SVG, printing at --log-every', { timeout: 120_000 }, async ({ skip }) => {
    if (!gpu) return skip();
    const file = join(tmp, 'search.svg');
    const printed: string[] = [];
    const spyErr = vi
      .spyOn(process.stderr, 'write')
      .mockImplementation((s: string | Uint8Array) => (printed.push(String(s)), true));
    const spyOut = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await cli([
        '--latency-table',
        TABLE,
        '--target-ms',
        '50',
        '--layout',
        'cifar',
        '--warmup',
        '2',
        '--steps',
        '4',
        '--arch-every',
        '1',
        '--batch',
        '8',
        '--val-batch',
        '8',
        '--train',
        '64',
        '--val',
        '32',
        '--log-every',
        '2',
        '--plot',
        file,
        '--out',
        join(tmp, 'net.json'),
      ]);
    } finally {
      spyErr.mockRestore();
      spyOut.mockRestore();
    }
    const progress = printed
      .join('')
      .split('\n')
      .filter((l) => /^(warmup|search) /.test(l));
    expect(progress.map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['warmup 2/2', 'search 2/4', 'search 4/4']);
    const svg = readFileSync(file, 'utf8');
    const lines = polylines(svg);
    expect(lines).toHaveLength(4 + 11); // 11 searchable CIFAR blocks
    expect(pointCount(lines[0])).toBe(6); // every weight step recorded
    expect(pointCount(lines[1])).toBe(4); // one α step per search step
    for (const l of lines.slice(4)) expect(pointCount(l)).toBe(6);
    expect(svg).toContain('target 50 ms');
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });
});
