/**
 * An output given as a symbolic link: the row stream writes beside the link's target, so the checks
 * that read an output's state before the stream opens (interrupted run, saved settings, queued or
 * local log) must look there too, not beside the link.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkInterrupted, sidecarSettings } from '../../src/cli/resume-settings.js';
import { checkEvaluatedOrigin } from '../../src/cli/search-report.js';
import { rowStreamFiles } from '../../src/data/row-stream.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wgnas-resume-links-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** real.csv with one row and an interrupted run's settings record; link.csv -> real.csv. */
function interrupted(settings: Record<string, unknown>): { real: string; link: string } {
  const real = join(dir, 'real.csv');
  writeFileSync(real, 'arch,wrcor\n|a|,1\n');
  writeFileSync(`${real}.settings.json`, JSON.stringify({ settings, complete: false }));
  const link = join(dir, 'link.csv');
  symlinkSync(real, link);
  return { real, link };
}

describe('an output given as a link', () => {
  it('places the settings record and streamed rows beside the target', () => {
    const { real, link } = interrupted({ '--batch': 64 });
    expect(rowStreamFiles(link)).toEqual({ target: real, sidecar: `${real}.settings.json`, rows: `${real}.rows.jsonl` });
  });

  it('reads the saved settings and refuses a fresh run over an interrupted one, as the target does', () => {
    const { real, link } = interrupted({ '--batch': 64 });
    expect(sidecarSettings(link)).toEqual({ settings: { '--batch': 64 }, complete: false });
    for (const p of [real, link]) {
      expect(() => checkInterrupted('--out', p, false, false)).toThrow(
        /holds an interrupted run: --resume continues it, --force starts over/,
      );
      expect(() => checkInterrupted('--out', p, true, false)).not.toThrow();
      expect(() => checkInterrupted('--out', p, false, true)).not.toThrow();
    }
  });

  it('tells a queued log from a local one through the link', () => {
    const { link } = interrupted({ '--in-flight': 4 });
    expect(() => checkEvaluatedOrigin(link, true, false)).toThrow(/written by a queued search/);
    expect(() => checkEvaluatedOrigin(link, true, true)).not.toThrow();
  });
});
