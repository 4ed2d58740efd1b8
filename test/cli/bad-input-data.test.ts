/**
 * Bad data, for every command that reads images (--dataset): one line on stderr naming the file or
 * folder (or the `wgnas data fetch` command to run), no stack, exit 2 for a wrong --dataset value and
 * 1 for bad content, before any work (the GPU and the native addon are mocked to fail loudly, as in
 * cli-bad-input.test.ts). The datasets are written by the test.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { clearCifarCache } from '../../src/data/cifar-dataset.js';
import { ARCH, refusalProblems, TABLE, wgnasInProcess } from '../helpers/cli.js';
import { cifarBytes, writeImageFolder } from '../helpers/datasets.js';

vi.mock('../../src/gpu/index.js', async (orig) =>
  (await import('../helpers/refusing-mocks.js')).refusingGpu(await orig<typeof import('../../src/gpu/index.js')>()),
);
vi.mock('../../src/native/binding.js', async (orig) =>
  (await import('../helpers/refusing-mocks.js')).refusingNative(await orig<typeof import('../../src/native/binding.js')>()),
);

const root = mkdtempSync(join(tmpdir(), 'wgnas-bad-data-'));
const outDir = join(root, 'out');
const OUT = join(outDir, 'scores.csv');
const F = {
  noClasses: join(root, 'no-classes'),
  emptyClass: join(root, 'empty-class'),
  wrongFormat: join(root, 'wrong-format'),
  fakeJpeg: join(root, 'fake-jpeg'),
  corrupt: join(root, 'corrupt'),
  tiny: join(root, 'tiny'),
  aFile: join(root, 'a-file.txt'),
  /** Data roots holding a truncated CIFAR-10 file, and a CIFAR-10 file where CIFAR-100's belongs. */
  truncRoot: join(root, 'trunc-root'),
  mixedRoot: join(root, 'mixed-root'),
  emptyRoot: join(root, 'empty-root'),
};

interface Case {
  argv: string[];
  code: 1 | 2;
  match: RegExp;
  env?: Record<string, string>;
}
const c = (code: 1 | 2, match: RegExp, argv: string[], env?: Record<string, string>): Case => ({ code, match, argv, env });
const T = ['--latency-table', TABLE, '--target-ms', '40'];
const fetchEnv = (dir: string) => ({ WGNAS_DATA_DIR: dir, WGNAS_CACHE_DIR: join(root, 'cache') });

