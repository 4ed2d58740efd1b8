/**
 * The GPU kernels a result or checkpoint records (src/cli/device.ts batchNormOf, kernels/record.ts
 * kernelsRecord): the adapter kind (a software adapter runs other kernels than any hardware one),
 * the batch norm's width and plan, and on a hardware adapter the convolution core (WGNAS_CONV_CORE)
 * and the tuned tiles (where split-K cuts: the autotune cache's for the adapter, not its name); a
 * --redis run on the GPU records each worker's own, the CPU nothing. A record from before some keys
 * reads as util/kernels-record.ts says: the batch norm's 64 / 'auto' and the default core as
 * before, the adapter kind where the record (a core: hardware) or the provenance (a software
 * adapter's name) proves it, else refused in one line with what to do. No device: the records and
 * a row stream's refusals (test/cli/resume-adapter.gpu.test.ts runs the commands).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchNormOf, bnSetting, kernelsStreamRecord } from '../../src/cli/device.js';
import { defaultConvCore } from '../../src/kernels/conv2d-gemm.js';
import { recordMatmulTuning, tilesRecord } from '../../src/kernels/matmul-tiles.js';
import { kernelsRecord } from '../../src/kernels/record.js';
import { RowStream } from '../../src/data/row-stream.js';
import type { AdapterReport } from '../../src/gpu/adapter.js';
import type { Gpu } from '../../src/gpu/gpu.js';
import { type BnSetting, WORKERS_OWN_KERNELS } from '../../src/util/ab-env.js';
import { kernelsUnrecorded, NOT_RECORDED, provenanceDevices } from '../../src/util/kernels-record.js';
import { MOCK_HARDWARE } from '../helpers/refusing-mocks.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-resume-kernels-'));
// A private autotune cache: the tuned tiles below are this file's own.
const savedCache = process.env.WGNAS_CACHE_DIR;
beforeAll(() => {
  process.env.WGNAS_CACHE_DIR = join(tmp, 'cache');
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.WGNAS_CACHE_DIR;
  else process.env.WGNAS_CACHE_DIR = savedCache;
  rmSync(tmp, { recursive: true, force: true });
});

const HW = MOCK_HARDWARE.kernels;
const SW = { ...HW, vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.7, 256 bits)', device: 'llvmpipe', isSoftware: true };
/** The untuned tiles of a hardware adapter that fits them: LARGE_MATMUL_TILE for both. */
const UNTUNED = 'matmul 128x128x8, conv 128x128x8';

describe('the kernels a GPU run records', () => {
  it("the adapter kind; on hardware the core and the tiles, none on a software adapter; a queue's each worker's own, the CPU's none", async () => {
    const hw = kernelsRecord(HW);
    expect(hw).toMatchObject({ adapter: 'hardware', plan: expect.any(String), core: defaultConvCore(), tiles: UNTUNED });
    const sw = kernelsRecord(SW);
    expect([sw.adapter, 'core' in sw, 'tiles' in sw]).toEqual(['software', false, false]);
    // The adapter first: it explains why the others differ.
    expect(Object.keys(bnSetting(hw))).toEqual(['GPU adapter', 'WGNAS_BN_WG', 'WGNAS_BN_PLAN', 'WGNAS_CONV_CORE', 'GPU tiles']);
    expect(bnSetting({ adapter: 'hardware', wg: 256, plan: 'auto', core: 'legacy', tiles: UNTUNED })).toEqual({
      'GPU adapter': 'hardware',
      WGNAS_BN_WG: 256,
      WGNAS_BN_PLAN: 'auto',
      WGNAS_CONV_CORE: 'legacy',
      'GPU tiles': UNTUNED,
    });
    expect(await batchNormOf('gpu', true)).toBe("each worker's own");
    expect(Object.values(bnSetting(WORKERS_OWN_KERNELS))).toEqual(Array(5).fill("each worker's own"));
    expect([await batchNormOf('cpu', true), await batchNormOf('cpu')]).toEqual([null, null]);
    expect(bnSetting(null)).toEqual({});
  });

  it("the tiles are the autotune cache's for the adapter: two adapters with the same tuned tiles record the same", () => {
    const gpuOf = (a: typeof HW) => ({ adapter: { ...a, features: [] } }) as unknown as Gpu;
    const tuning = (tile: { BM: number; BN: number; BK: number; TM: number; TN: number; db?: boolean }) => ({
      tile,
      tunedAt: '2026-12-06T00:00:00Z',
      ms: 1,
      gflops: 1,
      shapes: [],
    });
    const a = { ...HW, description: 'NVIDIA H100 80GB HBM3', device: 'H100' };
    const b = { ...HW, description: 'NVIDIA H200', device: 'H200' };
    const c = { ...HW, description: 'NVIDIA A100', device: 'A100' };
    recordMatmulTuning(gpuOf(a), tuning({ BM: 64, BN: 128, BK: 16, TM: 8, TN: 8, db: true }));
    // The program options (db) and TM x TN do not change a sum's order: not recorded.
    recordMatmulTuning(gpuOf(b), tuning({ BM: 64, BN: 128, BK: 16, TM: 4, TN: 8 }));
    recordMatmulTuning(gpuOf(c), tuning({ BM: 128, BN: 64, BK: 8, TM: 8, TN: 8 }));
    expect(tilesRecord(a)).toBe('matmul 64x128x16, conv 64x128x16');
    expect(tilesRecord(b)).toBe(tilesRecord(a));
    expect(tilesRecord(c)).toBe('matmul 128x64x8, conv 128x64x8');
    expect(tilesRecord(HW)).toBe(UNTUNED);
  });

  it('the H100 and the H200 (as they reported themselves), untuned, record the same kernels: a run moved between them resumes', () => {
    const report = (path: string): AdapterReport => JSON.parse(readFileSync(path, 'utf8')).adapter;
    const h100 = report('bench/results/nvidia-h100/2026-12-06/info.json');
    const h200 = report('bench/results/nvidia-h200/2026-12-04/info.json');
    expect(h100.device).not.toBe(h200.device);
    expect(kernelsRecord(h100)).toEqual(kernelsRecord(h200));
    expect(kernelsRecord(h100)).toMatchObject({ adapter: 'hardware', tiles: UNTUNED });
  });
});

