/**
 * ProxylessNAS search curves as a hand-written SVG (no dependencies), three stacked panels sharing
 * the weight-step axis: (a) train and validation cross-entropy, (b) the expected cost E[cost] (latency
 * or multiply-adds) and the argmax network's cost against the target, (c) for every searchable block, softmax(α) of the
 * candidate finally chosen. The warm-up (uniform path sampling, α frozen) is shaded in each panel.
 */
import { escapeXml, svgPlotHead } from '../util/xml.js';
import type { CostUnit } from '../mobilenet/cost/model.js';
import type { ProgressEvent, SearchResult } from './search-config.js';

export interface SearchPlotPoint {
  /** Global weight step: warm-up steps, then search steps. */
  step: number;
  phase: 'warmup' | 'search';
  trainLoss: number;
  /** Validation CE of the architecture steps since the previous point; null when there were none. */
  valLoss: number | null;
  /** E[cost] and the argmax network's cost, in the data's unit. */
  expectedCost: number | null;
  argmaxCost?: number | null;
  /** softmax(α) per block at this step; null where not recorded (a checkpoint's history from before events carried it). */
  probs?: number[][] | null;
}

export interface SearchPlotData {
  points: SearchPlotPoint[];
  /** Final argmax candidate per block: panel (c) follows its probability. */
  choices: number[];
  /** Candidate name per block, for the legend. */
  names?: string[];
  /** The cost target, in `unit`. */
  target?: number | null;
  /** Unit of the costs (default 'ms'); MAdds are drawn in millions. */
  unit?: CostUnit;
  warmupSteps?: number;
}

export interface SearchPlotOptions {
  title: string;
  subtitle?: string;
  width?: number;
}

/** Plot input from a search result: softmax(α) as each progress event recorded it, or as `probsOf` gives it. */
export function plotDataFromSearch(
  res: SearchResult,
  opts: { target?: number | null; warmupSteps?: number; probsOf?: (e: ProgressEvent) => number[][] | undefined } = {},
): SearchPlotData {
  // Warm-up length: the last warm-up event has step = total (it is always reported).
  const warmupSteps = opts.warmupSteps ?? res.history.find((e) => e.phase === 'warmup')?.total ?? 0;
  return {
    points: res.history.map((e) => ({
      step: e.phase === 'warmup' ? e.step : warmupSteps + e.step,
      phase: e.phase,
      trainLoss: e.trainLoss,
      valLoss: e.archCe,
      expectedCost: e.expectedCost,
      argmaxCost: e.argmaxCost,
      probs: opts.probsOf?.(e) ?? e.probs ?? null,
    })),
    choices: res.choices,
    names: res.names,
    target: opts.target ?? null,
    unit: res.unit ?? 'ms',
    warmupSteps,
  };
}

/**
 * Window means of consecutive progress events (train loss/accuracy, arch objective/CE over the
 * events that had architecture steps, ms/step); the rest from the last event. Lets the CLI record
 * every step for a plot while printing at the user's --log-every.
 */
export function mergeProgress(events: readonly ProgressEvent[]): ProgressEvent {
  if (events.length === 0) throw new Error('mergeProgress: no events');
  const last = events[events.length - 1];
  const mean = (vs: number[]) => vs.reduce((s, v) => s + v, 0) / vs.length;
  const arch = events.filter((e) => e.archCe !== null);
  return {
    ...last,
    trainLoss: mean(events.map((e) => e.trainLoss)),
    trainAcc: mean(events.map((e) => e.trainAcc)),
    archObjective: arch.length ? mean(arch.map((e) => e.archObjective!)) : null,
    archCe: arch.length ? mean(arch.map((e) => e.archCe!)) : null,
    msPerStep: mean(events.map((e) => e.msPerStep)),
  };
}

// tab10; blocks past the tenth reuse it dashed, then dotted.
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const DASHES = ['', '6 3', '2 2'];
const WARMUP_FILL = '#eeeeee';