/** The data cases every image-reading command gets, after its own `base` arguments. */
function dataCases(cmd: string, base: string[]): Case[] {
  const d = (v: string) => [cmd, ...base, '--dataset', v];
  return [
    c(2, /--dataset:? must be cifar10, cifar100 or folder:PATH, got 'imagenet'/, d('imagenet')),
    c(2, /--dataset: folder: needs a path/, d('folder:')),
    c(2, /--dataset: folder .*nowhere does not exist/, d(`folder:${join(root, 'nowhere')}`)),
    c(2, /--dataset: .*a-file\.txt is a file, not a folder/, d(`folder:${F.aFile}`)),
    c(1, /no-classes: no class sub-folders/, d(`folder:${F.noClasses}`)),
    c(1, /empty-class\/b: class folder b has no JPEG\/PNG images/, d(`folder:${F.emptyClass}`)),
    c(1, /wrong-format\/a\/notes\.txt: not a JPEG or PNG image/, d(`folder:${F.wrongFormat}`)),
    c(1, /fake-jpeg\/a\/x\.jpg: not a JPEG or PNG file/, d(`folder:${F.fakeJpeg}`)),
    c(1, /corrupt\/class0\/img1\.jpg: cannot decode the image/, d(`folder:${F.corrupt}`)),
    c(
      1,
      /trunc-root\/cifar10\/data_batch_1\.bin: size 6046 bytes is not a positive multiple of 3073 .*truncated/,
      d('cifar10'),
      fetchEnv(F.truncRoot),
    ),
    c(1, /mixed-root\/cifar100\/train\.bin: .*not a positive multiple of 3074 \(2 label/, d('cifar100'), fetchEnv(F.mixedRoot)),
    c(1, /dataset cifar100 not found .*get it with: wgnas data fetch cifar100/, d('cifar100'), fetchEnv(F.emptyRoot)),
  ];
}

const CASES: Record<string, Case[]> = {
  score: [
    ...dataCases('score', ['--arch', ARCH]),
    c(2, /--batch 64 is more than the 4 training images of folder:.*tiny/, [
      'score',
      '--arch',
      ARCH,
      '--dataset',
      `folder:${F.tiny}`,
    ]),
  ],
  correlate: dataCases('correlate', ['--sample', '5']),
  search: dataCases('search', ['--budget', '5']),
  'search --space-file': dataCases('search', ['--space-file', join(root, 'space.json')]),
  proxyless: dataCases('proxyless', T),
  'evolve-space': dataCases('evolve-space', ['--budget-madds', '3M']),
};

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  mkdirSync(join(F.noClasses), { recursive: true });
  writeFileSync(join(F.noClasses, 'loose.png'), '');
  await writeImageFolder(F.emptyClass, [1], { format: 'png' });
  mkdirSync(join(F.emptyClass, 'b'));
  mkdirSync(join(F.wrongFormat, 'a'), { recursive: true });
  writeFileSync(join(F.wrongFormat, 'a', 'notes.txt'), 'hello');
  mkdirSync(join(F.fakeJpeg, 'a'), { recursive: true });
  writeFileSync(join(F.fakeJpeg, 'a', 'x.jpg'), 'GIF89a, not a JPEG');
  await writeImageFolder(F.corrupt, [2, 2], { format: 'jpeg' });
  const jpg = join(F.corrupt, 'class0', 'img1.jpg');
  const bytes = readFileSync(jpg);
  writeFileSync(jpg, bytes.subarray(0, bytes.length >> 1));
  await writeImageFolder(F.tiny, [2, 2], { format: 'png' });
  writeFileSync(F.aFile, 'x');
  mkdirSync(join(F.truncRoot, 'cifar10'), { recursive: true });
  for (let i = 1; i <= 5; i++)
    writeFileSync(
      join(F.truncRoot, 'cifar10', `data_batch_${i}.bin`),
      cifarBytes([1, 2]).subarray(0, i === 1 ? 6046 : undefined),
    );
  mkdirSync(join(F.mixedRoot, 'cifar100'), { recursive: true });
  writeFileSync(join(F.mixedRoot, 'cifar100', 'train.bin'), cifarBytes([1, 2, 3]));
  mkdirSync(F.emptyRoot, { recursive: true });
  // A space file for search --space-file: the hand-designed one.
  const r = await wgnasInProcess(['evolve-space', '--hand-designed', '--out', join(root, 'space.json')]);
  expect(r.code, r.err).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('bad data', () => {
  for (const [name, cases] of Object.entries(CASES)) {
    it(`${name}: ${cases.length} cases refused in one line naming the file, before any work`, async () => {
      const failures: string[] = [];
      for (const k of cases) {
        const saved = { ...process.env };
        Object.assign(process.env, k.env ?? {});
        clearCifarCache();
        let r;
        try {
          r = await wgnasInProcess([...k.argv, ...(k.argv[0] === 'score' ? ['--out', OUT] : [])]);
        } finally {
          process.env = saved;
          clearCifarCache();
        }
        const problems = [
          ...refusalProblems(r, k.code, k.match),
          existsSync(OUT) && readFileSync(OUT, 'utf8').split('\n').filter(Boolean).length > 1 && 'wrote rows',
        ].filter(Boolean);
        if (problems.length)
          failures.push(`wgnas ${k.argv.join(' ')}\n    -> ${problems.join('; ')}\n    stderr: ${r.err.trim()}`);
        for (const f of readdirSync(outDir)) rmSync(join(outDir, f), { recursive: true });
      }
      expect(failures, failures.join('\n')).toEqual([]);
    });
  }
});
