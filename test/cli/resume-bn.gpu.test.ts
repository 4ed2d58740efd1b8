/**
 * The batch norm a GPU run computes with (src/cli/device.ts gpuKernelsOf: the statistics width,
 * WGNAS_BN_WG or the adapter's, and the plan, WGNAS_BN_PLAN) sets its sums' order, so scores differ
 * in the last bits: score --out and search --evaluated record it, and a resume with another is
 * refused in one line naming the variable, before any work. Files from before it was recorded read
 * as width 64 (every GPU result until then); the CPU backend records none. Lavapipe (width 64,
 * 'auto'); the resumes under another width run as child processes (the kernels read the variables
 * once per process).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuTestBackend } from '../helpers/backend.js';
import { atAdapterBnDefaults, wgnasChildWithBn } from '../helpers/bn-env.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { testGpu } from '../helpers/gpu.js';
import { haveRedisServer, RedisServer } from '../queue/redis-server.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-resume-bn-'));
let hasGpu = false;
// This file's runs at the adapter's defaults; the children get the variables they are given.
atAdapterBnDefaults();
beforeAll(async () => {
  hasGpu = (await testGpu()) !== null;
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const SCORE = ['score', '--sample', '2', '--seed', '1', '--cells-per-stage', '1', '--batch', '8', '--channels', '4', '--quiet'];
const SEARCH = [
  'search',
  '--budget',
  '2',
  '--population',
  '2',
  '--sample-size',
  '1',
  '--cells-per-stage',
  '1',
  '--batch',
  '8',
  '--quiet',
];
const GPU = ['--device', 'gpu'];
const sidecar = (out: string) => `${out}.settings.json`;
const settingsOf = (out: string) => JSON.parse(readFileSync(sidecar(out), 'utf8')).settings as Record<string, unknown>;
/** Rewrites the recorded settings (as a run on another adapter, or from before the record, wrote them). */
function recordAs(out: string, edit: (s: Record<string, unknown>) => void): void {
  const side = JSON.parse(readFileSync(sidecar(out), 'utf8'));
  edit(side.settings);
  writeFileSync(sidecar(out), JSON.stringify(side));
}

/** `wgnas argv` in a child process (the real adapter) with these batch norm variables. */
const child = wgnasChildWithBn;

const oneLine = (stderr: string) => expect(stderr.trim().split('\n'), stderr).toHaveLength(1);

