import { describe, expect, it } from 'vitest';
import { escapeXml, type RooflinePoint, rooflineSvg } from '../../src/bench/roofline.js';

/**
 * Minimal XML well-formedness check (no parser in Node's standard library): balanced, properly
 * nested tags, quoted attributes with unique names, only known entities, no raw '<' or '&' in text.
 * Returns the element names in document order.
 */
function checkXml(xml: string): string[] {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const names: string[] = [];
  const entity = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/y;
  const checkText = (t: string, where: string) => {
    for (let i = 0; i < t.length; i++) {
      if (t[i] === '<') throw new Error(`raw '<' in ${where}`);
      if (t[i] === '&') {
        entity.lastIndex = i;
        if (!entity.test(t)) throw new Error(`bad entity in ${where}: ${t.slice(i, i + 10)}`);
      }
    }
  };
  let i = 0;
  let roots = 0;
  while (i < body.length) {
    const lt = body.indexOf('<', i);
    if (lt < 0) {
      checkText(body.slice(i), 'text');
      break;
    }
    checkText(body.slice(i, lt), 'text');
    const gt = body.indexOf('>', lt);
    if (gt < 0) throw new Error('unterminated tag');
    const tag = body.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}>`);
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const m = /^([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*="[^"<]*")*)\s*\/?$/.exec(tag);
    if (!m) throw new Error(`malformed tag <${tag.slice(0, 60)}>`);
    const attrNames = [...m[2].matchAll(/([A-Za-z_][\w:.-]*)="([^"]*)"/g)].map((a) => {
      checkText(a[2], `attribute ${a[1]}`);
      return a[1];
    });
    if (new Set(attrNames).size !== attrNames.length) throw new Error(`duplicate attribute in <${m[1]}>`);
    if (stack.length === 0) roots++;
    names.push(m[1]);
    if (!selfClosing) stack.push(m[1]);
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
  return names;
}

const points: RooflinePoint[] = [
  { kernel: 'matmul', label: '512x512x512', series: 'ours', intensity: 85.3, gflops: 1.5 },
  { kernel: 'matmul', label: '512x512x512', series: 'tfjs', intensity: 85.3, gflops: 2.8 },
  { kernel: 'matmul', label: '512x512x512', series: 'cpu', intensity: 85.3, gflops: 1.0 },
  { kernel: 'correlation', label: '4x64x4096', series: 'ours', intensity: 31.5, gflops: 0.64 },
  { kernel: 'copy', label: '16 MiB', series: 'ours', intensity: 0.125, gflops: 0.5 },
  { kernel: 'weird <&> "kernel"', label: "a'b", series: 'ours', intensity: 2, gflops: 3 },
];

describe('roofline SVG', () => {
  it('is well-formed and has one marker per point, labelled for ours', () => {
    const svg = rooflineSvg(points, {
      title: 'Roofline: test & <gpu>',
      subtitle: 'x',
      peak: { gflops: 30, gbps: 4, source: 'calibrated' },
    });
    const names = checkXml(svg);
    expect(names[0]).toBe('svg');
    expect(svg).toMatch(/^<\?xml version="1.0"/);
    const markers = [...svg.matchAll(/class="point" ([^>]*)>/g)];
    expect(markers).toHaveLength(points.length);
    for (const p of points) {
      const attr = `data-kernel="${escapeXml(p.kernel)}" data-label="${escapeXml(p.label)}" data-series="${p.series}"`;
      expect(svg).toContain(attr);
    }
    expect(markers.filter((m) => m[0].startsWith('class="point" data-kernel') && /data-series="ours"/.test(m[1]))).toHaveLength(
      4,
    );
    expect(svg.match(/class="point-label"/g)).toHaveLength(4);
    expect(svg).toContain('correlation 4x64x4096');
    // Roofline: slope, ridge at 30/4 = 7.5 FLOP/B, ceiling; labelled with the peak numbers.
    expect(svg).toMatch(/class="roof" points="[\d.]+,[\d.]+ [\d.]+,[\d.]+ [\d.]+,[\d.]+"/);
    expect(svg).toContain('peak 30.0 GFLOP/s');
    expect(svg).toContain('4.00 GB/s');
    expect(svg).toContain('Roofline: test &amp; &lt;gpu&gt;');
  });

  it('places points monotonically on log axes', () => {
    const svg = rooflineSvg(points, { title: 't', peak: { gflops: 30, gbps: 4 } });
    const pos = (label: string, series = 'ours') => {
      const m = new RegExp(`data-label="${label}" data-series="${series}"[^>]*cx="([\\d.]+)" cy="([\\d.]+)"`).exec(svg);
      if (!m) throw new Error(`no point ${label}`);
      return { x: Number(m[1]), y: Number(m[2]) };
    };
    const mm = pos('512x512x512');
    const cor = pos('4x64x4096');
    const copy = pos('16 MiB');
    expect(mm.x).toBeGreaterThan(cor.x);
    expect(cor.x).toBeGreaterThan(copy.x);
    expect(mm.y).toBeLessThan(cor.y); // more GFLOP/s is higher up (smaller y)
  });

  it('stays well-formed without a peak and with nothing to plot, skipping unplottable points', () => {
    checkXml(rooflineSvg([], { title: 'empty' }));
    const svg = rooflineSvg(
      [
        { kernel: 'k', label: 'zero', series: 'ours', intensity: 0, gflops: 1 },
        { kernel: 'k', label: 'nan', series: 'ours', intensity: 1, gflops: NaN },
        { kernel: 'k', label: 'ok', series: 'ours', intensity: 1, gflops: 1 },
      ],
      { title: 'no peak' },
    );
    checkXml(svg);
    expect(svg.match(/class="point"/g)).toHaveLength(1);
    expect(svg).not.toContain('class="roof"');
  });

  it('the checker itself rejects broken XML', () => {
    expect(() => checkXml('<svg><g></svg>')).toThrow();
    expect(() => checkXml('<svg a="1" a="2"/>')).toThrow(/duplicate/);
    expect(() => checkXml('<svg>a & b</svg>')).toThrow(/entity/);
    expect(() => checkXml('<svg x=1/>')).toThrow(/malformed/);
  });
});
