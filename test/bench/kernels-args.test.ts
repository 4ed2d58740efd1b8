/** `npm run bench`'s arguments: the default kernels unless the line names one, decided by the CLI's own parser. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelsBenchArgs } from '../../bench/kernels-args.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-kargs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm run bench arguments', () => {
  it("an option's value is never a kernel: no kernel named, the defaults", () => {
    const before = join(tmp, 'before.json');
    writeFileSync(before, '{}');
    for (const args of [
      [],
      ['--device', 'cpu'],
      ['--device', 'cpu', '--cpu-threads', '3'],
      ['--only', '64x64x64', '--shapes', 'tiny'],
      ['--compare', before],
      ['--max-seconds', '5', '--native-threads', '2', '--baselines', 'cpu,onednn'],
      ['--json=' + join(tmp, 'out.json')],
    ])
      expect(kernelsBenchArgs(args), args.join(' ')).toEqual(['matmul', 'correlation', '--side-by-side', ...args]);
  });

  it('a named kernel replaces the defaults, wherever it stands; --side-by-side is not given twice', () => {
    expect(kernelsBenchArgs(['--device', 'cpu', 'conv2d'])).toEqual(['--side-by-side', '--device', 'cpu', 'conv2d']);
    expect(kernelsBenchArgs(['fitness-mix', '--repeats', '3'])).toEqual(['--side-by-side', 'fitness-mix', '--repeats', '3']);
    expect(kernelsBenchArgs(['--side-by-side'])).toEqual(['matmul', 'correlation', '--side-by-side']);
  });

  it('a line bench refuses, or --help, passes on as it is (bench names the problem)', () => {
    for (const args of [['--help'], ['--device', 'tpu'], ['nokernel'], ['--compare', join(tmp, 'missing.json')]])
      expect(kernelsBenchArgs(args)).toEqual(args);
  });
});
