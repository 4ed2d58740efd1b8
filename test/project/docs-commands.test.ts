/**
 * The manuals' command lines stay true to the CLI: every `wgnas COMMAND ...` in a code block of
 * README.md and docs/*.md names a command that exists and only its options (docs/cli.md is
 * generated from the specs, so it is not read here), and README.md stays a manual of at most 12000
 * bytes.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/cli.js';
import { REPO } from '../helpers/paths.js';

const DOCS = [
  'README.md',
  ...readdirSync(join(REPO, 'docs'))
    .filter((f) => f.endsWith('.md') && f !== 'cli.md')
    .map((f) => `docs/${f}`),
];

/** `wgnas ...` lines of the fenced blocks (continuations joined, comments dropped), with their line numbers. */
function commandLines(doc: string): { line: number; words: string[] }[] {
  const lines = readFileSync(join(REPO, doc), 'utf8').split('\n');
  const out: { line: number; words: string[] }[] = [];
  let fenced = false;
  for (let i = 0; i < lines.length; i++) {
    if (/^\s*```/.test(lines[i])) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) continue;
    const at = i;
    let text = lines[i];
    while (text.endsWith('\\') && i + 1 < lines.length) text = `${text.slice(0, -1)} ${lines[++i]}`;
    const m = /(?:^|\s)wgnas ([a-z][a-z-]*(?:\s.*)?)$/.exec(text.replace(/\s#\s.*$/, ''));
    if (m && !text.trim().startsWith('#')) out.push({ line: at + 1, words: m[1].trim().split(/\s+/) });
  }
  return out;
}

describe('command lines in the manuals', () => {
  it('name existing commands and only their options', async () => {
    const wrong: string[] = [];
    let seen = 0;
    for (const doc of DOCS) {
      for (const { line, words } of commandLines(doc)) {
        const entry = (COMMANDS as Record<string, (typeof COMMANDS)[string] | undefined>)[words[0]];
        if (!entry) {
          wrong.push(`${doc}:${line}: no command '${words[0]}'`);
          continue;
        }
        seen++;
        const spec = await entry.spec();
        const known = new Set(['help', 'version', 'verbose', ...spec.modes.flatMap((m) => Object.keys(m.options))]);
        for (const w of words.slice(1)) {
          const flag = /^--([a-z][a-z0-9-]*)(=|$)/.exec(w)?.[1];
          if (flag && !known.has(flag)) wrong.push(`${doc}:${line}: wgnas ${words[0]} has no --${flag}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(seen).toBeGreaterThan(20);
  });

  it('README.md is at most 12000 bytes', () => {
    expect(statSync(join(REPO, 'README.md')).size).toBeLessThanOrEqual(12000);
  });
});
