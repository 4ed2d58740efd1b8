/**
 * The class count of a scored or trained network comes from the data: a batch's dataset
 * (batch.classes, which proxyMinibatch sets) sizes NB201's classifier, and a label the network has
 * no output for is refused before any work, never scored as NaN or 0 (it was: CIFAR-100 labels on
 * the default 10-class head gave snip 0 and grad_norm NaN without an error).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreArch } from '../../src/autospace/cell-arch-net.js';
import { AutoSpace } from '../../src/autospace/evolve.js';
import type { Backend } from '../../src/backend/index.js';
import type { Cifar10 } from '../../src/data/cifar10.js';
import { openDataset } from '../../src/data/dataset-spec.js';
import { proxyMinibatch } from '../../src/data/image-dataset.js';
import { ClassCountError, LabelRangeError } from '../../src/data/labels.js';
import { spaceFromLayout } from '../../src/mobilenet/space-file.js';
import { trainFixed } from '../../src/mobilenet/train.js';
import { NB201_DEFAULT } from '../../src/nn/nb201-net.js';
import { PopulationProxyError, PROXIES, UnknownProxyError, type ProxyBatch } from '../../src/proxies/index.js';
import { DEFAULT_SEARCH, ProxylessSearch } from '../../src/proxyless/index.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';
import { nb201NetFor, scoreAll, scoreCell, ZeroShotScorer } from '../../src/zeroshot/index.js';
import { methodBackend } from '../helpers/backend.js';
import { TINY_CIFAR_LAYOUT, tinyEvolveConfig } from '../helpers/cases.js';
import { writeImageFolder } from '../helpers/datasets.js';

const ARCH = '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|';
const NET = { channels: 4, cellsPerStage: 1 };
const N = 8;
const images = new Rng(1).normals(N * 3 * 32 * 32);
const labelled = (y: ArrayLike<number>, classes?: number): ProxyBatch => ({
  x: images,
  y: Float32Array.from(y),
  n: N,
  ...(classes === undefined ? {} : { classes }),
});
/** Labels of CIFAR-100's last classes: none below 90. */
const HIGH = Array.from({ length: N }, (_, i) => 90 + i);

