/** Escapes text for XML/SVG attributes and content (the plots write SVG by hand). */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/**
 * The opening of a hand-written SVG plot: the XML declaration, a W x H <svg> (sans-serif, 12 px),
 * a white background, the title centred at `titleY` and the subtitle, if any, 20 px below it.
 */
export function svgPlotHead(W: number, H: number, title: string, subtitle: string | undefined, titleY: number): string[] {
  const head = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="${titleY}" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  if (subtitle)
    head.push(`<text x="${W / 2}" y="${titleY + 20}" text-anchor="middle" fill="#555555">${escapeXml(subtitle)}</text>`);
  return head;
}
