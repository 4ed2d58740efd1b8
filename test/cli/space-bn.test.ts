/**
 * The BN a learned space records (`bn`, what evolve-space evolved its cells at) reaches the
 * networks the commands build from it: `search --space-file` scores and writes at it, `proxyless
 * --space-file` searches at its eps unless --bn-eps is given (a differing flag wins, with one note
 * line) and records the effective eps for --resume; a space without `bn` keeps each command's
 * default; `train --bn-momentum` over a network file's momentum is noted the same way.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { cellArchFactory } from '../../src/autospace/cell-arch-net.js';
import { bnOfSpace } from '../../src/cli/space.js';
import { FixedNet } from '../../src/mobilenet/fixed-net.js';
import { CIFAR_LAYOUT } from '../../src/mobilenet/layout.js';
import { archJson, handDesignedSpace, loadSpace, spaceBn } from '../../src/mobilenet/space-file.js';
import type { SpaceFile } from '../../src/mobilenet/space.js';
import { readCheckpointState } from '../../src/nn/checkpoint.js';
import { Tape } from '../../src/nn/tape.js';
import { Rng } from '../../src/util/rng.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { TINY_CIFAR_LAYOUT } from '../helpers/cases.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { writeImageFolder } from '../helpers/datasets.js';
import { flagArgs } from '../helpers/flags.js';

// --val 8 cannot hold one image of each of 10 classes: the stratified split says so in one note.
const SPLIT_NOTE = /^note: search split .*\n/m;

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-space-bn-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A learned space of the tiny layout as evolve-space writes it: its cells, and the BN they evolved at. */
function learned(bn?: { eps: number; momentum: number }): SpaceFile {
  const f: SpaceFile = { ...handDesignedSpace(TINY_CIFAR_LAYOUT), source: 'autospace' };
  return bn ? { ...f, bn } : f;
}

