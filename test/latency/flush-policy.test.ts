/**
 * --cache-flush auto: the bytes an op touches (weights and activations, by hand), a space's largest
 * network (the largest choice of each layer, from the space: profile and the measured cost model
 * alike), one network's (every layer), and the choice it makes: L1 evicted for the CIFAR layout's
 * small networks, 2 x L2 flushed for ProxylessNAS mobile ones; `wgnas profile` stamps and says it,
 * and a resumed table keeps its own flush. The addon's part skips locally without it.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archParts, archToNativeOps, parseArch } from '../../src/latency/arch.js';
import { readLatencyTable } from '../../src/latency/lut.js';
import { archFromChoices, proxylessSpace, randomChoices } from '../../src/latency/space.js';
import {
  autoFlushFor,
  keysBytes,
  opBytes,
  SMALL_NETWORK_BYTES,
  SMALL_NETWORK_FLUSH_BYTES,
  supernetBytes,
} from '../../src/latency/working-set.js';
import { cellNativeOps, cellSpaceBytes, measuredCost, skeletonNativeOps } from '../../src/mobilenet/cost/measured.js';
import { CIFAR_LAYOUT, layoutSpace } from '../../src/mobilenet/layout.js';
import { handDesignedSpace, spaceFromLayout, writeSpaceFile } from '../../src/mobilenet/space-file.js';
import { flushStamp } from '../../src/latency/profiler.js';
import type { NativeBinding, ProfileResult } from '../../src/native/binding.js';
import { NET } from '../helpers/flags.js';
import { Rng } from '../../src/util/rng.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { nativeOrNull } from '../helpers/native.js';

const MiB = 2 ** 20;

describe('bytes a network touches', () => {
  it('an op: its weights and biases, input, inner and output activations, f32', () => {
    // 3x3 conv 3 -> 16 on 32x32, stride 2: 16x16 out.
    expect(opBytes({ type: 'conv', inH: 32, inC: 3, outC: 16, kernel: 3, stride: 2 })).toBe(
      4 * (3 * 16 * 9 + 16 + 32 * 32 * 3 + 16 * 16 * 16),
    );
    // MBConv 8 -> 12, expand 3 (24 inner), k5, stride 2 on 16x16: expand 1x1, depthwise, project.
    expect(opBytes({ type: 'mbconv', inH: 16, inC: 8, outC: 12, expand: 3, kernel: 5, stride: 2 })).toBe(
      4 * (8 * 24 + 24 + 16 * 16 * 24 + 24 * 26 + 24 * 12 + 12 + 16 * 16 * 8 + 8 * 8 * (24 + 12)),
    );
    // expand 1: no expansion conv nor its tensor.
    expect(opBytes({ type: 'mbconv', inH: 4, inC: 8, outC: 8, expand: 1, kernel: 3, idskip: true })).toBe(
      4 * (8 * 10 + 8 * 8 + 8 + 16 * 8 + 16 * (8 + 8)),
    );
    expect(opBytes({ type: 'logits', inH: 2, inC: 256, outC: 10 })).toBe(4 * (2560 + 10 + 4 * 256 + 10));
    expect(opBytes({ type: 'dwconv', inH: 8, inC: 4, kernel: 3 })).toBe(4 * (4 * 10 + 2 * 64 * 4));
  });

  it("a space's largest network: the fixed parts plus the largest choice of each position; one network: every layer", () => {
    const space = layoutSpace(CIFAR_LAYOUT);
    // Stem, the one-choice first block, feature mix, classifier.
    const fixed = archParts(archFromChoices(space, randomChoices(space, new Rng(1))))
      .filter((p) => !p.name.startsWith('block') || p.name === 'block 0')
      .reduce((s, p) => s + opBytes(p.op), 0);
    const blocks = space.positions.slice(1).reduce((s, p) => {
      const sizes = p.candidates.map((c) => (c === 'zero' ? 0 : opBytes({ type: 'mbconv', ...c })));
      return s + Math.max(...sizes);
    }, 0);
    expect(supernetBytes(space)).toBe(fixed + blocks);
    // One network: the sum over its layers, repeated block shapes each time (ProxylessNAS mobile at 32).
    const arch = parseArch(JSON.parse(readFileSync(NET, 'utf8')), 32);
    const layers = archToNativeOps(arch);
    expect(new Set(archParts(arch).map((p) => p.key)).size).toBeLessThan(layers.length);
    const own = layers.reduce((s, op) => s + opBytes(op), 0);
    expect(keysBytes(archParts(arch).map((p) => p.key))).toBe(own);
    expect(own / MiB).toBeCloseTo(16.0, 1);
  });

  it('a cell space: the skeleton plus the largest cell of each layer', () => {
    const space = spaceFromLayout(CIFAR_LAYOUT);
    const sum = (ops: ReturnType<typeof cellNativeOps>) => ops.reduce((s, op) => s + opBytes(op), 0);
    const cells = space.cells.map((layer, b) => Math.max(...layer.map((c) => sum(cellNativeOps(c, space.shapes[b])))));
    expect(cellSpaceBytes(space)).toBe(sum(skeletonNativeOps(CIFAR_LAYOUT)) + cells.reduce((a, b) => a + b, 0));
  });

  it('auto: 128 KiB for the CIFAR layout (about 1.8 MiB), 2 x L2 for ProxylessNAS mobile at 32 and 224', () => {
    const cifar = supernetBytes(layoutSpace(CIFAR_LAYOUT));
    expect(cifar / MiB).toBeCloseTo(1.81, 2);
    expect(autoFlushFor(cifar)).toBe(128 * 1024);
    const p32 = supernetBytes(proxylessSpace({ inputSize: 32 }));
    expect(p32 / MiB).toBeCloseTo(20.26, 2);
    expect(autoFlushFor(p32)).toBe('auto');
    expect(autoFlushFor(supernetBytes(proxylessSpace({ inputSize: 224 })))).toBe('auto');
    expect(autoFlushFor(SMALL_NETWORK_BYTES)).toBe(SMALL_NETWORK_FLUSH_BYTES);
    expect(autoFlushFor(SMALL_NETWORK_BYTES + 1)).toBe('auto');
  });
});

/** A profiler that says nothing but 1 ms per op, on a CPU of 1 MiB L2. */
const fakeNative = {
  cpuInfo: () => ({ model: 'fake', vendor: 'x', logicalCores: 1, availableCores: 1, features: [], cacheBytes: { l2: 1 << 20 } }),
  backends: () => [{ name: 'onednn', available: true, version: 'fake' }],
  profile: async () => ({ medianMs: 1 }) as ProfileResult,
} as unknown as NativeBinding;

