/**
 * --resume reads the saved state once and passes the parsed state on: `wgnas proxyless --resume`
 * and `wgnas train --resume` read their checkpoint's state.json (and each binary) once, `wgnas
 * profile --resume` its table once
 * (a file replaced between two reads would otherwise have its settings checked in one state and
 * another state loaded). node:fs is wrapped to count the reads; the runs are real (CPU backend).
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildTable, readTableForResume, type TableSource } from '../../src/latency/table-writer.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { TABLE, wgnasInProcess } from '../helpers/cli.js';
import { writeImageFolder } from '../helpers/datasets.js';
import { nativeOrNull } from '../helpers/native.js';

const NB201_ARCH = '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_3x3~2|';

const reads = vi.hoisted(() => [] as string[]);
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readFileSync = ((...args: Parameters<typeof fs.readFileSync>) => {
    reads.push(String(args[0]));
    return fs.readFileSync(...args);
  }) as typeof fs.readFileSync;
  return { ...fs, readFileSync, default: { ...fs, readFileSync } };
});

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-resume-reads-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeEach(() => void reads.splice(0));

const readsOf = (suffix: string) => reads.filter((p) => p.endsWith(suffix)).length;

describe.skipIf(cpuTestBackend() === null)('proxyless --resume', () => {
  it('reads state.json and each binary once, and continues the run', { timeout: 300_000 }, async () => {
    const ck = join(tmp, 'ck');
    const argv = (steps: number) => [
      ...['proxyless', '--latency-table', TABLE, '--target-ms', '40', '--warmup', '1', '--steps', String(steps)],
      ...['--batch', '4', '--val-batch', '4', '--train', '16', '--val', '16', '--checkpoint', ck, '--seed', '3'],
      ...['--device', 'cpu', '--cpu-threads', '1', '--arch-every', '1', '--out', join(tmp, `net-${steps}.config`)],
    ];
    const first = await wgnasInProcess(argv(2));
    expect(first.code, first.err).toBe(0);
    reads.splice(0);
    const resumed = await wgnasInProcess([...argv(3), '--resume']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toMatch(/resumed from .*: warm-up 1\/1, search 2\/3, 2 α steps/);
    expect(readsOf('state.json')).toBe(1);
    expect(readsOf('weights.bin')).toBe(1);
    expect(readsOf('momentum.bin')).toBe(1);
  });
});

describe.skipIf(cpuTestBackend() === null)('train --resume', () => {
  it('reads state.json and each binary once, and continues the run', { timeout: 300_000 }, async () => {
    await writeImageFolder(join(tmp, 'colours', 'train'), [6, 6]);
    await writeImageFolder(join(tmp, 'colours', 'test'), [3, 3]);
    // --epochs may not change on a resume: the finished run is resumed (nothing left to train).
    const argv = (epochs: number) => [
      ...['train', '--nb201', NB201_ARCH, '--channels', '4', '--cells-per-stage', '1'],
      ...['--dataset', `folder:${join(tmp, 'colours')}`, '--epochs', String(epochs), '--batch', '4'],
      ...['--device', 'cpu', '--cpu-threads', '1', '--latency-runs', '0', '--out', join(tmp, 'trained')],
    ];
    const first = await wgnasInProcess(argv(1));
    expect(first.code, first.err).toBe(0);
    reads.splice(0);
    const resumed = await wgnasInProcess([...argv(1), '--resume']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toMatch(/resuming after epoch 1 of \d+ from /);
    expect(readsOf('state.json')).toBe(1);
    expect(readsOf('weights.bin')).toBe(1);
    expect(readsOf('momentum.bin')).toBe(1);
  });
});

describe('profile --resume', () => {
  const source: TableSource = {
    stamp: async () => ({ cpu: 'test' }),
    resumeFields: ['cpu'],
    measure: async (keys, put) => keys.forEach((k, i) => put(k, { count: 1, mean: i + 1 })),
  };

  it('the table the caller read is resumed as read, not read again; one changed since is refused', async () => {
    const out = join(tmp, 't.yaml');
    await buildTable({ keys: ['a', 'b'], out }, source);
    const resumed = readTableForResume(out);
    reads.splice(0);
    const r = await buildTable({ keys: ['a', 'b', 'c'], out, resume: true, resumed }, source);
    expect(readsOf('t.yaml')).toBe(0);
    expect([...r.table.entries.keys()]).toEqual(['a', 'b', 'c']);
    // Another run extends the table after this one read it: refused, the file left as that run wrote it.
    const stale = readTableForResume(out);
    appendFileSync(out, 'd:\n  count: 1\n  mean: 4\n');
    const now = readFileSync(out, 'utf8');
    await expect(buildTable({ keys: ['a', 'b', 'c', 'd', 'e'], out, resume: true, resumed: stale }, source)).rejects.toThrow(
      `${out} changed since it was read for --resume (another run wrote it?): run again`,
    );
    expect(readFileSync(out, 'utf8')).toBe(now);
    // Gone since: refused too, not started afresh.
    rmSync(out);
    await expect(buildTable({ keys: ['a'], out, resume: true, resumed: stale }, source)).rejects.toThrow(
      /changed since it was read/,
    );
  });

  it.skipIf(nativeOrNull() === null)('wgnas profile --resume reads --out once', { timeout: 300_000 }, async () => {
    const out = join(tmp, 'cpu.yaml');
    const argv = (limit: number) => [
      ...['profile', '--resolution', '32', '--limit', String(limit), '--repeats', '3', '--warmup', '0'],
      ...['--max-time-ms', '50', '--out', out],
    ];
    const first = await wgnasInProcess(argv(2));
    expect(first.code, first.err).toBe(0);
    reads.splice(0);
    const resumed = await wgnasInProcess([...argv(3), '--resume']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toMatch(/3 entries \(1 measured, 2 reused\)/);
    expect(reads.filter((p) => p === out).length).toBe(1);
  });
});