function writeSpace(name: string, f: SpaceFile): string {
  const path = join(tmp, name);
  writeFileSync(path, JSON.stringify(f, null, 2));
  return path;
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

/** `f`'s result and the eps of every BN the tapes ran meanwhile (fused with ReLU6 or not). */
async function withBnEps<T>(f: () => Promise<T>): Promise<{ result: T; eps: Set<number> }> {
  const eps = new Set<number>();
  const bn = Tape.prototype.batchNorm;
  const bnRelu = Tape.prototype.batchNormRelu6;
  const a = vi.spyOn(Tape.prototype, 'batchNorm').mockImplementation(function (this: Tape, ...args) {
    eps.add(args[5] as number);
    return bn.apply(this, args);
  });
  const b = vi.spyOn(Tape.prototype, 'batchNormRelu6').mockImplementation(function (this: Tape, ...args) {
    eps.add(args[6] as number);
    return bnRelu.apply(this, args);
  });
  try {
    return { result: await f(), eps };
  } finally {
    a.mockRestore();
    b.mockRestore();
  }
}

describe('bnOfSpace: the flag when given, else the file, else the default', () => {
  const space = loadSpace(learned({ eps: 1e-3, momentum: 0.05 }));
  const old = loadSpace(learned());
  const flag = (value: number, given: boolean) => ({ name: 'bn-eps', value, given });
  it('takes the recorded value when the flag is not given, and says nothing', () => {
    expect(bnOfSpace(space, 'S.json', 'eps', flag(1e-5, false))).toEqual({ value: 1e-3, note: null });
    expect(bnOfSpace(space, 'S.json', 'momentum', flag(0.1, false))).toEqual({ value: 0.05, note: null });
  });
  it('a given flag that differs wins, in one note naming the flag, both values and the file', () => {
    expect(bnOfSpace(space, 'S.json', 'eps', flag(1e-4, true))).toEqual({
      value: 1e-4,
      note: 'note: --bn-eps 0.0001 overrides bn.eps 0.001 recorded in space file S.json\n',
    });
    expect(bnOfSpace(space, 'S.json', 'eps', flag(1e-3, true))).toEqual({ value: 1e-3, note: null });
  });
  it('a file without bn keeps the flag (its default)', () => {
    expect(bnOfSpace(old, 'S.json', 'eps', flag(1e-3, false))).toEqual({ value: 1e-3, note: null });
    expect(spaceBn(old)).toEqual({ eps: 1e-5, momentum: 0.1 });
    expect(spaceBn(space)).toEqual({ eps: 1e-3, momentum: 0.05 });
  });
});

describe('the networks built from a space use its recorded eps', () => {
  it('cellArchFactory (what search --space-file scores): the logits of eps 1e-3, not of 1e-5', async ({ skip }) => {
    const cpu = cpuTestBackend();
    if (!cpu) return skip();
    const space = loadSpace(learned({ eps: 1e-3, momentum: 0.05 }));
    const choices = [1, 0, 2];
    const x = cpu.upload(new Rng(4).normals(2 * 3 * 32 * 32), [2, 3, 32, 32]);
    const logits = async (net: FixedNet) => {
      const t = new Tape(cpu, { noGrad: true });
      try {
        return Array.from(await net.forward(t, t.input(x)).logits.value.read());
      } finally {
        t.dispose();
        net.dispose();
      }
    };
    try {
      const built = cellArchFactory(cpu, space, choices).build('pytorch', new Rng(3)) as FixedNet;
      expect(built.bnEps).toBe(1e-3);
      const got = await logits(built);
      const at = (eps: number) =>
        logits(FixedNet.fromChoices(cpu, space.layout, space.cells, choices, new Rng(3), 'pytorch', eps));
      const at3 = await at(1e-3);
      const at5 = await at(1e-5);
      expect(got).toEqual(at3);
      // The eps shows in the logits: the two settings are told apart by far more than rounding.
      const diff = Math.max(...at3.map((v, i) => Math.abs(v - at5[i])));
      expect(diff).toBeGreaterThan(1e-4);
    } finally {
      x.dispose();
    }
  });
});

describe('wgnas search --space-file', () => {
  const RUN = ['--budget', '2', '--strategy', 'random', '--batch', '8', '--device', 'cpu', '--cpu-threads', '1'];
  it(
    'writes the recorded bn into the architecture; a file without bn gets 1e-5 / 0.1',
    { timeout: 120_000 },
    async ({ skip }) => {
      if (!cpuTestBackend()) return skip();
      const file = writeSpace('search-bn.json', learned({ eps: 1e-3, momentum: 0.05 }));
      const out = join(tmp, 'search-arch.json');
      const { result: r, eps } = await withBnEps(() =>
        wgnasInProcess(['search', '--space-file', file, ...RUN, '--train-steps', '1', '--out', out]),
      );
      expect(r.code, r.err).toBe(0);
      // Every BN the proxies scored and the --train-steps check trained ran at the file's eps.
      expect(eps).toEqual(new Set([1e-3]));
      expect(readJson(out).bn).toEqual({ momentum: 0.05, eps: 1e-3 });
      expect(r.err).toMatch(/^search random\/wrcor on .*, BN eps 0\.001 as the space file records\n/);

      const old = writeSpace('search-old.json', learned());
      const oldOut = join(tmp, 'search-old-arch.json');
      const { result: o, eps: oldEps } = await withBnEps(() =>
        wgnasInProcess(['search', '--space-file', old, ...RUN, '--out', oldOut]),
      );
      expect(o.code, o.err).toBe(0);
      expect(oldEps).toEqual(new Set([1e-5]));
      expect(readJson(oldOut).bn).toEqual({ momentum: 0.1, eps: 1e-5 });
      expect(o.err).toMatch(/^search random\/wrcor on .*, BN eps 0\.00001\n/);
    },
  );
});

describe('wgnas proxyless --space-file', () => {
  const CPU = flagArgs({ device: 'cpu', 'cpu-threads': '1' });
  const SPLIT = flagArgs({ warmup: '1', steps: '1', batch: '4', 'val-batch': '4', train: '16', val: '8' });
  const RUN = ['proxyless', '--target-madds', '0.5', ...SPLIT, ...CPU, '--quiet'];
  const file = writeSpace('px-bn.json', learned({ eps: 1e-3, momentum: 0.05 }));

  it(
    "searches at the file's bn (recorded in the checkpoint); a differing --bn-eps wins with a note, and a resume at another eps is refused",
    { timeout: 180_000 },
    async ({ skip }) => {
      if (!cpuTestBackend()) return skip();
      const ck = join(tmp, 'px-ck');
      const out = join(tmp, 'px-arch.json');
      const { result: r, eps } = await withBnEps(() =>
        wgnasInProcess([...RUN, '--space-file', file, '--checkpoint', ck, '--out', out]),
      );
      expect(r.code, r.err).toBe(0);
      expect(eps).toEqual(new Set([1e-3]));
      expect(r.err.replace(SPLIT_NOTE, '')).toBe('');
      expect(readJson(out).bn).toEqual({ momentum: 0.05, eps: 1e-3 });
      const settings = readCheckpointState(ck).meta.settings as Record<string, unknown>;
      expect(settings['--bn-eps']).toBe(1e-3);
      expect(settings['--space-file bn.momentum']).toBe(0.05);

      const given = join(tmp, 'px-given.json');
      // --train-derived trains the derived network at the supernet's eps too.
      const { result: g, eps: givenEps } = await withBnEps(() =>
        wgnasInProcess([...RUN, '--space-file', file, '--bn-eps', '1e-4', '--train-derived', '1', '--out', given]),
      );
      expect(g.code, g.err).toBe(0);
      expect(givenEps).toEqual(new Set([1e-4]));
      expect(g.out).toMatch(/\ntrained from scratch 1 steps: test accuracy /);
      expect(g.err.replace(SPLIT_NOTE, '')).toBe(`note: --bn-eps 0.0001 overrides bn.eps 0.001 recorded in space file ${file}\n`);
      expect(readJson(given).bn).toEqual({ momentum: 0.05, eps: 1e-4 });

      // The checkpoint searched at the file's 1e-3: resuming at 1e-4 would mix two searches.
      const back = await wgnasInProcess([...RUN, '--space-file', file, '--bn-eps', '1e-4', '--checkpoint', ck, '--resume']);
      expect(back.code).toBe(2);
      expect(back.err).toMatch(/^wgnas proxyless: --resume: --bn-eps was 0\.001, now 0\.0001; [^\n]*\n$/);
    },
  );

  it("a space file without bn keeps --bn-eps's default 1e-3 and momentum 0.1", { timeout: 120_000 }, async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const old = writeSpace('px-old.json', learned());
    const out = join(tmp, 'px-old-arch.json');
    const ck = join(tmp, 'px-old-ck');
    const { result: r, eps } = await withBnEps(() =>
      wgnasInProcess([...RUN, '--space-file', old, '--checkpoint', ck, '--out', out]),
    );
    expect(r.code, r.err).toBe(0);
    expect(eps).toEqual(new Set([1e-3]));
    expect(r.err.replace(SPLIT_NOTE, '')).toBe('');
    expect(readJson(out).bn).toEqual({ momentum: 0.1, eps: 1e-3 });
    expect((readCheckpointState(ck).meta.settings as Record<string, unknown>)['--bn-eps']).toBe(1e-3);
  });
});

