/**
 * The GPU kernels a result or checkpoint records (src/cli/device.ts gpuKernelsOf, kernels/record.ts
 * kernelsRecord): the adapter (a software adapter runs other kernels than any hardware one, and
 * another GPU or driver may round the same kernels otherwise: a hardware adapter's identity), the
 * batch norm's width and plan, and on a hardware adapter the convolution core (WGNAS_CONV_CORE)
 * and the tuned tiles (where split-K cuts: the autotune cache's for the adapter, as the run's Gpu
 * computes with them however the cache changes meanwhile); a --redis run on the GPU records each
 * worker's own, the CPU nothing. A record from before some keys reads as util/kernels-record.ts
 * says: a result file's batch norm 64 / 'auto' and the default core as before, a checkpoint's batch
 * norm only where a software adapter wrote it, the adapter kind where the record (a core:
 * hardware) or the provenance (a software adapter's name) proves it, else refused in one line with
 * what to do. No device: the records and a row stream's refusals
 * (test/cli/resume-adapter.gpu.test.ts runs the commands).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gpuKernelsOf, bnSetting, kernelsStreamRecord } from '../../src/cli/device.js';
import { defaultConvCore } from '../../src/kernels/conv2d-gemm.js';
import {
  adapterKeyOf,
  autotuneCachePath,
  readAutotuneCache,
  recordedTileReadings,
  recordMatmulTuning,
  tilesRecord,
  tunedConvTile,
  tunedMatmulTile,
} from '../../src/kernels/matmul-tiles.js';
import { kernelsRecord, kernelsRecordOf } from '../../src/kernels/record.js';
import { RowStream } from '../../src/data/row-stream.js';
import type { AdapterReport } from '../../src/gpu/adapter.js';
import type { Gpu } from '../../src/gpu/gpu.js';
import { type BnSetting, WORKERS_OWN_KERNELS } from '../../src/util/ab-env.js';
import { kernelsResume, kernelsUnrecorded, NOT_RECORDED, provenanceDevices } from '../../src/util/kernels-record.js';
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

/** A Gpu as the tiles see it (its adapter): what tunedTilesOf and kernelsRecordOf read. */
const gpuOf = (a: typeof HW) => ({ adapter: { ...a, features: [] } }) as unknown as Gpu;
const tuning = (tile: { BM: number; BN: number; BK: number; TM: number; TN: number; db?: boolean }) => ({
  tile,
  tunedAt: '2026-12-06T00:00:00Z',
  ms: 1,
  gflops: 1,
  shapes: [],
});

