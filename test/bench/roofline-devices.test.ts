/**
 * The roofline plot draws only what its roofline bounds (points of another device are named, not
 * drawn), gives every kernel its own colour however many there are, and keeps labels apart.
 */
import { describe, expect, it } from 'vitest';
import type { BenchReport, BenchResult } from '../../src/bench/harness.js';
import { rooflinePoints } from '../../src/bench/report.js';
import { type RooflinePoint, rooflineSvg } from '../../src/bench/roofline.js';

const ok = (gflops: number) => ({ status: 'ok', gflops }) as never;

function report(device: 'gpu' | 'cpu'): BenchReport {
  const result = {
    kernel: 'matmul',
    label: '64x64x64',
    shape: {},
    flops: 1,
    bytes: 1,
    intensity: 10,
    ours: { gflops: 5 },
    baselines: { 'tfjs-webgpu': ok(4), onednn: ok(20), cpu: ok(0.5), gpujs: ok(1) },
  } as unknown as BenchResult;
  return { device, results: [result] } as unknown as BenchReport;
}

/** Each point label's box (6 px a character, 12 px a line), as drawn. */
function labelBoxes(svg: string) {
  return [
    ...svg.matchAll(/<text class="point-label" x="([\d.-]+)" y="([\d.-]+)"( text-anchor="end")?[^>]*>([^<]*)<\/text>/g),
  ].map((m) => {
    const x = Number(m[1]);
    const w = m[4].replace(/&[a-z]+;/g, '_').length * 6;
    return { x0: m[3] ? x - w : x, x1: m[3] ? x : x + w, y: Number(m[2]) };
  });
}

describe('roofline devices, colours, labels', () => {
  it('a GPU report: the CPU baselines are off its roofline; a CPU report: the GPU ones', () => {
    const off = (d: 'gpu' | 'cpu') =>
      rooflinePoints(report(d))
        .filter((p) => p.otherDevice)
        .map((p) => p.series)
        .sort();
    expect(off('gpu')).toEqual(['cpu', 'gpujs', 'onednn']);
    expect(off('cpu')).toEqual(['gpujs', 'tfjs-webgpu']);
  });

  it('points of another device are not drawn, only named in the legend', () => {
    const svg = rooflineSvg(rooflinePoints(report('gpu')), { title: 't', peak: { gflops: 10, gbps: 1 } });
    expect(svg.match(/data-series="(onednn|cpu|gpujs)"/g)).toBeNull();
    expect(svg.match(/class="point" /g)).toHaveLength(2); // ours and tfjs-webgpu
    expect(svg).toContain('not drawn (another device):');
    for (const s of ['onednn', 'cpu', 'gpujs']) expect(svg).toMatch(new RegExp(`class="off-roof"[^>]*>${s}<`));
  });

  it('every kernel its own colour, past the palette too', () => {
    const pts: RooflinePoint[] = Array.from({ length: 14 }, (_, i) => ({
      kernel: `k${i}`,
      label: 's',
      series: 'ours',
      intensity: 2 ** i,
      gflops: 1 + i,
    }));
    const svg = rooflineSvg(pts, { title: 't' });
    const fills = [...svg.matchAll(/<circle class="point" data-kernel="(k\d+)"[^>]* fill="([^"]+)"/g)].map((m) => m[2]);
    expect(fills).toHaveLength(14);
    expect(new Set(fills).size).toBe(14);
  });

  it('labels of crowded points, and the peak label, do not overlap', () => {
    const pts: RooflinePoint[] = Array.from({ length: 12 }, (_, i) => ({
      kernel: 'conv2d',
      label: `shape ${i}`,
      series: 'ours',
      intensity: 20 * (1 + i * 0.02),
      gflops: 9 * (1 + i * 0.01),
    }));
    const svg = rooflineSvg(pts, { title: 't', peak: { gflops: 10, gbps: 0.5 } });
    const boxes = labelBoxes(svg);
    expect(boxes).toHaveLength(12);
    const peak = svg.match(/<text class="roof-label" x="([\d.]+)" y="([\d.]+)">(peak [^<]*)<\/text>/)!;
    boxes.push({ x0: Number(peak[1]), x1: Number(peak[1]) + peak[3].length * 6, y: Number(peak[2]) });
    for (let a = 0; a < boxes.length; a++) {
      for (let b = a + 1; b < boxes.length; b++) {
        const [p, q] = [boxes[a], boxes[b]];
        const overlap = p.x0 < q.x1 && q.x0 < p.x1 && Math.abs(p.y - q.y) < 12;
        expect(overlap, `labels ${a} and ${b} overlap`).toBe(false);
      }
    }
  });
});
