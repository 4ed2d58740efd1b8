/**
 * docs/bench.md names every script of bench/ (what it measures, its smallest command), and no
 * reproduction command in the docs writes over tracked evidence: an output option (--json, --svg,
 * --out, --plot, ...) never names a file the repository already holds.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/paths.js';

const OUTPUT_OPTIONS = ['json', 'svg', 'out', 'plot', 'save-space', 'csv', 'markdown-out'];

/** Every inline or fenced command of a markdown text, whitespace (line breaks too) folded. */
function commands(md: string): string[] {
  const spans = [...md.matchAll(/```[^\n]*\n([\s\S]*?)```|`([^`]+)`/g)].map((m) => (m[1] ?? m[2]).replace(/\s+/g, ' ').trim());
  return spans.filter((c) => /^(npx|npm|node|wgnas|bash|python3|\/usr\/bin\/python3) /.test(c));
}

describe('bench docs', () => {
  it('docs/bench.md names every bench/ script', () => {
    const doc = readFileSync(join(REPO, 'docs', 'bench.md'), 'utf8');
    const scripts = readdirSync(join(REPO, 'bench')).filter((f) => /\.(ts|py)$/.test(f));
    expect(scripts.length).toBeGreaterThan(10);
    for (const f of scripts) expect(doc, f).toContain(`\`${f}\``);
  });

  it('no documented command writes to a file the repository holds', () => {
    const docs = [
      'README.md',
      ...readdirSync(join(REPO, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ];
    const clobbers: string[] = [];
    for (const doc of docs) {
      for (const c of commands(readFileSync(join(REPO, doc), 'utf8'))) {
        for (const m of c.matchAll(new RegExp(`--(${OUTPUT_OPTIONS.join('|')})[= ](\\S+)`, 'g')))
          if (existsSync(join(REPO, m[2]))) clobbers.push(`${doc}: --${m[1]} ${m[2]} in \`${c.slice(0, 80)}\``);
      }
    }
    expect(clobbers).toEqual([]);
  });
});