describe('the kernels a GPU run records', () => {
  it("the adapter (a hardware one's identity); on hardware the core and the tiles, none on a software adapter; a queue's each worker's own, the CPU's none", async () => {
    const hw = kernelsRecord(HW);
    expect(hw).toMatchObject({ adapter: 'hardware', plan: expect.any(String), core: defaultConvCore(), tiles: UNTUNED });
    expect(bnSetting(hw)['GPU adapter']).toBe('hardware: mock | mock | mocked GPU | mocked GPU');
    const sw = kernelsRecord(SW);
    expect([sw.adapter, 'identity' in sw, 'core' in sw, 'tiles' in sw]).toEqual(['software', false, false, false]);
    expect(bnSetting(sw)['GPU adapter']).toBe('software');
    // The adapter first: it explains why the others differ.
    expect(Object.keys(bnSetting(hw))).toEqual(['GPU adapter', 'WGNAS_BN_WG', 'WGNAS_BN_PLAN', 'WGNAS_CONV_CORE', 'GPU tiles']);
    expect(bnSetting({ adapter: 'hardware', wg: 256, plan: 'auto', core: 'legacy', tiles: UNTUNED })).toEqual({
      'GPU adapter': 'hardware',
      WGNAS_BN_WG: 256,
      WGNAS_BN_PLAN: 'auto',
      WGNAS_CONV_CORE: 'legacy',
      'GPU tiles': UNTUNED,
    });
    expect(await gpuKernelsOf('gpu', true)).toBe("each worker's own");
    expect(Object.values(bnSetting(WORKERS_OWN_KERNELS))).toEqual(Array(5).fill("each worker's own"));
    expect([await gpuKernelsOf('cpu', true), await gpuKernelsOf('cpu')]).toEqual([null, null]);
    expect(bnSetting(null)).toEqual({});
  });

  it("the tiles are the autotune cache's for the adapter: two adapters with the same tuned tiles record the same tiles", () => {
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

  it('the H100 and the H200 (as they reported themselves), untuned, record the same tiles but not the same adapter: a run moved between them is refused', () => {
    const report = (path: string): AdapterReport => JSON.parse(readFileSync(path, 'utf8')).adapter;
    const h100 = kernelsRecord(report('bench/results/nvidia-h100/2026-12-06/info.json'));
    const h200 = kernelsRecord(report('bench/results/nvidia-h200/2026-12-04/info.json'));
    expect(h100).toMatchObject({ adapter: 'hardware', tiles: UNTUNED });
    expect({ ...h100, identity: undefined }).toEqual({ ...h200, identity: undefined });
    expect([bnSetting(h100)['GPU adapter'], bnSetting(h200)['GPU adapter']]).toEqual([
      'hardware: nvidia | ? | nvidia-h100-80gb-hbm3 | NVIDIA: 580.159.04 580.159.4.0',
      'hardware: nvidia | ? | nvidia-h200 | NVIDIA: 580.159.04 580.159.4.0',
    ]);
    const { saved, adviceFor } = kernelsResume(bnSetting(h100), bnSetting(h200), {
      devices: [],
      restart: '--force starts over',
      queueable: false,
    });
    expect(saved['GPU adapter']).not.toBe(bnSetting(h200)['GPU adapter']);
    expect(adviceFor('GPU adapter', saved['GPU adapter'], bnSetting(h200)['GPU adapter'])).toBe(
      'another GPU or driver may round the same kernels otherwise (FMA fusion, transcendentals): resume on the one recorded; --force starts over',
    );
  });
});

describe('the tiles a run records are the ones its Gpu computes with', () => {
  const path = () => autotuneCachePath();
  /** The autotune cache as another process (wgnas bench --autotune) rewrites it. */
  const cacheHolds = (adapter: typeof HW, tile: Parameters<typeof tuning>[0]) => {
    mkdirSync(join(tmp, 'cache'), { recursive: true });
    const cache = readAutotuneCache();
    cache.adapters[adapterKeyOf(adapter)] = { matmul: tuning(tile) };
    writeFileSync(path(), JSON.stringify(cache));
  };
  const T1 = { BM: 64, BN: 128, BK: 16, TM: 8, TN: 8 };
  const T2 = { BM: 128, BN: 64, BK: 8, TM: 8, TN: 8 };

  it('recorded at the probe, the cache tuned before the Gpu opens and again before a checkpoint: the record, and what the Gpu uses, stay the first reading', () => {
    const a = { ...HW, description: 'probed GPU', device: 'probed' };
    cacheHolds(a, T1);
    const probed = kernelsRecord(a); // src/cli/device.ts gpuKernelsOf, before any work
    expect(probed.tiles).toBe('matmul 64x128x16, conv 64x128x16');
    cacheHolds(a, T2); // tuned meanwhile, by another process
    const gpu = gpuOf(a); // the run's Gpu opens, and its first matmul reads its tiles
    expect(tunedMatmulTile(gpu)).toEqual(T1);
    expect(tunedConvTile(gpu)).toEqual(T1);
    expect(kernelsRecordOf(gpu)).toEqual(probed);
    cacheHolds(a, T1);
    cacheHolds(a, T2);
    expect(kernelsRecordOf(gpu)).toEqual(probed); // each checkpoint's save
    // A Gpu with no record before it (a library caller) reads the cache once, at its first use.
    const b = { ...HW, description: 'unprobed GPU', device: 'unprobed' };
    cacheHolds(b, T1);
    const g = gpuOf(b);
    const first = kernelsRecordOf(g);
    cacheHolds(b, T2);
    expect([kernelsRecordOf(g), tunedMatmulTile(g)]).toEqual([first, T1]);
    expect(first.tiles).toBe('matmul 64x128x16, conv 64x128x16');
  });

  it("score --procs's children compute with the tiles their parent recorded (its readings sent with their init)", async () => {
    const a = { ...HW, description: 'parent GPU', device: 'parent' };
    cacheHolds(a, T1);
    const recorded = kernelsRecord(a).tiles;
    const readings = structuredClone(recordedTileReadings());
    cacheHolds(a, T2); // tuned before the children open
    // A child: a fresh module, as another process has.
    vi.resetModules();
    const child = await import('../../src/kernels/matmul-tiles.js');
    const fresh = gpuOf(a);
    expect(child.tunedMatmulTile(fresh)).toEqual(T2); // without its parent's readings
    child.adoptTileReadings(readings);
    const gpu = gpuOf(a);
    expect(child.tunedMatmulTile(gpu)).toEqual(T1);
    expect(child.tilesRecordOf(gpu)).toBe(recorded);
  });

  it("a refused resume's way back to untuned tiles: WGNAS_CACHE_DIR at a folder without autotune.json", () => {
    const a = { ...HW, description: 'tuned GPU', device: 'tuned' };
    cacheHolds(a, T1);
    expect(kernelsRecord(a).tiles).toBe('matmul 64x128x16, conv 64x128x16');
    process.env.WGNAS_CACHE_DIR = join(tmp, 'empty');
    try {
      expect(kernelsRecord(a).tiles).toBe(UNTUNED);
    } finally {
      process.env.WGNAS_CACHE_DIR = join(tmp, 'cache');
    }
  });

  it('a corrupt cache is said once per run, not at every checkpoint', () => {
    const c = { ...HW, description: 'corrupt cache GPU', device: 'corrupt' };
    const before = readFileSync(path(), 'utf8');
    writeFileSync(path(), '{ not json');
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const probed = kernelsRecord(c);
      expect(probed.tiles).toBe(UNTUNED);
      const gpu = gpuOf(c);
      for (let save = 0; save < 5; save++) expect(kernelsRecordOf(gpu)).toEqual(probed);
      expect(tunedMatmulTile(gpu)).toEqual({ BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^wgnas: ignoring unreadable autotune cache /));
    } finally {
      warn.mockRestore();
      writeFileSync(path(), before);
    }
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
    // A checkpoint's batch norm only where a software adapter wrote it: hardware training ran at 256.
    const ck = (saved: Record<string, unknown>, prov: unknown) => kernelsUnrecorded(saved, false, provenanceDevices(prov), true);
    expect(ck({}, lavapipe)).toMatchObject({ 'GPU adapter': 'software', WGNAS_BN_WG: 64, WGNAS_BN_PLAN: 'auto' });
    for (const [saved, prov] of [
      [{ WGNAS_CONV_CORE: 'program' }, undefined],
      [{}, { deviceName: 'NVIDIA H100 80GB HBM3' }],
    ] as const)
      expect(ck(saved, prov)).toMatchObject({ WGNAS_BN_WG: NOT_RECORDED, WGNAS_BN_PLAN: NOT_RECORDED });
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
    const k = kernelsStreamRecord(bn, '--out', true);
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
      /^--resume: GPU tiles was matmul 128x128x8, conv 128x128x8, now matmul 64x128x16, conv 64x128x16 in \S*scores\.csv; tiles of the autotune cache \(wgnas bench --autotune\) then: resume where it gives them \(WGNAS_CACHE_DIR picks the cache, and data\/; one without autotune\.json gives the untuned\); --force starts over, or write another --out$/,
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

  it('another hardware adapter (or driver) is refused, the one that wrote it named; a record of the kind alone too', () => {
    const on = (identity?: string) => hw({ identity });
    sidecar(bnSetting(on('nvidia | ? | nvidia-h100-80gb-hbm3 | NVIDIA: 580.159.04 580.159.4.0')));
    expect(() => open(on('nvidia | ? | nvidia-h200 | NVIDIA: 580.159.04 580.159.4.0'))).toThrow(
      /^--resume: GPU adapter was hardware: nvidia \| \? \| nvidia-h100-80gb-hbm3 \| NVIDIA: 580\.159\.04 580\.159\.4\.0, now hardware: nvidia \| \? \| nvidia-h200 \| NVIDIA: 580\.159\.04 580\.159\.4\.0 in \S*scores\.csv; another GPU or driver may round the same kernels otherwise \(FMA fusion, transcendentals\): resume on the one recorded; --force starts over, or write another --out$/,
    );
    expect(() => open(sw)).toThrow(
      /^--resume: GPU adapter was hardware: nvidia \| .* in \S*scores\.csv; computed on hardware: nvidia \| \? \| nvidia-h100-80gb-hbm3 \| NVIDIA: 580\.159\.04 580\.159\.4\.0, whose kernels differ from a software adapter's: resume on it; /,
    );
    open(on('nvidia | ? | nvidia-h100-80gb-hbm3 | NVIDIA: 580.159.04 580.159.4.0')).close();
    sidecar(bnSetting(on()));
    expect(() => open(on('mock | mock | mocked GPU | mocked GPU'))).toThrow(
      /^--resume: GPU adapter was hardware, now hardware: mock \| mock \| mocked GPU \| mocked GPU in \S*scores\.csv; recorded before the GPU's identity was, and another GPU or driver may round the same kernels otherwise: which one cannot be told; --force starts over, or write another --out$/,
    );
  });

  it('search --space-file --evaluated has no --redis: the advice of a file from before names no queue', () => {
    const advice = (queueable: boolean) => kernelsStreamRecord(sw, '--evaluated', queueable).unrecordedAdvice;
    for (const key of ['GPU adapter', 'WGNAS_BN_WG', 'WGNAS_CONV_CORE', 'GPU tiles']) {
      expect(advice(true)[key]).toContain(', or by a --redis queue: resume with --redis');
      expect(advice(false)[key]).not.toContain('--redis');
    }
    expect(advice(false)['GPU adapter']).toBe(
      "no GPU adapter recorded (written before it was), and neither a convolution core (hardware) nor its provenance (a software adapter's name) tells which; --force starts over, or write another --evaluated",
    );
  });

  it("a queue's file and a local run: refused naming the adapter, with the queue's advice", () => {
    sidecar(bnSetting(WORKERS_OWN_KERNELS));
    expect(() => open(hw())).toThrow(
      /^--resume: GPU adapter was each worker's own, now hardware in \S*scores\.csv; computed by a --redis queue, whose workers chose their own: resume with --redis; --force starts over, or write another --out$/,
    );
    sidecar(bnSetting(hw()));
    const queued = () => {
      const k = kernelsStreamRecord(WORKERS_OWN_KERNELS, '--out', true);
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
