/**
 * `--device cpu` end to end (in process, tiny settings): score, search, proxyless, evolve-space,
 * bench and info run on the native CPU backend, every result file records the device (and its
 * provenance: the code version, command line, seed, threads, precision, images), and a resume on
 * another device is refused naming --device, before any work. (test/backend/parity-*.gpu.test.ts
 * check that the numbers agree with the WGSL path.)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeCpu } from '../../src/cli/commands/info.js';
import { packageVersion } from '../../src/cli/run.js';
import { jsonNetwork } from '../../src/export/index.js';
import { codeVersion } from '../../src/queue/code-version.js';
import { PROXIES } from '../../src/proxies/index.js';
import { warnCpuThreads } from '../../src/cli/device.js';
import { describeBackend as describeLibrary, loadNative } from '../../src/native/binding.js';
import type { BackendInfo, CpuInfo } from '../../src/native/binding.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { TINY_PROXYLESS, wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-cli-device-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const CPU = ['--device', 'cpu', '--cpu-threads', '2'];
const ARCH = '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';
const TINY_NB201 = ['--cells-per-stage', '1', '--batch', '8'];
const available = () => cpuTestBackend() !== null;

/** A result file's provenance: this code, the command as given, the CPU backend at 2 threads. */
function expectProvenance(p: Record<string, unknown>, command: string, seed = 0): void {
  expect(p).toMatchObject({
    wgnas: packageVersion(),
    codeVersion: codeVersion(),
    seed,
    device: 'cpu',
    deviceName: 'native CPU (2 threads)',
    cpuThreads: 2,
    precision: 'f32',
    node: process.version,
  });
  expect(p.command).toMatch(new RegExp(`^wgnas ${command} .*--cpu-threads 2`));
  expect((p.settings as Record<string, unknown>)['cpu-threads']).toBe(2);
  expect(p.data).toMatch(/^[0-9a-f]{12} from /);
  expect(typeof p.onednn).toBe('string');
  expect(Date.parse(String(p.date))).toBeGreaterThan(Date.parse('2026-01-01'));
}

