/**
 * The learning curve of `wgnas train` as a hand-written SVG (no dependencies, like the search
 * plots): (a) train, val (train --val) and test cross-entropy, (b) their accuracy, per epoch; each
 * axis at evenly spaced round ticks.
 */
import { escapeXml } from '../util/xml.js';
import type { EpochRecord } from './trainer.js';

interface Series {
  label: string;
  color: string;
  values: number[];
}

const W = 640;
const PANEL_H = 200;
const M = { left: 56, right: 150, top: 28, bottom: 34 };

/** The round step (1, 2 or 5 times a power of 10) that cuts `span` into nearest `parts` parts, and the decimals it prints with. */
export function niceStep(span: number, parts: number): { step: number; decimals: number } {
  const e = Math.floor(Math.log10(span / parts));
  const candidates = [1, 2, 5, 10].map((m) => (m === 10 ? { m: 1, exp: e + 1 } : { m, exp: e }));
  // Nearest to `parts` parts; a tie takes the larger step (fewer labels).
  let best = candidates[0];
  const off = (c: { m: number; exp: number }) => Math.abs(span / (c.m * 10 ** c.exp) - parts);
  for (const c of candidates) if (off(c) <= off(best)) best = c;
  return { step: best.m * 10 ** best.exp, decimals: Math.max(0, -best.exp) };
}

/**
 * Evenly spaced tick values covering [lo, hi] (the first at or below lo, the last at or above hi),
 * at a round step, as the labels print them: the axis then runs from the first to the last.
 */
export function niceTicks(lo: number, hi: number, parts = 4): { values: number[]; labels: string[] } {
  const { step, decimals } = niceStep(hi - lo, parts);
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const values: number[] = [];
  // Multiples of the step rounded to its decimals: 0.1 * 3 is 0.3, not 0.30000000000000004.
  for (let k = first; k <= last; k++) values.push(Number((k * step).toFixed(decimals)));
  return { values, labels: values.map((v) => v.toFixed(decimals)) };
}

function panel(y0: number, title: string, xs: number[], series: Series[], fixed?: [number, number]): string {
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  // No finite value (no epoch yet): an empty panel over [0, 1].
  let [lo, hi] = fixed ?? (all.length ? [Math.min(...all), Math.max(...all)] : [0, 1]);
  if (!(hi > lo)) [lo, hi] = [lo - 0.5, hi + 0.5];
  const yTicks = niceTicks(lo, hi);
  lo = yTicks.values[0];
  hi = yTicks.values[yTicks.values.length - 1];
  const x0 = M.left;
  const x1 = W - M.right;
  const top = y0 + M.top;
  const bot = y0 + PANEL_H - M.bottom;
  const xMax = Math.max(1, xs[xs.length - 1] ?? 1);
  const px = (x: number) => x0 + ((x1 - x0) * x) / xMax;
  const py = (v: number) => bot - ((bot - top) * (v - lo)) / (hi - lo);
  const parts: string[] = [`<text x="${x0}" y="${y0 + 18}" font-size="13" font-weight="bold">${escapeXml(title)}</text>`];
  parts.push(`<rect x="${x0}" y="${top}" width="${x1 - x0}" height="${bot - top}" fill="none" stroke="#999"/>`);
  yTicks.values.forEach((v, i) =>
    parts.push(
      `<text x="${x0 - 6}" y="${(py(v) + 4).toFixed(1)}" font-size="10" text-anchor="end" class="y-tick">${yTicks.labels[i]}</text>`,
    ),
  );
  // Whole epochs at a round step, up to about 10 of them.
  const xStep = Math.max(1, niceStep(xMax, 10).step);
  for (let e = 0; e <= xMax; e += xStep)
    parts.push(`<text x="${px(e).toFixed(1)}" y="${bot + 14}" font-size="10" text-anchor="middle" class="x-tick">${e}</text>`);
  parts.push(`<text x="${(x0 + x1) / 2}" y="${bot + 28}" font-size="11" text-anchor="middle">epoch</text>`);
  series.forEach((s, i) => {
    const pts = xs.map((x, j) => [x, s.values[j]] as const).filter(([, v]) => Number.isFinite(v));
    if (pts.length > 0) {
      parts.push(
        `<polyline class="series" data-label="${escapeXml(s.label)}" fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map(([x, v]) => `${px(x).toFixed(1)},${py(v).toFixed(1)}`).join(' ')}"/>`,
      );
      for (const [x, v] of pts)
        parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(v).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    }
    const ly = top + 14 + 18 * i;
    parts.push(`<line x1="${x1 + 12}" y1="${ly - 4}" x2="${x1 + 32}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`);
    parts.push(`<text x="${x1 + 38}" y="${ly}" font-size="11">${escapeXml(s.label)}</text>`);
  });
  return parts.join('\n');
}

/**
 * Advance widths in 1/1000 em of DejaVu Sans, regular and bold, for ASCII from ' ' (32) to '~' (126):
 * what 'sans-serif' is on most Linux systems and the widest of the usual ones (Helvetica and Arial
 * run 10-20 % narrower), so a line estimated to fit does everywhere. Other characters count as 1 em.
 */
