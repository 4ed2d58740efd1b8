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

/** The SVG text of the learning curve; `title` names the network and data. */
export function learningCurveSvg(history: readonly EpochRecord[], title: string, subtitle = ''): string {
  // Network descriptions run long (a MobileNet lists every cell): cut to the width.
  const fit = (t: string, chars: number) => (t.length > chars ? `${t.slice(0, chars - 1)}…` : t);
  const xs = [0, ...history.map((h) => h.epoch)];
  // Epoch 0 has no measurement: the curves start at the first epoch.
  const at = (f: (h: EpochRecord) => number) => [NaN, ...history.map(f)];
  const head = 44;
  const H = head + 2 * PANEL_H;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="20" font-size="14" font-weight="bold">${escapeXml(fit(title, 72))}</text>`,
    `<text x="${M.left}" y="36" font-size="11" fill="#555">${escapeXml(fit(subtitle, 100))}</text>`,
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
