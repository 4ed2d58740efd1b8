/**
 * `--init` and `--inputs`: the networks' initialisation and what they see, so a paper's setup
 * (AZ-NAS's figure: kaiming-normal weights, Gaussian images) can be reproduced. The Gaussian batch
 * is N(0, 1), seeded and shaped like the data; the init reaches every network the shared passes
 * build (and not VKDNW's, whose definition fixes it); score records both and a resume with another
 * value is refused naming the flag; the queue's result keys change only away from the defaults.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NB201_DEFAULT, nb201Factory } from '../../src/nn/nb201-net.js';
import { scoreNet } from '../../src/proxies/index.js';
import { type ScoreSettings, resultKey } from '../../src/queue/jobs.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { proxyBatch, withInputs, ZeroShotScorer } from '../../src/zeroshot/index.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { ARCH, wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-init-inputs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const TINY = { ...NB201_DEFAULT, cellsPerStage: 1 };

describe('--inputs gaussian', () => {
  it('replaces the images by seeded N(0, 1) values of the same shape and keeps the labels', () => {
    const data = proxyBatch(16, 3);
    expect(withInputs(data, 'data', 3)).toBe(data);
    const g = withInputs(data, 'gaussian', 3);
    expect(g.x.length).toBe(data.x.length);
    expect(g.y).toBe(data.y);
    expect(g.n).toBe(16);
    let s = 0;
    let ss = 0;
    for (const v of g.x) {
      s += v;
      ss += v * v;
    }
    const mean = s / g.x.length;
    const variance = ss / g.x.length - mean * mean;
    // 49152 draws: the mean's standard error is 0.0045, the variance's 0.0064.
    expect(Math.abs(mean)).toBeLessThan(0.025);
    expect(Math.abs(variance - 1)).toBeLessThan(0.04);
    expect(withInputs(data, 'gaussian', 3).x).toEqual(g.x);
    expect(withInputs(data, 'gaussian', 4).x).not.toEqual(g.x);
  });
});

describe('--init kaiming', () => {
  it('initialises the networks the shared passes score, not the ones VKDNW and Zen build for themselves', async ({ skip }) => {
    const backend = cpuTestBackend();
    if (!backend) return skip();
    const batch = proxyBatch(8, 0);
    const cell = parseArch(ARCH);
    const names = ['az_nas_expressivity', 'wrcor', 'params', 'vkdnw', 'zen'];
    const score = (init: 'pytorch' | 'kaiming') =>
      new ZeroShotScorer(backend, names, { batchSize: 8, seed: 0, net: TINY, batch, init }).score(cell);
    const [py, ka] = [await score('pytorch'), await score('kaiming')];
    expect(ka.scores.az_nas_expressivity).not.toBeCloseTo(py.scores.az_nas_expressivity, 3);
    expect(ka.scores.wrcor).not.toBeCloseTo(py.scores.wrcor, 3);
    expect(ka.scores.params).toBe(py.scores.params);
    expect(ka.scores.vkdnw).toBe(py.scores.vkdnw);
    expect(ka.scores.zen).toBe(py.scores.zen);
    // The scorer's value is scoreNet's on a kaiming-built network.
    const direct = await scoreNet(backend, nb201Factory(backend, cell, TINY), ['az_nas_expressivity'], batch, 0, 'kaiming');
    expect(direct.scores.az_nas_expressivity).toBe(ka.scores.az_nas_expressivity);
  });
});

describe('wgnas score --init / --inputs', () => {
  it('records both settings and refuses a resume that changes one, naming the flag', async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const out = join(tmp, 'scores.csv');
    const base = ['score', '--arch', ARCH, '--proxies', 'az_nas_expressivity', '--cells-per-stage', '1', '--batch', '8'];
    const cpu = ['--device', 'cpu', '--cpu-threads', '2', '--out', out];
    const r = await wgnasInProcess([...base, '--init', 'kaiming', '--inputs', 'gaussian', ...cpu]);
    expect(r.code, r.err).toBe(0);
    const settings = JSON.parse(readFileSync(`${out}.settings.json`, 'utf8')).settings;
    expect(settings['--init']).toBe('kaiming');
    expect(settings['--inputs']).toBe('gaussian');
    const again = await wgnasInProcess([...base, '--init', 'kaiming', ...cpu, '--resume']);
    expect(again.code).toBe(2);
    expect(again.err.trim()).toMatch(/^wgnas score: --resume: --inputs was gaussian, now data in .*scores\.csv; /);
    const same = await wgnasInProcess([...base, '--init', 'kaiming', '--inputs', 'gaussian', ...cpu, '--resume']);
    expect(same.code, same.err).toBe(0);
    expect(same.err).toMatch(/1 of 1 cells already scored/);
  });

  it('search records them in --evaluated and refuses a resume with another --init', async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const log = join(tmp, 'evaluated.csv');
    const args = ['search', '--budget', '2', '--population', '2', '--sample-size', '1', '--cells-per-stage', '1'];
    const rest = ['--batch', '8', '--device', 'cpu', '--cpu-threads', '2', '--quiet', '--json', '--evaluated', log];
    const r = await wgnasInProcess([...args, '--init', 'kaiming', '--inputs', 'gaussian', ...rest]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(readFileSync(`${log}.settings.json`, 'utf8')).settings).toMatchObject({
      '--init': 'kaiming',
      '--inputs': 'gaussian',
    });
    const again = await wgnasInProcess([...args, '--inputs', 'gaussian', ...rest, '--resume']);
    expect(again.code).toBe(2);
    expect(again.err.trim()).toMatch(/--init was kaiming, now pytorch/);
  });

  it('refuses an unknown value in one line naming the flag', async () => {
    const r = await wgnasInProcess(['score', '--arch', ARCH, '--init', 'xavier']);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/--init/);
  });
});

describe('queue result keys', () => {
  const s: ScoreSettings = {
    proxies: ['wrcor'],
    batchSize: 64,
    seed: 0,
    group: 1,
    channels: 16,
    cellsPerStage: 5,
    dataset: 'cifar10',
    dataHash: 'h',
    codeVersion: 'c',
    device: 'cpu',
  };
  it('stay as they were for the defaults and change with another init or inputs', () => {
    const k = resultKey(s, ARCH);
    expect(resultKey({ ...s, init: 'pytorch', inputs: 'data' }, ARCH)).toBe(k);
    expect(resultKey({ ...s, init: 'kaiming' }, ARCH)).not.toBe(k);
    expect(resultKey({ ...s, inputs: 'gaussian' }, ARCH)).not.toBe(k);
    expect(resultKey({ ...s, init: 'kaiming' }, ARCH)).not.toBe(resultKey({ ...s, inputs: 'gaussian' }, ARCH));
    // --group-mode stacked: scores within float rounding of 'separate', stored apart.
    expect(resultKey({ ...s, groupMode: 'separate' }, ARCH)).toBe(k);
    expect(resultKey({ ...s, groupMode: 'stacked' }, ARCH)).not.toBe(k);
  });
});
