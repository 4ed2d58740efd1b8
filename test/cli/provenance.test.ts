/**
 * The provenance record of result files (src/cli/provenance.ts): a resume keeps the earlier runs'
 * records and says in one note when the code changed in between (not a refusal); a checkpoint
 * directory keeps it in DIR/provenance.json; files written before it was recorded read and resume
 * as before.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkpointProvenance,
  checkpointProvenancePath,
  type Provenance,
  provenanceOf,
  resumedProvenance,
  writeCheckpointProvenance,
} from '../../src/cli/provenance.js';
import { codeVersion } from '../../src/queue/code-version.js';
import { redactUrl, redisUrlProblem } from '../../src/queue/settings.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-provenance-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ctx = { command: 'score', argv: ['--arch', '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|', '--seed', '7'] };
const now = (): Provenance => provenanceOf(ctx, { seed: 7, batch: 8 }, { device: 'gpu', threads: null, f16: false, data: null });
const OLD = '0.0.9+src.000000000000';

describe('provenance', () => {
  it('records the code, the command as a shell reads it back, every setting and the seed', () => {
    const p = now();
    expect(p).toMatchObject({
      codeVersion: codeVersion(),
      seed: 7,
      device: 'gpu',
      cpuThreads: null,
      precision: 'f32',
      data: null,
    });
    expect(p.command).toBe("wgnas score --arch '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|' --seed 7");
    expect(p.settings).toEqual({ seed: 7, batch: 8 });
    expect(p.earlier).toBeUndefined();
  });

  it("records no Redis password: --redis's setting and both command-line forms are redacted", () => {
    const url = 'redis://u:s3cret@h:6380/2';
    const spaced = provenanceOf(
      { command: 'score', argv: ['--redis', url, '--out', 'x.csv'] },
      { redis: url, out: 'x.csv' },
      { device: 'gpu', threads: null, f16: false },
    );
    const joined = provenanceOf(
      { command: 'search', argv: [`--redis=${url}`] },
      { redis: url },
      { device: 'gpu', threads: null, f16: false },
    );
    expect(spaced.settings.redis).toBe('redis://u:***@h:6380/2');
    expect(spaced.command).toBe("wgnas score --redis 'redis://u:***@h:6380/2' --out x.csv");
    expect(joined.command).toBe("wgnas search '--redis=redis://u:***@h:6380/2'");
    expect(JSON.stringify([spaced, joined])).not.toContain('s3cret');
    // Without a password the URL is recorded as given.
    const open = provenanceOf(
      { command: 'score', argv: ['--redis', 'redis://h:6379'] },
      { redis: 'redis://h:6379' },
      { device: 'gpu', threads: null, f16: false },
    );
    expect(open.settings.redis).toBe('redis://h:6379');
    expect(open.command).toBe('wgnas score --redis redis://h:6379');
  });

  it('records no password given as a query item (ioredis reads ?password=), and a malformed URL is refused without it', () => {
    const url = 'redis://h:6379/0?password=s3cret';
    expect(redisUrlProblem(url)).toBeUndefined(); // a URL the queue takes
    const p = provenanceOf(
      { command: 'score', argv: ['--redis', url] },
      { redis: url },
      { device: 'gpu', threads: null, f16: false },
    );
    expect(p.settings.redis).toBe('redis://h:6379/0?password=***');
    expect(p.command).toBe("wgnas score --redis 'redis://h:6379/0?password=***'");
    expect(JSON.stringify(p)).not.toContain('s3cret');
    // A password with an unescaped '#' does not parse: the refusal names the URL without it.
    expect(redisUrlProblem('redis://:s3c#ret@h:6379')).toBe("expected a URL like redis://host:6379, got 'redis://:***@h:6379'");
    expect(redactUrl('redis://u:s3c/ret@h:6379/0')).toBe('redis://u:***@h:6379/0');
    // Without the '//' the URL parses with no host: that refusal names it without the password too.
    expect(redisUrlProblem('redis:u:s3cret@h:6379')).toBe("no host in 'redis:u:***@h:6379'");
    expect(redisUrlProblem('redis:/u:s3cret@h')).toBe("no host in 'redis:/u:***@h'");
    expect(redactUrl('redis:u:s3cret@h:6379')).toBe('redis:u:***@h:6379');
  });

  it('a resume keeps the earlier runs, oldest first; a code update is one note naming both versions', () => {
    const first = { ...now(), codeVersion: OLD };
    const same = resumedProvenance({ ...now() }, now(), 'out.csv');
    expect(same.note).toBe('');
    expect(same.record.earlier).toHaveLength(1);
    const updated = resumedProvenance(first, now(), 'out.csv');
    expect(updated.note).toBe(
      `note: --resume: out.csv was written by wgnas ${OLD}, this is ${codeVersion()}: its results come from both (the file's provenance records each)\n`,
    );
    expect(updated.record.codeVersion).toBe(codeVersion());
    expect(updated.record.earlier?.map((e) => e.codeVersion)).toEqual([OLD]);
    // A third run: the chain stays flat, oldest first.
    const third = resumedProvenance(updated.record, now(), 'out.csv').record;
    expect(third.earlier?.map((e) => e.codeVersion)).toEqual([OLD, codeVersion()]);
    expect(third.earlier?.every((e) => e.earlier === undefined)).toBe(true);
    // A file written before provenance was recorded (or a hand-edited one): nothing to keep, nothing to say.
    for (const saved of [undefined, null, { codeVersion: 3 }]) {
      const current = now(); // one record: two calls may straddle a millisecond
      expect(resumedProvenance(saved, current, 'out.csv')).toEqual({ record: current, note: '' });
    }
  });

  it('a checkpoint directory keeps it in DIR/provenance.json; a resume adds itself and notes a code update', () => {
    const dir = join(tmp, 'ck');
    mkdirSync(dir);
    const said: string[] = [];
    const io = { out: () => {}, err: (s: string) => void said.push(s) };
    const first = checkpointProvenance(dir, false, { ...now(), codeVersion: OLD }, io);
    // Read, not written: the run writes it once it goes ahead.
    expect(existsSync(checkpointProvenancePath(dir))).toBe(false);
    writeCheckpointProvenance(dir, first);
    expect(JSON.parse(readFileSync(checkpointProvenancePath(dir), 'utf8')).codeVersion).toBe(OLD);
    const bytes = readFileSync(checkpointProvenancePath(dir));
    const resumed = checkpointProvenance(dir, true, now(), io);
    expect(said).toEqual([
      expect.stringMatching(new RegExp(`^note: --resume: ${dir} was written by wgnas ${OLD.replace('+', '\\+')}, this is `)),
    ]);
    expect(resumed.earlier?.map((e) => e.codeVersion)).toEqual([OLD]);
    expect(readFileSync(checkpointProvenancePath(dir)).equals(bytes)).toBe(true);
    writeCheckpointProvenance(dir, resumed);
    expect(JSON.parse(readFileSync(checkpointProvenancePath(dir), 'utf8'))).toEqual(JSON.parse(JSON.stringify(resumed)));
    // A fresh run (--force) starts the record over.
    expect(checkpointProvenance(dir, false, now(), io).earlier).toBeUndefined();
  });

  it('score --out: a resume by other code goes on with the note; an older file without provenance resumes as before', async ({
    skip,
  }) => {
    if (cpuTestBackend() === null) return skip();
    const cells = [
      '|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|',
      '|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|',
    ];
    const archs = join(tmp, 'cells.txt');
    writeFileSync(archs, cells.join('\n') + '\n');
    const one = join(tmp, 'one.txt');
    writeFileSync(one, cells[0] + '\n');
    const tiny = ['--proxies', 'naswot', '--cells-per-stage', '1', '--batch', '8'];
    const args = (file: string) => ['score', '--archs', file, ...tiny, ...['--device', 'cpu', '--cpu-threads', '1']];
    const out = join(tmp, 'scores.csv');
    const side = () => JSON.parse(readFileSync(`${out}.settings.json`, 'utf8'));
    // The first cell, as if by an earlier wgnas.
    expect((await wgnasInProcess([...args(one), '--out', out])).code).toBe(0);
    const first = side();
    writeFileSync(`${out}.settings.json`, JSON.stringify({ ...first, provenance: { ...first.provenance, codeVersion: OLD } }));
    const r = await wgnasInProcess([...args(archs), '--out', out, '--resume']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(
      `note: --resume: ${out} was written by wgnas ${OLD}, this is ${codeVersion()}: its results come from both`,
    );
    expect(side().provenance).toMatchObject({
      codeVersion: codeVersion(),
      deviceName: 'native CPU (1 thread)',
      earlier: [{ codeVersion: OLD }],
    });
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(3);

    // A file of a wgnas before provenance (correlate reads such files: score-files.test.ts): resumes
    // silently, and records this run's from now on.
    const old = join(tmp, 'old.csv');
    expect((await wgnasInProcess([...args(one), '--out', old])).code).toBe(0);
    const { provenance: _p, ...without } = JSON.parse(readFileSync(`${old}.settings.json`, 'utf8'));
    writeFileSync(`${old}.settings.json`, JSON.stringify(without));
    const o = await wgnasInProcess([...args(archs), '--out', old, '--resume']);
    expect(o.code, o.err).toBe(0);
    expect(o.err).not.toMatch(/note: --resume/);
    const rec = JSON.parse(readFileSync(`${old}.settings.json`, 'utf8')).provenance;
    expect(rec.codeVersion).toBe(codeVersion());
    expect(rec.earlier).toBeUndefined();
    expect(existsSync(`${old}.lock`)).toBe(false);
  });
});