describe('the batch norm plan of a GPU score file', () => {
  it(
    'is recorded; a resume at another width or plan is refused naming it; the same resumes',
    { timeout: 300_000 },
    async ({ skip }) => {
      if (!hasGpu) return skip();
      const out = join(tmp, 'score.csv');
      const a = await wgnasInProcess([...SCORE, ...GPU, '--out', out]);
      expect(a.code, a.err).toBe(0);
      expect(settingsOf(out)).toMatchObject({ WGNAS_BN_WG: 64, WGNAS_BN_PLAN: 'auto' });
      const rows = readFileSync(out, 'utf8');
      // Another width (here forced; on another adapter kind by default): refused before any work.
      const wide = await child([...SCORE, ...GPU, '--out', out, '--resume'], { WGNAS_BN_WG: '256' });
      expect(wide.code, wide.stderr).toBe(2);
      oneLine(wide.stderr);
      expect(wide.stderr.trim()).toMatch(
        /^wgnas score: --resume: WGNAS_BN_WG was 64, now 256 in \S*score\.csv; resume with its settings or write another --out$/,
      );
      expect(readFileSync(out, 'utf8')).toBe(rows);
      // At width 64 every plan gives the same bits: recorded as 'auto' whatever WGNAS_BN_PLAN says.
      const same = await child([...SCORE, ...GPU, '--out', out, '--resume'], { WGNAS_BN_PLAN: 'split' });
      expect(same.code, same.stderr).toBe(0);
      expect(same.stderr).toMatch(/2 of 2 cells already scored/);
      // A file a GPU wrote at 256 with 'auto': another plan at that width is refused naming the plan.
      recordAs(out, (s) => Object.assign(s, { WGNAS_BN_WG: 256, WGNAS_BN_PLAN: 'auto' }));
      const plan = await child([...SCORE, ...GPU, '--out', out, '--resume'], { WGNAS_BN_WG: '256', WGNAS_BN_PLAN: 'single' });
      expect(plan.code, plan.stderr).toBe(2);
      oneLine(plan.stderr);
      expect(plan.stderr.trim()).toMatch(/^wgnas score: --resume: WGNAS_BN_PLAN was auto, now single in \S*score\.csv; /);
      // ... and lavapipe's default, 64, is refused naming the width.
      const back = await wgnasInProcess([...SCORE, ...GPU, '--out', out, '--resume']);
      expect(back.code).toBe(2);
      oneLine(back.err);
      expect(back.err.trim()).toMatch(/^wgnas score: --resume: WGNAS_BN_WG was 256, now 64 in \S*score\.csv; /);
      expect(readFileSync(out, 'utf8')).toBe(rows);
    },
  );

  it(
    'a file from before the record reads as width 64: it resumes there, and is refused at 256 with what to do',
    { timeout: 300_000 },
    async ({ skip }) => {
      if (!hasGpu) return skip();
      const out = join(tmp, 'old.csv');
      expect((await wgnasInProcess([...SCORE, ...GPU, '--out', out])).code).toBe(0);
      recordAs(out, (s) => {
        delete s.WGNAS_BN_WG;
        delete s.WGNAS_BN_PLAN;
      });
      const r = await wgnasInProcess([...SCORE, ...GPU, '--out', out, '--resume']);
      expect(r.code, r.err).toBe(0);
      recordAs(out, (s) => {
        delete s.WGNAS_BN_WG;
        delete s.WGNAS_BN_PLAN;
      });
      const wide = await child([...SCORE, ...GPU, '--out', out, '--resume'], { WGNAS_BN_WG: '256' });
      expect(wide.code, wide.stderr).toBe(2);
      oneLine(wide.stderr);
      expect(wide.stderr.trim()).toMatch(
        /^wgnas score: --resume: WGNAS_BN_WG was 64, now 256 in \S*old\.csv; no batch norm plan recorded \(written before it was, or by a --redis queue: resume with --redis\): read as WGNAS_BN_WG=64, as every GPU run then \(resume with WGNAS_BN_WG=64\); --force starts over, or write another --out$/,
      );
    },
  );

  it.skipIf(cpuTestBackend() === null)('the CPU backend records none (its batch norm is its own)', async () => {
    const out = join(tmp, 'cpu.csv');
    const r = await wgnasInProcess([...SCORE, '--device', 'cpu', '--out', out]);
    expect(r.code, r.err).toBe(0);
    const s = settingsOf(out);
    expect(['WGNAS_BN_WG' in s, 'WGNAS_BN_PLAN' in s]).toEqual([false, false]);
  });
});

describe('the batch norm plan of a GPU search --evaluated log', () => {
  it('is recorded; a resume at another width is refused naming it', { timeout: 300_000 }, async ({ skip }) => {
    if (!hasGpu) return skip();
    const out = join(tmp, 'evaluated.jsonl');
    const a = await wgnasInProcess([...SEARCH, ...GPU, '--evaluated', out, '--json']);
    expect(a.code, a.err).toBe(0);
    expect(settingsOf(out)).toMatchObject({ WGNAS_BN_WG: 64, WGNAS_BN_PLAN: 'auto' });
    const wide = await child([...SEARCH, ...GPU, '--evaluated', out, '--resume'], { WGNAS_BN_WG: '128' });
    expect(wide.code, wide.stderr).toBe(2);
    oneLine(wide.stderr);
    expect(wide.stderr.trim()).toMatch(/^wgnas search: --resume: WGNAS_BN_WG was 64, now 128 in \S*evaluated\.jsonl; /);
    expect(existsSync(out)).toBe(true);
  });
});