describe('a record from before some kernel keys', () => {
  it('reads the adapter kind where the record or the provenance proves it, else as not recorded', () => {
    const lavapipe = { deviceName: 'llvmpipe (LLVM 15.0.7, 256 bits)' };
    expect(provenanceDevices({ ...lavapipe, earlier: [{ deviceName: 'NVIDIA H100 80GB HBM3' }, {}] })).toEqual([
      lavapipe.deviceName,
      'NVIDIA H100 80GB HBM3',
    ]);
    const adapter = (saved: Record<string, unknown>, prov: unknown) =>
      kernelsUnrecorded(saved, false, provenanceDevices(prov))['GPU adapter'];
    // A convolution core is recorded on hardware adapters only.
    expect(adapter({ WGNAS_CONV_CORE: 'program' }, undefined)).toBe('hardware');
    expect(adapter({ WGNAS_BN_WG: 64 }, lavapipe)).toBe('software');
    // Every run the provenance names must have been on a software adapter.
    expect(adapter({}, { ...lavapipe, earlier: [{ deviceName: 'NVIDIA H100 80GB HBM3' }] })).toBe(NOT_RECORDED);
    expect(adapter({}, { deviceName: 'NVIDIA H100 80GB HBM3' })).toBe(NOT_RECORDED);
    expect(adapter({}, undefined)).toBe(NOT_RECORDED);
    // The rest as result files always read them; the tiles cannot be told. A queue's: its workers' own.
    expect(kernelsUnrecorded({}, false, [])).toMatchObject({
      WGNAS_BN_WG: 64,
      WGNAS_BN_PLAN: 'auto',
      WGNAS_CONV_CORE: 'program',
      'GPU tiles': NOT_RECORDED,
    });
    expect(kernelsUnrecorded({}, true, [])).toEqual(bnSetting(WORKERS_OWN_KERNELS));
  });
});