describe('wgnas train --bn-momentum over a network file that records one', () => {
  it('the flag wins with a note; without it, the file', { timeout: 180_000 }, async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const space = loadSpace(handDesignedSpace(CIFAR_LAYOUT));
    const net = join(tmp, 'arch-bn.json');
    writeFileSync(
      net,
      JSON.stringify(
        archJson(
          space,
          space.cells.map(() => 0),
          { eps: 1e-3, momentum: 0.05 },
        ),
      ),
    );
    await writeImageFolder(join(tmp, 'colours', 'train'), [4, 4]);
    await writeImageFolder(join(tmp, 'colours', 'test'), [2, 2]);
    const args = (out: string) => [
      'train',
      // No warm-up: a 1-epoch run's default one is cut with a note, and stderr is to hold the bn notes alone.
      ...flagArgs({
        net,
        dataset: `folder:${join(tmp, 'colours')}`,
        epochs: '1',
        'warmup-epochs': '0',
        batch: '8',
        'latency-runs': '0',
      }),
      ...flagArgs({ device: 'cpu', 'cpu-threads': '1', out }),
      '--quiet',
    ];
    const given = join(tmp, 'train-given');
    const g = await wgnasInProcess([...args(given), '--bn-momentum', '0.2']);
    expect(g.code, g.err).toBe(0);
    expect(g.err).toBe(`note: --bn-momentum 0.2 overrides bn.momentum 0.05 of the network in --net ${net}\n`);
    expect(readJson(join(given, 'report.json')).settings['bn-momentum']).toBe(0.2);

    const plain = join(tmp, 'train-plain');
    const p = await wgnasInProcess(args(plain));
    expect(p.code, p.err).toBe(0);
    expect(p.err).toBe('');
    expect(readJson(join(plain, 'report.json')).settings['bn-momentum']).toBe(0.05);
  });
});