describe('one estimate for a cell space: profile --space-file and the search time it alike', () => {
  // The reviewer's space: a table of it keyed by shape read 4.04 MiB (2 x L2), the search 3.36 MiB (128 KiB).
  const layout = { ...CIFAR_LAYOUT, name: 'wider', widths: [16, 24, 32, 44, 68, 88], featureMixC: 358 };
  const space = spaceFromLayout(layout);

  it('the measured cost model flushes 128 KiB for it', async () => {
    expect(cellSpaceBytes(space) / MiB).toBeCloseTo(3.36, 2);
    const cost = await measuredCost(space, { native: fakeNative });
    expect(cost.meta!['cache-flush']).toBe(flushStamp(SMALL_NETWORK_FLUSH_BYTES));
  });

  it.skipIf(nativeOrNull() === null)('profile --space-file chooses the same', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgnas-flush-space-'));
    const file = join(dir, 'space.json');
    writeSpaceFile(file, { ...handDesignedSpace(layout), layout });
    const out = join(dir, 'space.yaml');
    const r = await wgnasInProcess([
      'profile',
      '--space-file',
      file,
      '--limit',
      '1',
      '--repeats',
      '2',
      '--warmup',
      '0',
      '--quiet',
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/note: --cache-flush auto: a network of these ops touches about 3\.4 MiB \(at most 4 MiB\)/);
    expect(readLatencyTable(out).meta['cache-flush']).toBe(flushStamp(SMALL_NETWORK_FLUSH_BYTES));
  });
});

describe.skipIf(nativeOrNull() === null)('wgnas profile --cache-flush auto', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgnas-flush-'));
  const quick = ['--limit', '2', '--repeats', '2', '--warmup', '0', '--max-time-ms', '20', '--quiet'];
  const profile = (...argv: string[]) => wgnasInProcess(['profile', ...quick, ...argv]);

  it(
    'times a CIFAR table after evicting L1, a ProxylessNAS one after 2 x L2, stamped and said',
    { timeout: 120_000 },
    async () => {
      const cifar = join(dir, 'cifar.yaml');
      const r = await profile('--space', 'cifar', '--out', cifar);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(
        /^note: --cache-flush auto: a network of these ops touches about 1\.8 MiB \(at most 4 MiB\), so between its ops its data stays in L2 and leaves L1 only: each op timed after touching 128 KiB \(--cache-flush 131072\)$/m,
      );
      expect(readLatencyTable(cifar).meta['cache-flush']).toBe('131072 bytes per thread before each run');
      const mobile = join(dir, 'mobile.yaml');
      const m = await profile('--resolution', '32', '--out', mobile);
      expect(m.code, m.err).toBe(0);
      expect(m.err).toMatch(/^note: --cache-flush auto: a network of these ops touches about 20\.3 MiB \(over 4 MiB\)/m);
      expect(readLatencyTable(mobile).meta['cache-flush']).toMatch(/^\d+ bytes per thread before each run$/);
      // Asked for explicitly: as asked, no note.
      const off = await profile('--resolution', '32', '--cache-flush', 'off', '--out', join(dir, 'off.yaml'));
      expect(off.code, off.err).toBe(0);
      expect(off.err).not.toMatch(/--cache-flush auto/);
      expect(readLatencyTable(join(dir, 'off.yaml')).meta['cache-flush']).toBe('no (warm caches)');
    },
  );

  it('a resumed table keeps the flush it was measured with', { timeout: 120_000 }, async () => {
    // A CIFAR table measured with another flush (auto's 2 x L2 before): --resume with auto keeps it.
    const out = join(dir, 'old.yaml');
    const first = await profile('--space', 'cifar', '--cache-flush', '1048576', '--out', out);
    expect(first.code, first.err).toBe(0);
    const r = await wgnasInProcess(['profile', ...quick.slice(2), '--limit', '3', '--space', 'cifar', '--out', out, '--resume']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/3 entries \(1 measured, 2 reused\)/);
    expect(r.err).not.toMatch(/--cache-flush auto/);
    expect(readLatencyTable(out).meta['cache-flush']).toBe('1048576 bytes per thread before each run');
  });
});