let b: Backend | null;
let dir: string;
beforeAll(async () => {
  b = await methodBackend();
  dir = mkdtempSync(join(tmpdir(), 'wgnas-classes-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the scored network takes its class count from the data', () => {
  it("nb201NetFor: the batch's classes where the config leaves numClasses out; NB201's 10 where neither says", () => {
    expect(nb201NetFor(labelled(HIGH, 100), NET)).toEqual({ channels: 4, cellsPerStage: 1, numClasses: 100 });
    expect(nb201NetFor(labelled(HIGH, 100))).toEqual({ ...NB201_DEFAULT, numClasses: 100 });
    expect(nb201NetFor(labelled([0]), { ...NET, numClasses: 12 }).numClasses).toBe(12);
    expect(nb201NetFor(labelled([0])).numClasses).toBe(10);
    expect(() => nb201NetFor(labelled(HIGH, 100), NB201_DEFAULT)).toThrow(ClassCountError);
    expect(() => nb201NetFor(labelled(HIGH, 100), NB201_DEFAULT)).toThrow(
      "scoreCell: the network's numClasses is 10 but the batch's dataset has 100 classes (batch.classes); leave numClasses out to take the batch's",
    );
  });

  it('scoreCell on a 100-class batch scores a 100-output network: the same scores as numClasses 100, finite', async ({
    skip,
  }) => {
    if (!b) return skip();
    const proxies = ['snip', 'grad_norm', 'params'];
    const fromBatch = await scoreCell(b, parseArch(ARCH), proxies, labelled(HIGH, 100), { net: NET });
    const explicit = await scoreCell(b, parseArch(ARCH), proxies, labelled(HIGH), { net: { ...NET, numClasses: 100 } });
    expect(fromBatch.scores).toEqual(explicit.scores);
    for (const p of proxies) expect(Number.isFinite(fromBatch.scores[p]) && fromBatch.scores[p] > 0, p).toBe(true);
    // The classifier: 100 x 16 weights + 100 biases (4C = 16 features) where the 10-class one has 10 x 16 + 10.
    const ten = await scoreCell(b, parseArch(ARCH), ['params'], labelled([0, 1, 2, 3, 4, 5, 6, 7], 10), { net: NET });
    expect(Math.round((fromBatch.scores.params - ten.scores.params) * 1e6)).toBe(90 * 17);
  });

  it('a label the network has no output for, a negative or a fractional one is refused naming it', async ({ skip }) => {
    if (!b) return skip();
    const cell = parseArch(ARCH);
    const refused = async (batch: ProxyBatch, label: number, index: number, text: RegExp) => {
      const e = await scoreCell(b!, cell, ['snip'], batch, { net: NET }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(LabelRangeError);
      expect(e).toBeInstanceOf(RangeError);
      expect(e).toMatchObject({ label, index });
      expect((e as Error).message).toMatch(text);
    };
    await refused(
      labelled(HIGH),
      90,
      0,
      /^scoreCell: label 90 \(image 0\) is not a class index in \[0, 10\): the network has NB201's 10 classes by default; give the data's class count as batch\.classes/,
    );
    await refused(
      labelled([0, 1, 2, 3, 4, 5, 6, 12], 12),
      12,
      7,
      /label 12 \(image 7\) .* \[0, 12\): the batch's dataset has 12 classes/,
    );
    await refused(labelled([0, 1, -1, 3, 4, 5, 6, 7]), -1, 2, /label -1 \(image 2\)/);
    await refused(labelled([0, 1.5, 2, 3, 4, 5, 6, 7]), 1.5, 1, /label 1\.5 \(image 1\)/);
    await refused(labelled([0, 1, 2, 3, 4, 5, 6, 10]), 10, 7, /opts\.net\.numClasses/);
    // The population scorer refuses them when it is made, before any architecture.
    expect(() => new ZeroShotScorer(b!, ['snip'], { batchSize: N, seed: 0, net: NET, batch: labelled(HIGH) })).toThrow(
      /^ZeroShotScorer: label 90 \(image 0\)/,
    );
  });

  it("proxyMinibatch's batch carries its dataset's class count, also when it lacks the top classes", async ({ skip }) => {
    if (!b) return skip();
    const root = await writeImageFolder(join(dir, 'twelve'), Array(12).fill(2), { format: 'png' });
    const { ds } = await openDataset({ kind: 'folder', path: root }, 'train');
    expect(ds.classes).toBe(12);
    const batch = await proxyMinibatch(ds, 4, 0);
    expect(batch.classes).toBe(12);
    expect(Math.max(...batch.y)).toBeLessThan(11);
    const scorer = new ZeroShotScorer(b, ['params', 'snip'], { batchSize: 4, seed: 0, net: NET, batch });
    expect(scorer.net.numClasses).toBe(12);
    const [row] = await scoreAll(scorer, [parseArch(ARCH)]);
    const explicit = await scoreCell(
      b,
      ARCH,
      ['params', 'snip'],
      { ...batch, classes: undefined },
      { net: { ...NET, numClasses: 12 } },
    );
    expect(row.scores).toEqual(explicit.scores);
  });

  it("a cell space's layout must classify the batch's classes (scoreArch)", async ({ skip }) => {
    if (!b) return skip();
    const space = spaceFromLayout(TINY_CIFAR_LAYOUT);
    const choices = [0, 6, 3];
    await expect(scoreArch(b, space, choices, ['params'], labelled(HIGH, 100))).rejects.toThrow(
      "scoreArch: the space's layout classifies 10 classes but the batch's dataset has 100 (batch.classes); give { ...space, layout: { ...space.layout, classes: 100 } }",
    );
    await expect(scoreArch(b, space, choices, ['snip'], labelled(HIGH))).rejects.toThrow(LabelRangeError);
    const wide = { ...space, layout: { ...space.layout, classes: 100 } };
    const r = await scoreArch(b, wide, choices, ['params', 'snip'], labelled(HIGH, 100));
    expect(Number.isFinite(r.scores.snip) && r.scores.snip > 0).toBe(true);
    const narrow = await scoreArch(b, space, choices, ['params'], labelled([0, 1, 2, 3, 4, 5, 6, 7], 10));
    // The classifier reads the feature mix's channels.
    expect(Math.round((r.scores.params - narrow.scores.params) * 1e6)).toBe(90 * (TINY_CIFAR_LAYOUT.featureMixC + 1));
  });

  it('ProxylessSearch, AutoSpace and trainFixed refuse splits of another class count or with a label past the layout', async ({
    skip,
  }) => {
    if (!b) return skip();
    const split = (labels: number[], classes?: number): Cifar10 => ({
      images: new Float32Array(labels.length * 3 * 32 * 32),
      labels: Uint16Array.from(labels),
      count: labels.length,
      ...(classes === undefined ? {} : { classes }),
    });
    const ok = split([0, 1, 2, 3]);
    const hundred = split([0, 1, 2, 99], 100);
    const past = split([0, 1, 2, 10]);
    const search = (train: Cifar10, val: Cifar10) =>
      new ProxylessSearch(
        b!,
        { ...DEFAULT_SEARCH, layout: TINY_CIFAR_LAYOUT, costLoss: null, checkpointEvery: 0 },
        { train, val },
        null,
      );
    expect(() => search(hundred, ok)).toThrow(
      "ProxylessSearch: the layout classifies 10 classes but the train split's dataset has 100; give layout: { ...layout, classes: 100 }",
    );
    expect(() => search(ok, past)).toThrow(LabelRangeError);
    expect(() => search(ok, past)).toThrow(
      /^ProxylessSearch \(val split\): label 10 \(image 3\) is not a class index in \[0, 10\)/,
    );
    const evolve = (train: Cifar10) =>
      new AutoSpace(b!, tinyEvolveConfig(TINY_CIFAR_LAYOUT, { batchSize: 2 }), { train, val: ok });
    expect(() => evolve(hundred)).toThrow(ClassCountError);
    const o = { steps: 1, batchSize: 2, lr: 0.1, weightDecay: 0, seed: 0, augment: false, evalImages: 2 };
    await expect(trainFixed(b, TINY_CIFAR_LAYOUT, [0, 0, 0], ok, hundred, o)).rejects.toThrow(
      /^trainFixed: the layout classifies 10 classes but the test split's/,
    );
  });
});

describe('scoreCell asks per-network questions only', () => {
  it("refuses the population-level scores, naming the API that computes them; 'all' means every per-network proxy", async ({
    skip,
  }) => {
    if (!b) return skip();
    for (const name of ['vote', 'ensemble', 'az_nas', 'vkdnw_agg']) {
      const e = await scoreCell(b, ARCH, ['wrcor', name], labelled([0, 1, 2, 3, 4, 5, 6, 7]), { net: NET }).catch(
        (x: unknown) => x,
      );
      expect(e, name).toBeInstanceOf(PopulationProxyError);
      expect((e as Error).message, name).toMatch(
        new RegExp(
          `^scoreCell scores one network, and ${name} ranks a population by the scores of .*scoreAll\\(new ZeroShotScorer.*addAggregates\\(rows, \\['${name}'\\]\\)$`,
        ),
      );
    }
    const all = await scoreCell(b, ARCH, ['all'], labelled([0, 1, 2, 3, 4, 5, 6, 7]), { net: NET });
    expect(Object.keys(all.scores).sort()).toEqual([...PROXIES.keys()].sort());
  });

  it('takes an arch string as its parsed cell; refuses anything else and an unknown proxy with typed errors', async ({
    skip,
  }) => {
    if (!b) return skip();
    const batch = labelled([0, 1, 2, 3, 4, 5, 6, 7]);
    const fromString = await scoreCell(b, ARCH, ['wrcor', 'params'], batch, { net: NET });
    expect(fromString.scores).toEqual((await scoreCell(b, parseArch(ARCH), ['wrcor', 'params'], batch, { net: NET })).scores);
    await expect(scoreCell(b, { ops: [] } as never, ['wrcor'], batch)).rejects.toThrow(
      'scoreCell: cell must be an Nb201Cell (parseArch\'s) or an arch string, got {"ops":[]}',
    );
    await expect(scoreCell(b, '|conv~0|', ['wrcor'], batch)).rejects.toThrow(SyntaxError);
    const e = await scoreCell(b, ARCH, ['wrcorx'], batch).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnknownProxyError);
    expect(e).toMatchObject({ proxy: 'wrcorx' });
    expect((e as Error).message).toMatch(/^unknown proxy 'wrcorx'; known: wrcor, /);
  });
});