describe("a row stream's resume (score --out, search --evaluated)", () => {
  const out = join(tmp, 'scores.csv');
  const sidecar = (settings: Record<string, unknown>, provenance?: unknown) => {
    writeFileSync(out, 'arch,params\n');
    const side = { format: 'wgnas-row-stream', version: 1, settings, complete: false, ...(provenance ? { provenance } : {}) };
    writeFileSync(`${out}.settings.json`, JSON.stringify(side));
  };
  const open = (bn: BnSetting) => {
    const k = kernelsStreamRecord(bn, '--out');
    return new RowStream(out, { ...k, resume: true });
  };
  const hw = (o: Partial<BnSetting> = {}): BnSetting => ({
    adapter: 'hardware',
    wg: 256,
    plan: 'auto',
    core: 'program',
    tiles: UNTUNED,
    ...o,
  });
  const sw: BnSetting = { adapter: 'software', wg: 256, plan: 'auto' };
  const lavapipe = { deviceName: 'llvmpipe (LLVM 15.0.7, 256 bits)' };

  it('another adapter kind is refused naming it, also where the width is forced to agree; other tiles, naming them', () => {
    sidecar(bnSetting(hw()));
    expect(() => open(sw)).toThrow(
      /^--resume: GPU adapter was hardware, now software in \S*scores\.csv; computed on a hardware adapter, whose kernels differ from a software one's: resume on a hardware adapter; --force starts over, or write another --out$/,
    );
    expect(() => open(hw({ tiles: 'matmul 64x128x16, conv 64x128x16' }))).toThrow(
      /^--resume: GPU tiles was matmul 128x128x8, conv 128x128x8, now matmul 64x128x16, conv 64x128x16 in \S*scores\.csv; computed with the tiles the autotune cache \(wgnas bench --autotune\) gave then: resume where it gives them; --force starts over, or write another --out$/,
    );
    expect(() => open(hw({ core: 'legacy' }))).toThrow(
      /^--resume: WGNAS_CONV_CORE was program, now legacy in \S*scores\.csv; resume with its settings/,
    );
    open(hw()).close();
    sidecar(bnSetting(sw));
    expect(() => open(hw())).toThrow(/^--resume: GPU adapter was software, now hardware in \S*scores\.csv; /);
    open(sw).close();
  });

  it('a file from before the adapter: a core proves hardware (its tiles cannot be told), a software provenance proves software', () => {
    // Written on hardware after the core was recorded, before the adapter and tiles were.
    sidecar({ WGNAS_BN_WG: 256, WGNAS_BN_PLAN: 'auto', WGNAS_CONV_CORE: 'program' });
    expect(() => open(sw)).toThrow(
      /^--resume: GPU adapter was hardware, now software in \S*scores\.csv; computed on a hardware adapter/,
    );
    expect(() => open(hw())).toThrow(
      /^--resume: GPU tiles was not recorded, now matmul 128x128x8, conv 128x128x8 in \S*scores\.csv; no GPU tiles recorded \(written before they were, or by a --redis queue: resume with --redis\): the autotune cache's of then cannot be told; --force starts over, or write another --out$/,
    );
    // Lavapipe's, from before any kernel key: width 64, software by its provenance.
    const lavaNow: BnSetting = { adapter: 'software', wg: 64, plan: 'auto' };
    sidecar({}, lavapipe);
    open(lavaNow).close();
    sidecar({}, { deviceName: 'NVIDIA H100 80GB HBM3' });
    expect(() => open(lavaNow)).toThrow(
      /^--resume: GPU adapter was not recorded, now software in \S*scores\.csv; no GPU adapter recorded \(written before it was, or by a --redis queue: resume with --redis\), and neither a convolution core \(hardware\) nor its provenance \(a software adapter's name\) tells which; --force starts over, or write another --out$/,
    );
    // The width still reads as 64: refused naming it where the adapter is proven.
    sidecar({}, lavapipe);
    expect(() => open(sw)).toThrow(
      /^--resume: WGNAS_BN_WG was 64, now 256 in \S*scores\.csv; no batch norm plan recorded \(written before it was, or by a --redis queue: resume with --redis\): read as WGNAS_BN_WG=64, as every GPU run then \(resume with WGNAS_BN_WG=64\); --force starts over, or write another --out$/,
    );
  });

  it("a queue's file and a local run: refused naming the adapter, with the queue's advice", () => {
    sidecar(bnSetting(WORKERS_OWN_KERNELS));
    expect(() => open(hw())).toThrow(
      /^--resume: GPU adapter was each worker's own, now hardware in \S*scores\.csv; computed by a --redis queue, whose workers chose their own: resume with --redis; --force starts over, or write another --out$/,
    );
    sidecar(bnSetting(hw()));
    const queued = () => {
      const k = kernelsStreamRecord(WORKERS_OWN_KERNELS, '--out');
      return new RowStream(out, { ...k, resume: true });
    };
    expect(queued).toThrow(
      /^--resume: GPU adapter was hardware, now each worker's own in \S*scores\.csv; computed on one machine with a hardware adapter, and a queue's workers choose their own: resume without --redis; --force starts over, or write another --out$/,
    );
    // A queue's file from before any kernel key: its workers' own.
    sidecar({});
    queued().close();
  });
});