const OWN = "each worker's own";
const KERNEL_KEYS = ['GPU adapter', 'WGNAS_BN_WG', 'WGNAS_BN_PLAN', 'WGNAS_CONV_CORE', 'GPU tiles'];
/** As score --redis on the GPU records the kernels: its workers chose their own. */
const asQueued = (s: Record<string, unknown>) => {
  for (const k of KERNEL_KEYS) s[k] = OWN;
};

describe("a score --redis file on the GPU records the kernels as each worker's own", () => {
  it(
    'a local resume of it is refused naming the variable, with advice to resume with --redis',
    { timeout: 300_000 },
    async ({ skip }) => {
      if (!hasGpu) return skip();
      const out = join(tmp, 'queued.csv');
      expect((await wgnasInProcess([...SCORE, ...GPU, '--out', out])).code).toBe(0);
      recordAs(out, asQueued);
      const rows = readFileSync(out, 'utf8');
      const r = await wgnasInProcess([...SCORE, ...GPU, '--out', out, '--resume']);
      expect(r.code, r.err).toBe(2);
      oneLine(r.err);
      expect(r.err.trim()).toMatch(
        /^wgnas score: --resume: GPU adapter was each worker's own, now software in \S*queued\.csv; computed by a --redis queue, whose workers chose their own: resume with --redis; --force starts over, or write another --out$/,
      );
      expect(readFileSync(out, 'utf8')).toBe(rows);
    },
  );

  describe.skipIf(!haveRedisServer())('through a queue (a private redis-server, no worker: every cell is already scored)', () => {
    let redis: RedisServer | undefined;
    afterAll(async () => {
      await redis?.down();
    });
    const queued = async (out: string) => {
      redis ??= await RedisServer.start();
      return wgnasInProcess([...SCORE, ...GPU, '--redis', redis.url, '--queue', 'resume-bn', '--out', out, '--resume']);
    };

    it(
      "a --redis resume of a queue's file, or of one from before the record, is accepted",
      { timeout: 300_000 },
      async ({ skip }) => {
        if (!hasGpu) return skip();
        const out = join(tmp, 'queued-resume.csv');
        expect((await wgnasInProcess([...SCORE, ...GPU, '--out', out])).code).toBe(0);
        recordAs(out, asQueued);
        const r = await queued(out);
        expect(r.code, r.err).toBe(0);
        expect(r.err).toMatch(/2 of 2 cells already scored/);
        expect(settingsOf(out)).toMatchObject(Object.fromEntries(KERNEL_KEYS.map((k) => [k, OWN])));
        // An earlier wgnas's queue file recorded none (or only some): it reads as the workers' own.
        recordAs(out, (s) => {
          for (const k of KERNEL_KEYS) delete s[k];
        });
        const old = await queued(out);
        expect(old.code, old.err).toBe(0);
      },
    );

    it(
      'a --redis resume of a local GPU file is refused: the workers may compute with other kernels',
      { timeout: 300_000 },
      async ({ skip }) => {
        if (!hasGpu) return skip();
        const out = join(tmp, 'local-then-queued.csv');
        expect((await wgnasInProcess([...SCORE, ...GPU, '--out', out])).code).toBe(0);
        const rows = readFileSync(out, 'utf8');
        const r = await queued(out);
        expect(r.code, r.err).toBe(2);
        oneLine(r.err);
        expect(r.err.trim()).toMatch(
          /^wgnas score: --resume: GPU adapter was software, now each worker's own in \S*local-then-queued\.csv; computed on one machine with a software adapter, and a queue's workers choose their own: resume without --redis; --force starts over, or write another --out$/,
        );
        expect(readFileSync(out, 'utf8')).toBe(rows);
      },
    );
  });
});