const ADVANCE = {
  regular: [
    318, 401, 460, 838, 636, 950, 780, 275, 391, 391, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636, 636, 636, 636, 636,
    636, 337, 337, 838, 838, 838, 531, 1000, 712, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 558, 863, 748, 788, 603, 788,
    695, 635, 594, 732, 684, 989, 685, 611, 685, 391, 337, 391, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278,
    580, 278, 975, 634, 612, 635, 635, 394, 521, 393, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
  ],
  bold: [
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 366, 696, 696, 696, 696, 696, 696, 696, 696, 696,
    696, 400, 400, 838, 838, 838, 580, 1000, 774, 763, 734, 830, 683, 683, 821, 837, 372, 372, 775, 638, 995, 837, 850, 733, 850,
    770, 675, 705, 812, 774, 1103, 771, 724, 725, 457, 366, 457, 838, 500, 500, 675, 716, 593, 716, 679, 435, 716, 712, 343, 343,
    665, 343, 1042, 712, 687, 716, 716, 493, 596, 478, 712, 652, 924, 645, 652, 582, 712, 366, 712, 838,
  ],
};

/** The width of `text` in px at `size` px, in DejaVu Sans (ADVANCE). */
export function textWidthPx(text: string, size: number, bold = false): number {
  const table = bold ? ADVANCE.bold : ADVANCE.regular;
  let em = 0;
  for (const ch of text) em += table[ch.charCodeAt(0) - 32] ?? 1000;
  return (em / 1000) * size;
}

/**
 * `text` in lines of at most `maxPx` (estimated, with 2 % to spare), broken after a space or a
 * cell string's '|', '+', ';' (mid-word where a word alone is wider); beyond `maxLines` the last
 * line ends in '…'.
 */
export function wrapText(text: string, maxPx: number, size: number, bold: boolean, maxLines: number): string[] {
  const fits = (t: string) => textWidthPx(t, size, bold) * 1.02 <= maxPx;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/(?<=[ |+;,])/)) {
    if (fits(line + word)) line += word;
    else {
      if (line) lines.push(line.trimEnd());
      line = word.trimStart();
      while (!fits(line)) {
        let n = line.length - 1;
        while (n > 1 && !fits(line.slice(0, n))) n--;
        lines.push(line.slice(0, n));
        line = line.slice(n);
      }
    }
  }
  if (line) lines.push(line.trimEnd());
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  let last = kept[maxLines - 1];
  while (last.length > 0 && !fits(`${last}…`)) last = last.slice(0, -1);
  kept[maxLines - 1] = `${last.trimEnd()}…`;
  return kept;
}

/** The SVG text of the learning curve; `title` names the network and data. */
export function learningCurveSvg(history: readonly EpochRecord[], title: string, subtitle = ''): string {
  // Network descriptions run long (a MobileNet lists every cell): wrapped to the width, two lines at most.
  const width = W - M.left - 8;
  const titles = wrapText(title, width, 14, true, 2);
  const subtitles = subtitle ? wrapText(subtitle, width, 11, false, 2) : [];
  const xs = [0, ...history.map((h) => h.epoch)];
  // Epoch 0 has no measurement: the curves start at the first epoch.
  const at = (f: (h: EpochRecord) => number) => [NaN, ...history.map(f)];
  // The held-out images (train --val), when there were some: the epoch kept is picked on them.
  const hasVal = history.some((h) => Number.isFinite(h.valLoss));
  const val = (f: (h: EpochRecord) => number | undefined): Series[] =>
    hasVal ? [{ label: 'val', color: '#2ca02c', values: at((h) => f(h) ?? NaN) }] : [];
  const head = 13 + 17 * titles.length + 14 * subtitles.length;
  const H = head + 2 * PANEL_H;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    ...titles.map((t, i) => `<text x="${M.left}" y="${20 + 17 * i}" font-size="14" font-weight="bold">${escapeXml(t)}</text>`),
    ...subtitles.map(
      (t, i) =>
        `<text x="${M.left}" y="${20 + 17 * titles.length + 14 * i - 1}" font-size="11" fill="#555">${escapeXml(t)}</text>`,
    ),
    panel(head, '(a) cross-entropy', xs, [
      { label: 'train (smoothed)', color: '#1f77b4', values: at((h) => h.trainLoss) },
      ...val((h) => h.valLoss),
      { label: 'test', color: '#d62728', values: at((h) => h.testLoss) },
    ]),
    panel(
      head + PANEL_H,
      '(b) accuracy',
      xs,
      [
        { label: 'train (augmented)', color: '#1f77b4', values: at((h) => h.trainAcc) },
        ...val((h) => h.valAcc),
        { label: 'test', color: '#d62728', values: at((h) => h.testAcc) },
      ],
      [0, 1],
    ),
    '</svg>',
    '',
  ].join('\n');
}