const r1 = (v: number) => Number(v.toFixed(1));

/** About `count` round tick values (1, 2, 5 × 10^k steps) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi)) || hi <= lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const out: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

/** Fewest decimals that write every tick exactly (0.25 stays 0.25, 60 stays 60). */
function tickLabel(v: number, ticks: number[]): string {
  let d = 0;
  while (d < 6 && ticks.some((t) => Math.abs(Number(t.toFixed(d)) - t) > 1e-9 * Math.max(1, Math.abs(t)))) d++;
  return v.toFixed(d);
}

/** Data range padded by 5 % and widened when flat or empty. */
function range(values: number[], fallback: [number, number]): [number, number] {
  const fin = values.filter(Number.isFinite);
  if (fin.length === 0) return fallback;
  let lo = Math.min(...fin);
  let hi = Math.max(...fin);
  if (hi - lo < 1e-12) {
    const d = Math.abs(lo) * 0.1 || 1;
    lo -= d;
    hi += d;
  }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

interface Series {
  cls: string;
  label: string;
  color: string;
  dash?: string;
  width?: number;
  values: Array<[number, number]>;
}

interface Frame {
  x: number;
  y: number;
  w: number;
  h: number;
  xMax: number;
  yLo: number;
  yHi: number;
}

/** A panel's frame whose y-axis spans `values` (see range) and the round ticks (returned too) around them. */
function valueFrame(box: Omit<Frame, 'yLo' | 'yHi'>, values: number[]): [Frame, number[]] {
  const [lo, hi] = range(values, [0, 1]);
  const ticks = niceTicks(lo, hi, 5);
  return [{ ...box, yLo: Math.min(lo, ticks[0]), yHi: Math.max(hi, ticks[ticks.length - 1]) }, ticks];
}

const X = (f: Frame, v: number) => f.x + (v / f.xMax) * f.w;
const Y = (f: Frame, v: number) => f.y + f.h - ((v - f.yLo) / (f.yHi - f.yLo)) * f.h;

function panel(
  out: string[],
  f: Frame,
  title: string,
  yLabel: string,
  xLabel: string | null,
  warmupSteps: number,
  yTicks: number[],
): void {
  out.push(`<text class="panel-title" x="${f.x}" y="${f.y - 8}" font-weight="bold">${escapeXml(title)}</text>`);
  if (warmupSteps > 0) {
    const wx = X(f, Math.min(warmupSteps, f.xMax));
    out.push(`<rect class="warmup" x="${f.x}" y="${f.y}" width="${r1(wx - f.x)}" height="${f.h}" fill="${WARMUP_FILL}"/>`);
  }
  const xTicks = niceTicks(0, f.xMax, 8).filter((t) => Number.isInteger(t) && t <= f.xMax); // steps are whole
  out.push(`<g class="grid" stroke="#e3e3e3" stroke-width="1">`);
  for (const t of xTicks) out.push(`<line x1="${r1(X(f, t))}" y1="${f.y}" x2="${r1(X(f, t))}" y2="${f.y + f.h}"/>`);
  for (const t of yTicks) out.push(`<line x1="${f.x}" y1="${r1(Y(f, t))}" x2="${f.x + f.w}" y2="${r1(Y(f, t))}"/>`);
  out.push(`</g>`);
  out.push(`<g class="ticks" fill="#333333" font-size="11">`);
  for (const t of xTicks)
    out.push(`<text x="${r1(X(f, t))}" y="${f.y + f.h + 15}" text-anchor="middle">${tickLabel(t, xTicks)}</text>`);
  for (const t of yTicks)
    out.push(`<text x="${f.x - 6}" y="${r1(Y(f, t) + 4)}" text-anchor="end">${tickLabel(t, yTicks)}</text>`);
  out.push(`</g>`);
  out.push(`<rect x="${f.x}" y="${f.y}" width="${f.w}" height="${f.h}" fill="none" stroke="#333333"/>`);
  out.push(
    `<text transform="translate(${f.x - 48} ${r1(f.y + f.h / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`,
  );
  if (xLabel) out.push(`<text x="${r1(f.x + f.w / 2)}" y="${f.y + f.h + 34}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
}

/** One polyline per series (non-finite points skipped); a lone point also gets a marker so it shows. */
function lines(out: string[], f: Frame, series: Series[]): void {
  for (const s of series) {
    const pts = s.values.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    const coords = pts.map(([x, y]) => `${r1(X(f, x))},${r1(Y(f, y))}`).join(' ');
    out.push(
      `<polyline class="series ${s.cls}" data-label="${escapeXml(s.label)}" points="${coords}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 1.5}"${dash} stroke-linejoin="round"/>`,
    );
    if (pts.length === 1) out.push(`<circle cx="${r1(X(f, pts[0][0]))}" cy="${r1(Y(f, pts[0][1]))}" r="3" fill="${s.color}"/>`);
  }
}

interface LegendEntry {
  label: string;
  color: string;
  dash?: string;
  width?: number;
  /** Filled box instead of a line sample. */
  swatch?: boolean;
}

function legend(out: string[], x: number, y: number, entries: LegendEntry[], rowPx = 16): void {
  out.push(`<g class="legend" font-size="11">`);
  entries.forEach((e, i) => {
    const ly = y + i * rowPx;
    const dash = e.dash ? ` stroke-dasharray="${e.dash}"` : '';
    if (e.swatch)
      out.push(`<rect x="${x}" y="${ly - 5}" width="22" height="10" fill="${e.color}" stroke="#bbbbbb" stroke-width="0.5"/>`);
    else
      out.push(
        `<line x1="${x}" y1="${ly}" x2="${x + 22}" y2="${ly}" stroke="${e.color}" stroke-width="${e.width ?? 2}"${dash}/>`,
      );
    out.push(`<text x="${x + 28}" y="${ly + 4}">${escapeXml(e.label)}</text>`);
  });
  out.push(`</g>`);
}

export function searchPlotSvg(data: SearchPlotData, opts: SearchPlotOptions): string {
  const W = opts.width ?? 980;
  const m = { l: 76, r: 230 };
  const pw = W - m.l - m.r;
  const pts = [...data.points].sort((a, b) => a.step - b.step);
  const xMax = Math.max(1, ...pts.map((p) => p.step).filter(Number.isFinite));
  const warmup = data.warmupSteps ?? 0;
  const nBlocks = data.choices.length;
  const blockRow = 15;
  const top = opts.subtitle ? 78 : 60;
  const hA = 190;
  const hB = 190;
  const hC = Math.max(220, nBlocks * blockRow + 16);
  const gap = 62;
  const H = top + hA + gap + hB + gap + hC + 50;
  const legendX = m.l + pw + 18;

  const out: string[] = [];
  out.push(...svgPlotHead(W, H, opts.title, opts.subtitle, 26));

  // (a) losses.
  const lossSeries: Series[] = [
    { cls: 'train-loss', label: 'train CE (weight steps)', color: '#1f77b4', values: pts.map((p) => [p.step, p.trainLoss]) },
    { cls: 'val-loss', label: 'validation CE (α steps)', color: '#d62728', values: pts.map((p) => [p.step, p.valLoss ?? NaN]) },
  ];
  const [fa, aTicks] = valueFrame(
    { x: m.l, y: top, w: pw, h: hA, xMax },
    lossSeries.flatMap((s) => s.values.map((v) => v[1])),
  );
  panel(out, fa, '(a) cross-entropy loss', 'CE (nats)', null, warmup, aTicks);
  lines(out, fa, lossSeries);
  const warmupEntry: LegendEntry[] = warmup > 0 ? [{ label: 'warm-up (α frozen)', color: WARMUP_FILL, swatch: true }] : [];
  legend(out, legendX, fa.y + 10, [...lossSeries, ...warmupEntry]);

  // (b) cost, in ms or in millions of MAdds.
  const ms = (data.unit ?? 'ms') === 'ms';
  const scale = ms ? 1 : 1e-6;
  const unitText = ms ? 'ms' : 'M MAdds';
  const target = data.target != null ? data.target * scale : null;
  const latSeries: Series[] = [
    {
      cls: 'expected-cost',
      label: `${ms ? 'E[lat]' : 'E[MAdds]'} under softmax(α)`,
      color: '#2ca02c',
      width: 2,
      values: pts.map((p) => [p.step, (p.expectedCost ?? NaN) * scale]),
    },
    {
      cls: 'argmax-cost',
      label: 'argmax network',
      color: '#9467bd',
      width: 1.2,
      values: pts.map((p) => [p.step, (p.argmaxCost ?? NaN) * scale]),
    },
  ];
  const latValues = latSeries.flatMap((s) => s.values.map((v) => v[1]));
  const [fb, bTicks] = valueFrame(
    { x: m.l, y: fa.y + hA + gap, w: pw, h: hB, xMax },
    target !== null && Number.isFinite(target) ? [...latValues, target] : latValues,
  );
  panel(out, fb, ms ? '(b) latency' : '(b) multiply-adds', ms ? 'latency (ms)' : 'MAdds (millions)', null, warmup, bTicks);
  const latLegend: LegendEntry[] = [...latSeries];
  if (target !== null && Number.isFinite(target)) {
    const ty = r1(Y(fb, target));
    out.push(
      `<line class="target" x1="${fb.x}" y1="${ty}" x2="${fb.x + fb.w}" y2="${ty}" stroke="#000000" stroke-width="1.2" stroke-dasharray="6 4"/>`,
    );
    out.push(
      `<text x="${fb.x + fb.w - 4}" y="${r1(ty - 5)}" text-anchor="end" font-size="11">${escapeXml(`target ${Number(target.toPrecision(6))} ${unitText}`)}</text>`,
    );
    latLegend.push({ label: `target ${Number(target.toPrecision(6))} ${unitText}`, color: '#000000', dash: '6 4', width: 1.2 });
  }
  lines(out, fb, latSeries);
  legend(out, legendX, fb.y + 10, latLegend);

  // (c) α evolution: probability of each block's final choice.
  const yc = fb.y + hB + gap;
  const cTicks = [0, 0.25, 0.5, 0.75, 1];
  const fc: Frame = { x: m.l, y: yc, w: pw, h: hC, xMax, yLo: 0, yHi: 1 };
  panel(
    out,
    fc,
    '(c) α evolution: softmax(α) of each block’s final choice',
    'probability',
    'weight step (warm-up + search)',
    warmup,
    cTicks,
  );
  const lastProbs = [...pts].reverse().find((p) => p.probs)?.probs;
  const blockSeries: Series[] = data.choices.map((c, b) => ({
    cls: 'block-prob',
    label: `b${b + 1} ${data.names?.[b] ?? `candidate ${c}`}${Number.isFinite(lastProbs?.[b]?.[c]) ? `  p=${lastProbs![b][c].toFixed(2)}` : ''}`,
    color: PALETTE[b % PALETTE.length],
    dash: DASHES[Math.floor(b / PALETTE.length) % DASHES.length] || undefined,
    width: 1.4,
    values: pts.map((p) => [p.step, p.probs?.[b]?.[c] ?? NaN]),
  }));
  lines(out, fc, blockSeries);
  if (!pts.some((p) => p.probs)) {
    out.push(
      `<text x="${r1(fc.x + fc.w / 2)}" y="${r1(fc.y + fc.h / 2)}" text-anchor="middle" fill="#888888">no α recorded</text>`,
    );
  }
  legend(out, legendX, fc.y + 8, blockSeries, blockRow);

  out.push(`</svg>`);
  return out.join('\n') + '\n';
}
