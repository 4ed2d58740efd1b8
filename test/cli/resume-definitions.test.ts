/**
 * A score file of an earlier WRCor definition: 1 (before 2026-12-06, recorded as none: wrcor 2^stage,
 * constant responses counted) or 2 (wrcor 2^stage and a wrcor_module column; now wrcor is 2^module
 * and the former one wrcor_stage): a resume of it (score --out, search --evaluated; CSV and JSON
 * lines) is refused in one line naming the file, what it holds and the remedy, before any work,
 * leaving the file as it was (a finished one stays finished). A file of this definition resumes; one
 * of proxies outside the family records none and resumes as before.
 * The precision (f16 operands under WGNAS_F16=1 on a GPU with shader-f16) is recorded and compared
 * the same way, and is part of a score or evolve-space job's content key.
 * CPU backend, tiny settings, in process.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { computesWrcor, WRCOR_DEFINITION, WRCOR_KEY } from '../../src/cli/search-report.js';
import { F16_KEY, usesF16 } from '../../src/backend/index.js';
import { precisionOf } from '../../src/cli/device.js';
import { type EvolveSettings, evolveKey, resultKey, type ScoreSettings } from '../../src/queue/jobs.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-resume-defs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const hasCpu = cpuTestBackend() !== null;
const CPU = ['--device', 'cpu', '--cpu-threads', '1', '--quiet', '--batch', '8', '--cells-per-stage', '1'];
const A = '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';
const C = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_1x1~2|';
const score = (proxies: string, out: string, ...more: string[]) =>
  wgnasInProcess(['score', ...CPU, '--proxies', proxies, '--arch', A, '--arch', C, '--out', out, ...more]);
const search = (out: string, ...more: string[]) =>
  wgnasInProcess([
    'search',
    ...CPU,
    '--proxy',
    'wrcor',
    '--population',
    '2',
    '--sample-size',
    '2',
    '--budget',
    '3',
    '--evaluated',
    out,
    ...more,
  ]);

const sidecar = (out: string) => JSON.parse(readFileSync(`${out}.settings.json`, 'utf8'));

/**
 * `out` as an older wgnas left it, unfinished or not: definition 1 records none and has no
 * wrcor_stage column; definition 2 records 2 and has a wrcor_module column in its place.
 */
function makeOld(out: string, complete: boolean, definition: 1 | 2): void {
  const side = sidecar(out);
  if (definition === 1) delete side.settings[WRCOR_KEY];
  else side.settings[WRCOR_KEY] = 2;
  side.complete = complete;
  writeFileSync(`${out}.settings.json`, JSON.stringify(side));
  const text = readFileSync(out, 'utf8');
  if (out.endsWith('.csv')) {
    const rows = text
      .trim()
      .split('\n')
      .map((l) => l.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/));
    // This definition's wrcor_stage column, or definition 2's in its place (a file made old before).
    const col = Math.max(rows[0].indexOf('wrcor_stage'), rows[0].indexOf('wrcor_module'));
    expect(col).toBeGreaterThan(0);
    if (definition === 2) rows[0][col] = 'wrcor_module';
    const kept = rows.map((r) => (definition === 1 ? r.filter((_, i) => i !== col) : r));
    writeFileSync(out, kept.map((r) => r.join(',') + '\n').join(''));
  } else {
    const rows = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const old = rows.map(({ wrcor_stage: s, wrcor_module: m, ...r }) => (definition === 1 ? r : { ...r, wrcor_module: s ?? m }));
    writeFileSync(out, old.map((r) => JSON.stringify(r) + '\n').join(''));
  }
}

/** What a file of each earlier definition holds, as the refusal says it. */
const HOLDS = {
  1: 'its wrcor weighted 2^stage and counted constant responses',
  2: 'its wrcor weighted 2^stage, and a wrcor_module column',
};

