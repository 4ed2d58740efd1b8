/**
 * WGNAS_CPU_THREADS: --cpu-threads's value where the flag is not given (the flag wins; empty counts as
 * unset), on every command that takes the flag; a bad value is one line naming the variable; it is
 * not counted as given, so --device gpu with it set is no misuse of --cpu-threads. On the CPU a
 * run computes with that many threads and its --out records them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CPU_THREADS_ENV } from '../../src/cli/environment.js';
import { parseCommand } from '../../src/cli/parse.js';
import type { CommandSpec } from '../../src/cli/spec.js';
import { WORKER } from '../../src/cli/specs/queue.js';
import { SCORE } from '../../src/cli/specs/score.js';
import { SEARCH } from '../../src/cli/specs/search.js';
import { TRAIN } from '../../src/cli/specs/train.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { refusalProblems, wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-cpu-threads-env-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => void delete process.env[CPU_THREADS_ENV]);

function parsed(spec: CommandSpec, argv: string[], env: Record<string, string>) {
  const p = parseCommand(spec, argv, { env });
  if (p.kind !== 'run') throw new Error(`expected a run, got ${p.kind}`);
  return p;
}

describe('WGNAS_CPU_THREADS', () => {
  it('gives --cpu-threads where the flag is not given, on every command that takes it; the flag wins', () => {
    const env = { [CPU_THREADS_ENV]: '3' };
    for (const [spec, argv] of [
      [SCORE, []],
      [SEARCH, []],
      [TRAIN, ['--out', join(tmp, 'train-out')]],
      [WORKER, ['--redis', 'redis://127.0.0.1:6379']],
    ] as const) {
      const p = parsed(spec, [...argv], env);
      expect(p.values['cpu-threads'], spec.name).toBe(3);
      expect(p.given.has('cpu-threads')).toBe(false);
    }
    expect(parsed(SCORE, ['--cpu-threads', '2'], env).values['cpu-threads']).toBe(2);
    expect(parsed(SCORE, [], { [CPU_THREADS_ENV]: '' }).values['cpu-threads']).toBeUndefined();
    expect(parsed(SCORE, [], {}).values['cpu-threads']).toBeUndefined();
    // Not a flag given: the GPU run is no misuse of --cpu-threads (which applies to the CPU only).
    expect(parsed(SCORE, ['--device', 'gpu'], env).values.device).toBe('gpu');
    expect(() => parseCommand(SCORE, ['--device', 'gpu', '--cpu-threads', '2'])).toThrow(/--cpu-threads applies only/);
  });

  it('a bad value is one line naming the variable and the flag it stands for', () => {
    for (const [v, why] of [
      ['x', "must be an integer from 1 to 1024, got 'x'"],
      ['0', "must be an integer >= 1, got '0'"],
      ['1.5', "must be an integer from 1 to 1024, got '1.5'"],
      ['2000', "must be at most 1024, got '2000'"],
    ]) {
      expect(() => parseCommand(SCORE, [], { env: { [CPU_THREADS_ENV]: v } })).toThrow(
        `${CPU_THREADS_ENV} ${why} (it stands for --cpu-threads)`,
      );
    }
  });

  it('a CPU run computes with that many threads and records them; a bad value refuses before any work', async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const out = join(tmp, 'one.csv');
    process.env[CPU_THREADS_ENV] = '1';
    const A = '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';
    const argv = ['score', '--device', 'cpu', '--batch', '8', '--cells-per-stage', '1', '--arch', A, '--out', out];
    const r = await wgnasInProcess(argv);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('on native CPU (1 thread)');
    expect(JSON.parse(readFileSync(`${out}.settings.json`, 'utf8')).settings['--cpu-threads']).toBe(1);
    // A resume under another count: the refusal says the variable gave this run's, not a flag.
    process.env[CPU_THREADS_ENV] = '2';
    const other = await wgnasInProcess([...argv, '--resume']);
    expect(other.code).toBe(2);
    expect(other.err).toBe(
      `wgnas score: --resume: --cpu-threads was 1, now 2 (from $${CPU_THREADS_ENV}) in ${out}; resume with its settings or write another --out\n`,
    );
    // Given as the flag, the line is as before.
    delete process.env[CPU_THREADS_ENV];
    const flag = await wgnasInProcess([...argv, '--cpu-threads', '2', '--resume']);
    expect(flag.err).toMatch(/--cpu-threads was 1, now 2 in /);
    expect(flag.err).not.toMatch(/from \$/);
    process.env[CPU_THREADS_ENV] = 'many';
    const bad = await wgnasInProcess([...argv.slice(0, -1), join(tmp, 'bad.csv')]);
    expect(refusalProblems(bad, 2, /^wgnas score: WGNAS_CPU_THREADS must be an integer from 1 to 1024, got 'many'/)).toEqual([]);
  });
});
