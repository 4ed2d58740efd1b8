/**
 * Roofline plot as a hand-written SVG: log-log axes (arithmetic intensity in FLOP/byte vs GFLOP/s),
 * the adapter's bandwidth slope and compute ceiling, one labelled point per kernel/shape for ours
 * and hollow unlabelled markers for the baselines, one marker shape per baseline (square, triangle,
 * diamond, down-triangle, cross, plus, in order of appearance). Points measured on another device
 * than the roofline's (oneDNN on the CPU under a GPU roofline) are not drawn, only named: a roofline
 * bounds its own device alone.
 */
import { escapeXml, svgPlotHead } from '../util/xml.js';

export interface RooflinePoint {
  kernel: string;
  label: string;
  /** 'ours' points are labelled; others (baselines) are drawn as hollow markers. */
  series: string;
  intensity: number;
  gflops: number;
  /** Measured on another device than the roofline's (not drawn; named in the legend). */
  otherDevice?: boolean;
}

export interface RooflineOptions {
  title: string;
  subtitle?: string;
  peak?: { gflops: number; gbps: number; source?: string };
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

/** Colour i of k: the palette, or evenly spaced hues when there are more kernels than it has (never two alike). */
function kernelColor(i: number, k: number): string {
  if (k <= PALETTE.length) return PALETTE[i];
  return `hsl(${Math.round((i * 360) / k)}, 70%, ${i % 2 ? 35 : 50}%)`;
}

export { escapeXml };

function decadeLabel(e: number): string {
  const v = 10 ** e;
  if (e >= 3 && e < 6) return `${10 ** (e - 3)}k`;
  if (e >= 6 && e < 9) return `${10 ** (e - 6)}M`;
  if (e >= -3 && e < 3) return String(Number(v.toPrecision(1)));
  return `1e${e}`;
}

const n = (v: number) => Number(v.toFixed(1));

/** Hollow marker number `i` centred on (x, y): the shapes cycle through six. */
function baselineMarker(i: number, x: number, y: number, color: string, attrs: string, title: string): string {
  const a = attrs ? `${attrs} ` : '';
  const style = `fill="none" stroke="${color}" stroke-width="1.5"`;
  const el = (tag: string, geo: string) =>
    title ? `<${tag} ${a}${geo} ${style}>${title}</${tag}>` : `<${tag} ${a}${geo} ${style}/>`;
  const p = (d: string) => el('path', `d="${d}"`);
  switch (((i % 6) + 6) % 6) {
    case 0:
      return el('rect', `x="${n(x - 4)}" y="${n(y - 4)}" width="8" height="8"`);
    case 1:
      return p(`M${n(x)},${n(y - 5)} L${n(x + 5)},${n(y + 4)} L${n(x - 5)},${n(y + 4)} Z`);
    case 2:
      return p(`M${n(x)},${n(y - 5)} L${n(x + 5)},${n(y)} L${n(x)},${n(y + 5)} L${n(x - 5)},${n(y)} Z`);
    case 3:
      return p(`M${n(x)},${n(y + 5)} L${n(x + 5)},${n(y - 4)} L${n(x - 5)},${n(y - 4)} Z`);
    case 4:
      return p(`M${n(x - 4)},${n(y - 4)} L${n(x + 4)},${n(y + 4)} M${n(x - 4)},${n(y + 4)} L${n(x + 4)},${n(y - 4)}`);
    default:
      return p(`M${n(x - 5)},${n(y)} L${n(x + 5)},${n(y)} M${n(x)},${n(y - 5)} L${n(x)},${n(y + 5)}`);
  }
}

export function rooflineSvg(points: readonly RooflinePoint[], opts: RooflineOptions): string {
  const W = opts.width ?? 960;
  const H = opts.height ?? 620;
  const m = { l: 78, r: 190, t: opts.subtitle ? 70 : 52, b: 58 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const plottable = points.filter(
    (p) => p.intensity > 0 && p.gflops > 0 && Number.isFinite(p.intensity) && Number.isFinite(p.gflops),
  );
  const pts = plottable.filter((p) => !p.otherDevice);
  const offRoof = [...new Set(plottable.filter((p) => p.otherDevice).map((p) => p.series))];
  const peak = opts.peak && opts.peak.gflops > 0 && opts.peak.gbps > 0 ? opts.peak : undefined;
  const ridge = peak ? peak.gflops / peak.gbps : undefined;

  // Axis ranges: whole decades around the points, the ridge and the ceiling.
  const xs = pts.map((p) => p.intensity).concat(ridge ? [ridge] : []);
  const ys = pts.map((p) => p.gflops).concat(peak ? [peak.gflops] : []);
  const lx0 = Math.floor(Math.log10(Math.min(...xs, 1)) - 0.01);
  // Extra room on the right for the labels of the highest-intensity points.
  const lx1 = Math.ceil(Math.log10(Math.max(...xs, 10)) + 0.35);
  const ly0 = Math.floor(Math.log10(Math.min(...ys, 1)) - 0.01);
  const ly1 = Math.ceil(Math.log10(Math.max(...ys, 10)) + 0.3);
  const X = (v: number) => m.l + ((Math.log10(v) - lx0) / (lx1 - lx0)) * pw;
  const Y = (v: number) => m.t + ph - ((Math.log10(v) - ly0) / (ly1 - ly0)) * ph;

  // Label boxes already placed (x0, x1, baseline y), to push point labels clear of them: the roof's
  // labels first, then each point's.
  const placed: Array<{ x0: number; x1: number; y: number }> = [];
  const LABEL_CHAR_PX = 6;
  const LABEL_LINE_PX = 12;
  const out: string[] = [];
  out.push(...svgPlotHead(W, H, opts.title, opts.subtitle, 24));

  // Grid and tick labels.
  out.push(`<g class="grid" stroke="#e0e0e0" stroke-width="1">`);
  for (let e = lx0; e <= lx1; e++) out.push(`<line x1="${n(X(10 ** e))}" y1="${m.t}" x2="${n(X(10 ** e))}" y2="${m.t + ph}"/>`);
  for (let e = ly0; e <= ly1; e++) out.push(`<line x1="${m.l}" y1="${n(Y(10 ** e))}" x2="${m.l + pw}" y2="${n(Y(10 ** e))}"/>`);
  out.push(`</g>`);
  out.push(`<g class="ticks" fill="#333333">`);
  for (let e = lx0; e <= lx1; e++)
    out.push(`<text x="${n(X(10 ** e))}" y="${m.t + ph + 18}" text-anchor="middle">${decadeLabel(e)}</text>`);
  for (let e = ly0; e <= ly1; e++)
    out.push(`<text x="${m.l - 8}" y="${n(Y(10 ** e) + 4)}" text-anchor="end">${decadeLabel(e)}</text>`);
  out.push(`</g>`);
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333333"/>`);
  out.push(
    `<text x="${m.l + pw / 2}" y="${H - 14}" text-anchor="middle">arithmetic intensity (FLOP / byte of minimum traffic)</text>`,
  );
  out.push(`<text transform="translate(20 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">GFLOP/s (f32)</text>`);

  // Roofline: bandwidth slope up to the ridge, then the compute ceiling.
  if (peak && ridge) {
    const xMin = 10 ** lx0;
    const xMax = 10 ** lx1;
    const yMin = 10 ** ly0;
    const startX = Math.max(xMin, yMin / peak.gbps);
    out.push(
      `<polyline class="roof" points="${n(X(startX))},${n(Y(startX * peak.gbps))} ${n(X(ridge))},${n(Y(peak.gflops))} ${n(X(xMax))},${n(Y(peak.gflops))}" fill="none" stroke="#000000" stroke-width="2"/>`,
    );
    const src = peak.source ? ` (${peak.source})` : '';
    // Just right of the ridge, where kernel points (usually right of it or below) rarely are.
    const peakText = `peak ${peak.gflops.toPrecision(3)} GFLOP/s${src}`;
    out.push(`<text class="roof-label" x="${n(X(ridge) + 6)}" y="${n(Y(peak.gflops) - 6)}">${escapeXml(peakText)}</text>`);
    placed.push({ x0: X(ridge) + 6, x1: X(ridge) + 6 + peakText.length * 6.5, y: Y(peak.gflops) - 6 });
    // Label along the slope, rotated to its on-screen angle.
    const ax = Math.max(startX, ridge / 100);
    const angle = (Math.atan2(Y(ridge * 0.9 * peak.gbps) - Y(ax * peak.gbps), X(ridge * 0.9) - X(ax)) * 180) / Math.PI;
    out.push(
      `<text class="roof-label" transform="translate(${n(X(ax) + 4)} ${n(Y(ax * peak.gbps) - 6)}) rotate(${n(angle)})">${peak.gbps.toPrecision(3)} GB/s</text>`,
    );
  }

  // Points.
  const kernels = [...new Set(pts.map((p) => p.kernel))];
  const color = (k: string) => kernelColor(kernels.indexOf(k), kernels.length);
  const series = [...new Set(pts.map((p) => p.series))];
  out.push(`<g class="points">`);
  for (const p of pts) {
    const x = n(X(p.intensity));
    const y = n(Y(p.gflops));
    const attrs = `data-kernel="${escapeXml(p.kernel)}" data-label="${escapeXml(p.label)}" data-series="${escapeXml(p.series)}" data-intensity="${p.intensity}" data-gflops="${p.gflops}"`;
    const title = `<title>${escapeXml(`${p.series}: ${p.kernel} ${p.label}: ${p.gflops.toPrecision(3)} GFLOP/s at ${p.intensity.toPrecision(3)} FLOP/B`)}</title>`;
    const c = color(p.kernel);
    if (p.series === 'ours') {
      out.push(
        `<circle class="point" ${attrs} cx="${x}" cy="${y}" r="5" fill="${c}" stroke="#000000" stroke-width="0.5">${title}</circle>`,
      );
      // Right of the point, or left of it when that would leave the plot; then nudged up/down
      // (0, +1, -1, +2, ... lines) until its box clears the labels already placed.
      const text = `${p.kernel} ${p.label}`;
      const width = text.length * LABEL_CHAR_PX;
      const right = x + 8 + width <= m.l + pw;
      const x0 = right ? x + 8 : x - 8 - width;
      const x1 = x0 + width;
      let ly = y + 4;
      for (let i = 1; placed.some((q) => q.x0 < x1 && x0 < q.x1 && Math.abs(q.y - ly) < LABEL_LINE_PX) && i < 40; i++) {
        ly = y + 4 + (i % 2 === 1 ? 1 : -1) * Math.ceil(i / 2) * LABEL_LINE_PX;
      }
      placed.push({ x0, x1, y: ly });
      if (Math.abs(ly - (y + 4)) > LABEL_LINE_PX / 2) {
        // Displaced label: a faint leader line back to its point.
        out.push(
          `<line class="leader" x1="${x}" y1="${y}" x2="${n(right ? x0 - 2 : x1 + 2)}" y2="${n(ly - 3)}" stroke="${c}" stroke-width="0.5" stroke-opacity="0.6"/>`,
        );
      }
      const anchor = right ? '' : ' text-anchor="end"';
      out.push(
        `<text class="point-label" x="${n(right ? x0 : x1)}" y="${n(ly)}"${anchor} fill="${c}" font-size="10">${escapeXml(text)}</text>`,
      );
    } else {
      out.push(baselineMarker(series.filter((q) => q !== 'ours').indexOf(p.series), x, y, c, `class="point" ${attrs}`, title));
    }
  }
  out.push(`</g>`);

  // Legend: kernels by colour, series by marker.
  const lx = m.l + pw + 16;
  let ly = m.t + 8;
  out.push(`<g class="legend">`);
  for (const k of kernels) {
    out.push(
      `<circle cx="${lx + 6}" cy="${ly}" r="5" fill="${color(k)}"/><text x="${lx + 16}" y="${ly + 4}">${escapeXml(k)}</text>`,
    );
    ly += 18;
  }
  ly += 6;
  series.forEach((s) => {
    const marker =
      s === 'ours'
        ? `<circle cx="${lx + 6}" cy="${ly}" r="5" fill="#777777"/>`
        : baselineMarker(series.filter((q) => q !== 'ours').indexOf(s), lx + 6, ly, '#777777', '', '');
    out.push(`${marker}<text x="${lx + 16}" y="${ly + 4}">${escapeXml(s)}</text>`);
    ly += 18;
  });
  if (offRoof.length) {
    ly += 6;
    out.push(`<text class="off-roof" x="${lx}" y="${ly + 4}" fill="#555555">not drawn (another device):</text>`);
    for (const s of offRoof) {
      ly += 16;
      out.push(`<text class="off-roof" x="${lx + 8}" y="${ly + 4}" fill="#555555">${escapeXml(s)}</text>`);
    }
  }
  out.push(`</g>`);
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}
