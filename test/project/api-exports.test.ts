/**
 * docs/api.md says its names come from the package root (the MobileNet layer under `mobilenet.`):
 * the ones a reader would import for the crash-safe files, the optimisers, the CPU device, the
 * proxy registry and the gate/fitness kernels are there, not only by path from a checkout. The
 * code examples of docs/api.md and docs/data.md type-check against the sources, and api.md's runs
 * (test/package/install.test.ts runs it again against the packed tarball).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as wgnas from '../../src/index.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { REPO } from '../helpers/paths.js';

const ROOT = [
  'NativeDevice',
  'WeightSgd',
  'AlphaAdam',
  'TrainingDivergedError',
  'sampleGates',
  'binarizeAlphaGrad',
  'rescaleTwoPath',
  'gateDot',
  'fitnessSoftmax',
  'mixForward',
  'mixBackward',
  'fitnessGrad',
  'defineProxy',
  'defineProxyFamily',
  'defineAggregator',
  'definePass',
  'registerProxy',
  'registerAggregator',
  'populationScorer',
  'PopulationScorer',
  'cePass',
  'staticPass',
  'AGGREGATORS',
  'scoreArch',
  'writeFileAtomic',
  'DurableAppender',
  'appendDurable',
  'acquireLock',
  'LockHeldError',
  'RowStream',
  'ReplayLog',
  'jsonRow',
  'cellNumber',
  'checkRunSettings',
  'ResumeMismatchError',
  'CheckpointError',
  'defineUniforms',
];
const MOBILENET = ['IMAGENET_LAYOUT', 'CIFAR_LAYOUT', 'tableCost', 'maddsCost', 'measuredCost', 'expectedCost', 'cellNativeOps'];

describe('package root (docs/api.md)', () => {
  it('exports the documented names', () => {
    const root = wgnas as Record<string, unknown>;
    expect(ROOT.filter((n) => root[n] === undefined)).toEqual([]);
    const mn = wgnas.mobilenet as Record<string, unknown>;
    expect(MOBILENET.filter((n) => mn[n] === undefined)).toEqual([]);
    // The same ResumeMismatchError class whichever way it is reached.
    expect(wgnas.ResumeMismatchError).toBe(wgnas.proxyless.ResumeMismatchError);
  });
});

/** The ```ts blocks of docs/DOC, their 'wgnas' and './src/' imports pointing at this checkout's sources. */
function snippets(doc: string): string[] {
  const text = readFileSync(join(REPO, 'docs', doc), 'utf8');
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) =>
    m[1].replaceAll("from 'wgnas'", `from '${REPO}/src/index.js'`).replaceAll("'./src/", `'${REPO}/src/`),
  );
}

describe('code examples of docs/api.md and docs/data.md', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgnas-doc-snippets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const files = ['api.md', 'data.md'].flatMap((doc) =>
    snippets(doc).map((code, i) => {
      const f = join(dir, `${doc.replace('.md', '')}-${i}.mts`);
      writeFileSync(f, code);
      return f;
    }),
  );

  /** Runs a docs example with tsx; it must exit 0. */
  const runExample = (file: string) => {
    const r = spawnSync(process.execPath, [join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'), file], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 230_000,
    });
    expect(r.status, r.stderr).toBe(0);
    return r;
  };

  it('type-check against the sources', { timeout: 240_000 }, () => {
    expect(files.length).toBe(3);
    const modules = join(REPO, 'node_modules');
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(REPO, 'tsconfig.json'),
        compilerOptions: { noEmit: true, rootDir: '/', typeRoots: [join(modules, '@types'), modules] },
        files,
        include: [],
      }),
    );
    try {
      execFileSync(process.execPath, [join(modules, 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      expect.fail(`a docs example does not compile:\n${(e as { stdout: string }).stdout}`);
    }
  });

  it(
    "api.md's example runs: a [4, 64, 64] correlation, then the best cell of a 20-proposal search and its WRCor",
    { timeout: 240_000 },
    () => {
      const r = runExample(files[0]);
      expect(r.stdout).toContain('Float32Array(16384)');
      const [arch, score] = r.stdout.trim().split('\n').at(-1)!.split(' ');
      expect(() => parseArch(arch)).not.toThrow();
      // WRCor of an NB201 cell on a batch of 64: a log-determinant in the hundreds (docs/results.md).
      expect(Number(score)).toBeGreaterThan(100);
    },
  );

  it(
    "api.md's registration example runs: its proxy scores a cell, its aggregator ranks rows and steers a search",
    { timeout: 240_000 },
    () => {
      const r = runExample(files[1]);
      const [share, votes, last] = r.stdout.trim().split('\n').slice(-3);
      // A share of gradient entries, strictly inside (0, 1) for a network that learns something.
      expect(Number(share)).toBeGreaterThan(0);
      expect(Number(share)).toBeLessThan(1);
      // Mean normalised ranks of 4 cells over 2 members: each in [0, 1], and they sum to 2 (ties average).
      const v = votes.split(' ').map(Number);
      expect(v).toHaveLength(4);
      for (const x of v) expect(x >= 0 && x <= 1, votes).toBe(true);
      expect(v.reduce((a, b) => a + b, 0)).toBeCloseTo(2, 9);
      const [arch, score] = last.split(' ');
      expect(() => parseArch(arch)).not.toThrow();
      expect(Number(score) >= 0 && Number(score) <= 1, last).toBe(true);
    },
  );
});
