/**
 * The learning curve of `wgnas train` as a hand-written SVG (no dependencies, like the search
 * plots): (a) train and test cross-entropy, (b) train and test accuracy, per epoch.
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

function panel(y0: number, title: string, xs: number[], series: Series[], fixed?: [number, number]): string {
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  let [lo, hi] = fixed ?? [Math.min(...all), Math.max(...all)];
  if (!(hi > lo)) [lo, hi] = [lo - 0.5, hi + 0.5];
  const x0 = M.left;
  const x1 = W - M.right;
  const top = y0 + M.top;
  const bot = y0 + PANEL_H - M.bottom;
  const xMax = Math.max(1, xs[xs.length - 1] ?? 1);
  const px = (x: number) => x0 + ((x1 - x0) * x) / xMax;
  const py = (v: number) => bot - ((bot - top) * (v - lo)) / (hi - lo);
  const parts: string[] = [`<text x="${x0}" y="${y0 + 18}" font-size="13" font-weight="bold">${escapeXml(title)}</text>`];
  parts.push(`<rect x="${x0}" y="${top}" width="${x1 - x0}" height="${bot - top}" fill="none" stroke="#999"/>`);
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    parts.push(`<text x="${x0 - 6}" y="${py(v) + 4}" font-size="10" text-anchor="end">${v.toPrecision(3)}</text>`);
  }
  const ticks = Math.min(xMax, 10);
  for (let i = 0; i <= ticks; i++) {
    const e = Math.round((xMax * i) / ticks);
    parts.push(`<text x="${px(e)}" y="${bot + 14}" font-size="10" text-anchor="middle">${e}</text>`);
  }
  parts.push(`<text x="${(x0 + x1) / 2}" y="${bot + 28}" font-size="11" text-anchor="middle">epoch</text>`);
  series.forEach((s, i) => {
    const pts = xs.map((x, j) => [x, s.values[j]] as const).filter(([, v]) => Number.isFinite(v));
    if (pts.length > 0) {
      parts.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map(([x, v]) => `${px(x).toFixed(1)},${py(v).toFixed(1)}`).join(' ')}"/>`,
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
      { label: 'test', color: '#d62728', values: at((h) => h.testLoss) },
    ]),
    panel(
      head + PANEL_H,
      '(b) accuracy',
      xs,
      [
        { label: 'train (augmented)', color: '#1f77b4', values: at((h) => h.trainAcc) },
        { label: 'test', color: '#d62728', values: at((h) => h.testAcc) },
      ],
      [0, 1],
    ),
    '</svg>',
    '',
  ].join('\n');
}