async function refusedAsOld(
  run: () => ReturnType<typeof wgnasInProcess>,
  out: string,
  cmd: string,
  flag: string,
  definition: 1 | 2,
) {
  const before = { rows: readFileSync(out, 'utf8'), side: readFileSync(`${out}.settings.json`, 'utf8') };
  const r = await run();
  expect(r.code).toBe(2);
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.err.trim()).toBe(
    `wgnas ${cmd}: --resume: ${WRCOR_KEY} was ${definition}, now ${WRCOR_DEFINITION} in ${out}; ${out} was scored by an older wgnas ` +
      `(${HOLDS[definition]}; the current wrcor weighs 2^module, the authors' weights, and the former one is wrcor_stage): ` +
      `--force starts over, or write another ${flag}`,
  );
  expect(readFileSync(out, 'utf8')).toBe(before.rows);
  expect(readFileSync(`${out}.settings.json`, 'utf8')).toBe(before.side);
}

describe.skipIf(!hasCpu)('resuming a score file of the former WRCor definition', () => {
  for (const ext of ['csv', 'jsonl']) {
    it(
      `score --out .${ext}: refused before any work; this definition's file resumes; --force starts over`,
      { timeout: 120_000 },
      async () => {
        const out = join(tmp, `score.${ext}`);
        const a = await score('wrcor', out);
        expect(a.code, a.err).toBe(0);
        expect(sidecar(out).settings[WRCOR_KEY]).toBe(3);
        expect(readFileSync(out, 'utf8')).toContain('wrcor_stage');
        expect(readFileSync(out, 'utf8')).not.toContain('wrcor_module');
        const again = await score('wrcor', out, '--resume');
        expect(again.code, again.err).toBe(0);
        for (const definition of [2, 1] as const) {
          makeOld(out, true, definition);
          await refusedAsOld(() => score('wrcor', out, '--resume'), out, 'score', '--out', definition);
          const forced = await score('wrcor', out, '--force');
          expect(forced.code, forced.err).toBe(0);
          expect(sidecar(out).settings[WRCOR_KEY]).toBe(WRCOR_DEFINITION);
        }
      },
    );

    it(`search --evaluated .${ext}: refused before any work`, { timeout: 120_000 }, async () => {
      const out = join(tmp, `search.${ext}`);
      const a = await search(out);
      expect(a.code, a.err).toBe(0);
      for (const definition of [2, 1] as const) {
        makeOld(out, false, definition);
        await refusedAsOld(() => search(out, '--resume'), out, 'search', '--evaluated', definition);
      }
    });
  }

  it(
    "a file that recorded wrcor_module (retired: the options refuse it) is refused saying so, not 'resume with its settings'",
    {
      timeout: 120_000,
    },
    async () => {
      const retired = (out: string, key: string, proxies: string) => {
        makeOld(out, false, 2);
        const side = sidecar(out);
        side.settings[key] = proxies;
        writeFileSync(`${out}.settings.json`, JSON.stringify(side));
      };
      const advice = (key: string, flag: string) =>
        `its ${key} named wrcor_module (now 'wrcor'), a retired name the options refuse, so no run has its settings: --force starts over, or write another ${flag}`;
      const out = join(tmp, 'retired.csv');
      expect((await score('wrcor', out)).code).toBe(0);
      retired(out, '--proxies', 'naswot,WRCOR_MODULE');
      const r = await score('wrcor', out, '--resume');
      expect(r.code).toBe(2);
      expect(r.err).toBe(
        `wgnas score: --resume: --proxies was naswot,WRCOR_MODULE, now wrcor in ${out}; ${advice('--proxies', '--out')}\n`,
      );
      const evaluated = join(tmp, 'retired-search.jsonl');
      expect((await search(evaluated)).code).toBe(0);
      retired(evaluated, '--proxy', 'wrcor_module');
      const s = await search(evaluated, '--resume');
      expect(s.code).toBe(2);
      expect(s.err).toBe(
        `wgnas search: --resume: --proxy was wrcor_module, now wrcor in ${evaluated}; ${advice('--proxy', '--evaluated')}\n`,
      );
    },
  );

  it('a file of proxies outside the family records no definition and resumes as before', { timeout: 120_000 }, async () => {
    const out = join(tmp, 'synflow.csv');
    expect((await score('synflow', out)).code).toBe(0);
    expect(WRCOR_KEY in sidecar(out).settings).toBe(false);
    expect([['vote'], ['all'], ['wrcor_stage'], ['synflow', 'jacob_cov']].map(computesWrcor)).toEqual([true, true, true, false]);
    const r = await score('synflow', out, '--resume');
    expect(r.code, r.err).toBe(0);
  });
});

