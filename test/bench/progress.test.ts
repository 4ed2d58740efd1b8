/**
 * One progress bar everywhere: every long-running command draws src/util/progress.ts's bar (count,
 * rate, ETA on a terminal; quiet in pipes), none draws its own; bench reports each finished case.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openBackend } from '../../src/backend/index.js';
import { runBench } from '../../src/bench/harness.js';
import { defaultRegistry } from '../../src/bench/kernels/index.js';
import { nativeOrNull } from '../helpers/native.js';

const SRC = join(import.meta.dirname, '..', '..', 'src');

describe('progress', () => {
  it('the long commands use the one Progress bar; no other module draws on the terminal', () => {
    const commands = join(SRC, 'cli', 'commands');
    for (const c of ['search', 'score', 'correlate', 'proxyless', 'evolve-space', 'bench', 'profile', 'data']) {
      expect(readFileSync(join(commands, `${c}.ts`), 'utf8'), c).toMatch(
        /import \{ (?:LOG_LINES, )?Progress \} from '\.\.\/\.\.\/util\/progress\.js'/,
      );
    }
    const drawing: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (
          p.endsWith('.ts') &&
          !p.endsWith(join('util', 'progress.ts')) &&
          /\\r\\x1b|\\x1b\[2K|\.isTTY\b/.test(readFileSync(p, 'utf8').replace(/isTTY: process\.stderr\.isTTY/g, ''))
        )
          drawing.push(p);
      }
    };
    walk(SRC);
    expect(drawing).toEqual([]);
  });

  it('runBench tells each finished case, up to the total, for the bar and its ETA', { timeout: 120_000 }, async () => {
    if (!nativeOrNull()) return;
    const backend = await openBackend('cpu', { threads: 1 });
    try {
      const k = defaultRegistry().get('matmul');
      const total = k.shapes.tiny.length;
      const calls: Array<[number, number]> = [];
      await runBench(backend, {
        kernels: [k],
        shapes: 'tiny',
        warmup: 0,
        repeats: 1,
        baselines: [],
        peak: { flopsPerS: 1e9, bytesPerS: 1e9, source: 'table', name: 'test' },
        onCase: (done, n) => calls.push([done, n]),
      });
      expect(calls).toEqual(Array.from({ length: total }, (_, i) => [i + 1, total]));
    } finally {
      backend.dispose();
    }
  });
});