describe('--device cpu', () => {
  it('score streams rows from the CPU backend, records the device, and refuses a resume on the GPU', async ({ skip }) => {
    if (!available()) return skip();
    const out = join(tmp, 'scores.csv');
    const r = await wgnasInProcess(['score', '--arch', ARCH, '--proxies', 'wrcor,naswot', ...TINY_NB201, ...CPU, '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/on native CPU \(2 threads\)/);
    const [header, row] = readFileSync(out, 'utf8').trim().split('\n');
    const family = [...PROXIES.keys()].filter((p) => p.startsWith('wrcor'));
    expect(header.split(',')).toEqual(['arch', ...family, 'naswot', 'val_acc', 'time_ms']);
    expect(Number(row.split(',')[1])).toBeGreaterThan(0);
    const side = JSON.parse(readFileSync(`${out}.settings.json`, 'utf8'));
    expect(side.settings['--device']).toBe('cpu');
    expectProvenance(side.provenance, 'score');
    // --group is in the provenance's settings (not compared on a resume: it moves scores by rounding only).
    expect(side.provenance.settings.group).toBe('auto');
    const again = await wgnasInProcess([
      'score',
      '--arch',
      ARCH,
      '--proxies',
      'wrcor,naswot',
      ...TINY_NB201,
      '--device',
      'gpu',
      '--out',
      out,
      '--resume',
    ]);
    expect(again.code).toBe(2);
    expect(again.err.trim()).toMatch(/^wgnas score: --resume: --device was cpu, now gpu in .*scores\.csv; /);
  });

  it('search prints its result with the device it ran on, and what reruns it', async ({ skip }) => {
    if (!available()) return skip();
    const net = join(tmp, 'best.json');
    const evaluated = join(tmp, 'evaluated.csv');
    const r = await wgnasInProcess([
      'search',
      '--budget',
      '2',
      '--population',
      '2',
      '--sample-size',
      '1',
      ...TINY_NB201,
      ...CPU,
      '--seed',
      '3',
      '--json',
      '--quiet',
      '--out',
      net,
      '--evaluated',
      evaluated,
    ]);
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out);
    expect(out).toMatchObject({
      evaluations: 2,
      device: 'cpu',
      deviceName: 'native CPU (2 threads)',
      seed: 3,
      population: 2,
      sampleSize: 1,
      batch: 8,
      dataset: 'cifar10',
      cellsPerStage: 1,
    });
    expect(Number.isFinite(out.bestScore)).toBe(true);
    expectProvenance(out.provenance, 'search', 3);
    // The network file and the --evaluated log record it too; the network file reads as before.
    const file = JSON.parse(readFileSync(net, 'utf8'));
    expect(file).toMatchObject({ format: 'wgnas-nb201', arch: out.best });
    expectProvenance(file.provenance, 'search', 3);
    expect(jsonNetwork(file).kind).toBe('nb201');
    expectProvenance(JSON.parse(readFileSync(`${evaluated}.settings.json`, 'utf8')).provenance, 'search', 3);
  });

  it('proxyless writes a net.config that names the device, and a checkpoint resumed on another device is refused', async ({
    skip,
  }) => {
    if (!available()) return skip();
    const out = join(tmp, 'net.config');
    const ck = join(tmp, 'ck');
    const args = ['proxyless', ...TINY_PROXYLESS, '--steps', '1', '--checkpoint', ck];
    const r = await wgnasInProcess([...args, ...CPU, '--out', out]);
    expect(r.code, r.err).toBe(0);
    const cfg = JSON.parse(readFileSync(out, 'utf8'));
    expect(cfg.wgnas).toMatchObject({ device: 'cpu', deviceName: 'native CPU (2 threads)' });
    expectProvenance(cfg.wgnas.provenance, 'proxyless', 1);
    expect(r.err).toMatch(/on native CPU \(2 threads\), as --cpu-threads 2 \(another thread count trains another trajectory\)/);
    expect(Array.isArray(cfg.blocks)).toBe(true);
    const again = await wgnasInProcess([...args, '--device', 'gpu', '--resume']);
    expect(again.code).toBe(2);
    expect(again.err.trim()).toMatch(/^wgnas proxyless: --resume: --device was cpu, now gpu; /);
  });

  it('evolve-space writes a space whose provenance names the device', async ({ skip }) => {
    if (!available()) return skip();
    const out = join(tmp, 'space.json');
    const r = await wgnasInProcess([
      'evolve-space',
      '--budget-madds',
      '4M',
      '--population',
      '3',
      '--k',
      '2',
      '--iterations',
      '1',
      '--steps',
      '1',
      '--warmup',
      '0',
      '--batch',
      '4',
      '--train',
      '32',
      '--val',
      '16',
      ...CPU,
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    const space = JSON.parse(readFileSync(out, 'utf8'));
    expect(space.meta).toMatchObject({
      device: 'cpu',
      deviceName: 'native CPU (2 threads)',
      // The flags the meta lacked before (the provenance's settings have every one).
      tournamentSize: 3,
      guideIterations: expect.any(Number),
      warmupSteps: 0,
      weightLr: expect.any(Number),
    });
    expectProvenance(space.meta.provenance, 'evolve-space', 1);
    expect(space.meta.provenance.settings).toMatchObject({ warmup: 0, tournament: 3, guide: space.meta.guideIterations });
    expect(space.layers.length).toBeGreaterThan(0);
  });

  it('bench times the registry kernels on the CPU backend; the WGSL-only ones and --autotune say they need the GPU', async ({
    skip,
  }) => {
    if (!available()) return skip();
    const json = join(tmp, 'bench.json');
    const r = await wgnasInProcess([
      'bench',
      'matmul',
      'conv2d',
      'matmul',
      '--shapes',
      'tiny',
      '--repeats',
      '2',
      '--warmup',
      '1',
      '--baselines',
      'cpu',
      ...CPU,
      '--json',
      json,
      '--quiet',
    ]);
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(readFileSync(json, 'utf8'));
    expect(rep.device).toBe('cpu');
    expect(rep.where.ours).toMatch(/native CPU backend/);
    const byKernel = (k: string) => rep.results.filter((x: { kernel: string }) => x.kernel === k);
    for (const k of ['matmul', 'conv2d']) for (const x of byKernel(k)) expect(x.ours.medianMs).toBeGreaterThan(0);
    // A kernel named twice is timed once.
    expect(byKernel('matmul')).toHaveLength(2);
    // A WGSL-only kernel named on the CPU: one line before any timing (not a 'failed' row per shape).
    const gpuOnly = await wgnasInProcess(['bench', 'matmul', 'copy', 'matmul-f16', ...CPU, '--json', join(tmp, 'none.json')]);
    expect(gpuOnly.code).toBe(2);
    expect(gpuOnly.err.trim()).toBe('wgnas bench: copy, matmul-f16: WGSL-only (no CPU backend op): run with --device gpu');
    expect(gpuOnly.out).toBe('');
    expect(existsSync(join(tmp, 'none.json'))).toBe(false);
    const tune = await wgnasInProcess(['bench', '--autotune', ...CPU]);
    expect(tune.code).toBe(2);
    expect(tune.err.trim()).toBe('wgnas bench: --autotune tunes the WGSL matmul tile: it needs --device gpu');
  });

  it('info shows the backend a command would run on', async ({ skip }) => {
    if (!available()) return skip();
    const r = await wgnasInProcess(['info', ...CPU, '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).device).toEqual({
      choice: 'cpu',
      device: 'cpu',
      backend: 'cpu',
      name: 'native CPU (2 threads)',
      threads: 2,
    });
    const text = await wgnasInProcess(['info', ...CPU]);
    expect(text.out).toMatch(/^device: {4}cpu: native CPU \(2 threads\)$/m);
    // The CPU in words (the JSON keeps the raw fields), and the libraries the addon has.
    const cpu = JSON.parse(r.out).native as CpuInfo;
    expect(text.out).toContain(`\nnative:    ${describeCpu(cpu)}\n`);
    expect(text.out).toMatch(/^ {11}oneDNN \d+\.\d+/m);
    // --json has each library line the text has.
    const libs = JSON.parse(r.out).libraries as BackendInfo[];
    expect(libs.map((l) => l.name)).toEqual(['onednn', 'xnnpack']);
    for (const l of libs) if (l.available) expect(text.out).toContain(`\n           ${describeLibrary(l)}\n`);
    expect(libs.find((l) => l.name === 'onednn')?.version).toMatch(/^\d+\.\d+/);
    expect(
      describeCpu({
        model: 'Xeon',
        vendor: 'GenuineIntel',
        logicalCores: 8,
        availableCores: 4,
        physicalCores: 4,
        sockets: 1,
        features: ['avx2', 'fma'],
        cacheBytes: { l1d: 49152, l2: 2097152 },
      }),
    ).toBe(
      'Xeon (GenuineIntel), 8 logical / 4 physical cores, 4 available, 1 socket(s); caches l1d 48 KiB, l2 2 MiB; SIMD avx2 fma',
    );
  });

  it('--cpu-threads above the cores is accepted with one warning line naming the flag and the cores', async ({ skip }) => {
    if (!available()) return skip();
    const cores = loadNative().cpuInfo().availableCores;
    const warning = `warning: --cpu-threads ${cores + 1} is more than the ${cores} cores this process may use: the threads share them\n`;
    const over = await wgnasInProcess(['info', '--device', 'cpu', '--cpu-threads', String(cores + 1), '--json']);
    expect(over.code, over.err).toBe(0);
    expect(over.err).toBe(warning);
    expect(JSON.parse(over.out).device.threads).toBe(cores + 1);
    const fits = await wgnasInProcess(['info', '--device', 'cpu', '--cpu-threads', String(cores), '--json']);
    expect(fits.code, fits.err).toBe(0);
    expect(fits.err).toBe('');
    // Said once per run, however many backends it opens (a worker opens one per slot).
    const lines: string[] = [];
    const io = { out: () => {}, err: (s: string) => void lines.push(s) };
    warnCpuThreads(cores + 1, io);
    warnCpuThreads(cores + 1, io);
    warnCpuThreads(undefined, io);
    expect(lines).toEqual([warning]);
  });

  it('--cpu-threads applies only where the CPU backend may run', async () => {
    const r = await wgnasInProcess(['score', '--arch', ARCH, '--device', 'gpu', '--cpu-threads', '2']);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe('wgnas score: --cpu-threads applies only with --device auto or cpu (here --device is gpu)');
  });
});