describe('the precision a score file was computed with (WGNAS_F16)', () => {
  it('is the same f32 on the CPU whatever WGNAS_F16 says, and f32 on the GPU unless asked', async () => {
    const was = process.env.WGNAS_F16;
    try {
      process.env.WGNAS_F16 = '1';
      expect(await usesF16('cpu')).toBe(false);
      // A queue's workers are asked for what WGNAS_F16 says here (on a GPU queue).
      expect(await precisionOf('gpu', true)).toBe(true);
      expect(await precisionOf('cpu', true)).toBe(false);
      delete process.env.WGNAS_F16;
      expect(await usesF16('gpu')).toBe(false);
      expect(await precisionOf('gpu', true)).toBe(false);
    } finally {
      if (was === undefined) delete process.env.WGNAS_F16;
      else process.env.WGNAS_F16 = was;
    }
  });

  it('f16 score jobs get other content keys; f32 keys stay as they were', () => {
    const s: ScoreSettings = {
      proxies: ['wrcor'],
      batchSize: 8,
      seed: 0,
      group: 1,
      channels: 16,
      cellsPerStage: 1,
      dataset: 'cifar10',
      dataHash: 'h',
      codeVersion: 'c',
      device: 'gpu',
    };
    expect(resultKey({ ...s, f16: true }, A)).not.toBe(resultKey(s, A));
    expect(resultKey({ ...s, f16: undefined }, A)).toBe(resultKey(s, A));
  });

  it('f16 evolve-space jobs likewise: another key for f16, the f32 key as before the field', () => {
    const e: EvolveSettings = {
      config: { seed: 1, iterations: 2 } as EvolveSettings['config'],
      layout: 'cifar',
      dataset: 'cifar10',
      train: 16,
      val: 16,
      dataHash: 'h',
      history: false,
      codeVersion: 'c',
      device: 'gpu',
    };
    // The key an f32 job had before EvolveSettings carried f16 (src/queue/jobs.ts evolveKey then).
    const before = createHash('sha256')
      .update(JSON.stringify(['evolve', { iterations: 2, seed: 1 }, 'cifar', 'cifar10', 16, 16, 'h', false, 'c', 'gpu']))
      .digest('hex');
    expect(evolveKey(e)).toBe(before);
    expect(evolveKey({ ...e, f16: undefined })).toBe(before);
    expect(evolveKey({ ...e, f16: true })).not.toBe(before);
  });

  it.skipIf(!hasCpu)(
    'is recorded; a resume at another precision is refused naming WGNAS_F16; a file from before reads as f32',
    { timeout: 120_000 },
    async () => {
      const out = join(tmp, 'precision.csv');
      expect((await score('synflow', out)).code).toBe(0);
      const side = sidecar(out);
      expect(side.settings[F16_KEY]).toBe(0);
      // As an f16 run on a GPU would have left it.
      writeFileSync(`${out}.settings.json`, JSON.stringify({ ...side, settings: { ...side.settings, [F16_KEY]: 1 } }));
      const r = await score('synflow', out, '--resume');
      expect(r.code).toBe(2);
      expect(r.err.trim()).toBe(
        `wgnas score: --resume: ${F16_KEY} was 1, now 0 in ${out}; resume with its settings or write another --out`,
      );
      const { [F16_KEY]: _f16, ...before } = side.settings;
      writeFileSync(`${out}.settings.json`, JSON.stringify({ ...side, settings: before }));
      const old = await score('synflow', out, '--resume');
      expect(old.code, old.err).toBe(0);
    },
  );
});
