/**
 * Cell-space keys (one conv / dwconv key per cell node, the skeleton's ProxylessNAS keys) and the
 * mapping of ProxylessNAS architectures onto cell networks (a built-in layout when the net is one
 * of its architectures, else a layout of its own stages). CPU only.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { archParts, archToNativeOps, fromNetConfig } from '../../src/latency/arch.js';
import { archToCellNet } from '../../src/mobilenet/proxyless-arch.js';
import {
  cellKeys,
  cellNetNativeOps,
  cellSpaceKeys,
  predictCellArch,
  skeletonKeys,
} from '../../src/mobilenet/cell-latency-keys.js';
import { keyToNativeOp, LatencyKeyError, nodeKey } from '../../src/latency/keys.js';
import type { LatencyTable } from '../../src/latency/lut.js';
import { keyMacs, MissingLatencyError } from '../../src/latency/predictor.js';
import { parseLatencyKey } from '../../src/latency/keys.js';
import { formatCell, parseCell } from '../../src/mobilenet/cell-text.js';
import { mbconvCell } from '../../src/mobilenet/cell.js';
import { CIFAR_LAYOUT, IMAGENET_LAYOUT, layerShapes } from '../../src/mobilenet/layout.js';
import { spaceFromLayout } from '../../src/mobilenet/space-file.js';
import { toNetConfig } from '../../src/proxyless/net-config.js';

const SHARED = new URL('../../data/latency/', import.meta.url);

describe('cell-space keys', () => {
  it('one key per node, with the node shapes, and native ops that match them', () => {
    const shape = { inC: 16, outC: 24, stride: 2 as const, inH: 8 };
    const keys = cellKeys(mbconvCell(5, 6), shape);
    expect(keys).toEqual([
      'conv-input:8x8x16-output:8x8x96-kernel:1-stride:1-relu6:1',
      'dwconv-input:8x8x96-output:4x4x96-kernel:5-stride:2-relu6:1',
      'conv-input:4x4x96-output:4x4x24-kernel:1-stride:1-relu6:0',
    ]);
    expect(keyToNativeOp(keys[1])).toEqual({ type: 'dwconv', inH: 8, inW: 8, inC: 96, kernel: 5, stride: 2, relu6: true });
    expect(keyToNativeOp(keys[2])).toEqual({
      type: 'conv',
      inH: 4,
      inW: 4,
      inC: 96,
      outC: 24,
      kernel: 1,
      stride: 1,
      relu6: false,
    });
    expect(keyMacs(parseLatencyKey(keys[1]))).toBe(4 * 4 * 25 * 96);
    expect(cellKeys(parseCell('zero'), { inC: 24, outC: 24, stride: 1, inH: 4 })).toEqual([]);
    // A two-input node (its inputs summed) is one conv on the summed shape.
    const two = parseCell('pw3<0;dw3<1;pwl<2;pwl<0;=>3+4');
    expect(cellKeys(two, { inC: 8, outC: 8, stride: 1, inH: 4 })).toHaveLength(4);
    expect(() => keyToNativeOp('dwconv-input:8x8x8-output:8x8x16-kernel:3-stride:1-relu6:1')).toThrow(LatencyKeyError);
    expect(() => keyToNativeOp('conv-input:8x8x8-output:8x8x16-kernel:3-stride:1')).toThrow(/missing field 'relu6'/);
    expect(nodeKey({ depthwise: true, inH: 7, inC: 4, outC: 99, kernel: 3, stride: 2, relu6: true })).toBe(
      'dwconv-input:7x7x4-output:4x4x4-kernel:3-stride:2-relu6:1',
    );
  });

  it('a space lists its skeleton and every node once; an architecture sums them', () => {
    const space = spaceFromLayout(CIFAR_LAYOUT);
    const keys = cellSpaceKeys(space);
    const skel = skeletonKeys(CIFAR_LAYOUT);
    expect(keys.slice(0, 4)).toEqual(skel);
    expect(skel[0]).toBe('Conv-input:32x32x3-output:32x32x16');
    expect(new Set(keys).size).toBe(keys.length);
    const table: LatencyTable = { meta: {}, entries: new Map(keys.map((k, i) => [k, { count: 1, mean: i + 1 }])) };
    const cells = space.cells.map((c) => c[0]);
    const want = [...skel, ...cells.flatMap((c, b) => cellKeys(c, space.shapes[b]))].reduce((s, k) => s + keys.indexOf(k) + 1, 0);
    expect(predictCellArch(table, CIFAR_LAYOUT, space.shapes, cells)).toBe(want);
    table.entries.delete(skel[2]);
    expect(() => predictCellArch(table, CIFAR_LAYOUT, space.shapes, cells)).toThrow(MissingLatencyError);
  });
});

describe('architectures as cell networks', () => {
  it("a net.config of a built-in layout gets that layout and the search's choices", () => {
    for (const layout of [CIFAR_LAYOUT, IMAGENET_LAYOUT]) {
      const n = layerShapes(layout).length;
      const choices = Array.from({ length: n }, (_, b) => ((b * 5) % (b % 2 ? 6 : 7)) % 6);
      const arch = fromNetConfig(toNetConfig(layout, choices), layout.inputSize);
      const net = archToCellNet(arch);
      expect(net.layout).toBe(layout);
      expect(net.choices).toEqual(choices);
      expect(net.cells.map(formatCell)).toEqual(choices.map((j, b) => formatCell(spaceFromLayout(layout).cells[b][j])));
    }
  });

  it('the published ProxylessNAS nets get a layout of their own stages with the same blocks', () => {
    for (const name of ['mobile', 'gpu', 'cpu']) {
      const arch = fromNetConfig(JSON.parse(readFileSync(new URL(`proxylessnas_proxyless_${name}.config`, SHARED), 'utf8')), 224);
      const net = archToCellNet(arch, name);
      expect(net.layout.name).toBe(name);
      const blocks = arch.blocks.slice(1);
      expect(net.cells).toHaveLength(blocks.length);
      net.cells.forEach((c, b) => {
        const blk = blocks[b];
        expect(formatCell(c)).toBe(blk === 'zero' ? 'zero' : formatCell(mbconvCell(blk.kernel as 3, blk.expand as 3)));
      });
      // Same keys as the architecture's own parts.
      expect(archParts(arch).length).toBe(blocks.filter((b) => b !== 'zero').length + 4);
    }
  });

  it("a cell network's addon op chain is the one predict --measure runs for its net.config; a cell DAG has none", () => {
    const configs = ['mobile', 'gpu', 'cpu'].map((name) => ({
      arch: fromNetConfig(JSON.parse(readFileSync(new URL(`proxylessnas_proxyless_${name}.config`, SHARED), 'utf8')), 224),
      name,
    }));
    // The CIFAR space's candidates in turn (zero cells included where offered: a skipped block, no op).
    const space = spaceFromLayout(CIFAR_LAYOUT);
    const cifarChoices = space.cells.map((c, b) => (b % 3 === 0 ? c.length - 1 : (b * 5) % c.length));
    expect(cifarChoices.some((j, b) => formatCell(space.cells[b][j]) === 'zero')).toBe(true);
    configs.push({ arch: fromNetConfig(toNetConfig(CIFAR_LAYOUT, cifarChoices), 32), name: 'cifar' });
    for (const { arch, name } of configs) {
      const net = archToCellNet(arch, name);
      expect(cellNetNativeOps(net.layout, net.cells), name).toEqual(archToNativeOps(arch));
    }
    const dag = parseCell('pw3<0;dw3<1;pwl<2;pwl<0;=>3+4');
    const cells = spaceFromLayout(CIFAR_LAYOUT).cells.map((c) => c[0]);
    cells[2] = dag;
    expect(cellNetNativeOps(CIFAR_LAYOUT, cells)).toBeNull();
  });

  it('refuses networks that are not ProxylessNAS-style MobileNets', () => {
    const arch = fromNetConfig(
      toNetConfig(
        CIFAR_LAYOUT,
        layerShapes(CIFAR_LAYOUT).map(() => 0),
      ),
      32,
    );
    expect(() => archToCellNet({ ...arch, featureMix: null })).toThrow(/feature-mix/);
    expect(() => archToCellNet({ ...arch, stem: { ...arch.stem, kernel: 5 } })).toThrow(/stem conv must be 3x3/);
    expect(() => archToCellNet({ ...arch, blocks: arch.blocks.slice(1) })).toThrow();
    // A stride-1 same-width block without a shortcut: ProxylessNAS computes conv(x) alone, wgnas's
    // layer would add x (it did, silently, before this check).
    const b = arch.blocks.findIndex((blk, i) => i > 0 && blk !== 'zero' && blk.idskip);
    const noSkip = arch.blocks.map((blk, i) => (i === b && blk !== 'zero' ? { ...blk, idskip: false } : blk));
    expect(() => archToCellNet({ ...arch, blocks: noSkip })).toThrow(new RegExp(`block ${b} .*has no identity shortcut`));
  });
});
