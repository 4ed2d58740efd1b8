/** The SVG plots' shared opening (svgPlotHead) and escaping. */
import { describe, expect, it } from 'vitest';
import { escapeXml, svgPlotHead } from '../../src/util/xml.js';

describe('svgPlotHead', () => {
  it('declares the document, sizes the root, paints the background and centres an escaped title', () => {
    expect(svgPlotHead(300, 200, 'a < b & "c"', undefined, 24)).toEqual([
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200" viewBox="0 0 300 200" font-family="sans-serif" font-size="12">',
      '<rect x="0" y="0" width="300" height="200" fill="#ffffff"/>',
      '<text x="150" y="24" text-anchor="middle" font-size="16" font-weight="bold">a &lt; b &amp; &quot;c&quot;</text>',
    ]);
  });

  it('puts a subtitle 20 px below the title; an empty one is left out', () => {
    const head = svgPlotHead(301, 100, 't', "it's", 26);
    expect(head).toHaveLength(5);
    expect(head[4]).toBe('<text x="150.5" y="46" text-anchor="middle" fill="#555555">it&apos;s</text>');
    expect(svgPlotHead(301, 100, 't', '', 26)).toHaveLength(4);
  });

  it('escapes the five XML specials', () => {
    expect(escapeXml(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&apos;');
  });
});
