/**
 * Fault injection on `wgnas evolve-space --checkpoint` (real child processes on the CPU backend,
 * tiny settings): one run is killed again and again (before a save, inside each step of the
 * checkpoint write, by Ctrl-C, and once after a random delay), resumed each time, and must end
 * bit-identical to an uninterrupted run: the same space and history bytes (less their timings), the
 * same populations, generator position and weights. After every kill the checkpoint on disk is
 * whole; at the end nothing half-written is left. A resume with a changed flag, a fresh run over a
 * checkpoint and a hand-edited state are refused in one line (a checkpoint from before --bn-eps and
 * --bn-momentum were recorded ran at 1e-5 and 0.1). The uninterrupted run and the refusals run in
 * this process (the kills need children).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasCheckpoint, readCheckpoint, readCheckpointState } from '../../src/nn/checkpoint.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasChild } from '../helpers/child.js';
import { wgnasInProcess } from '../helpers/cli.js';

// Several CLI children per test on a shared 2-core machine.
const SLOW = { timeout: 900_000 };
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-rel-evolve-'));

/** 3 warm-up steps (a save after each), 4 iterations with replacements: 7 saves. */
const FLAGS: Record<string, string> = {
  '--budget-madds': '4M',
  '--population': '3',
  '--k': '2',
  '--iterations': '4',
  '--steps': '1',
  '--warmup': '3',
  '--replace-every': '1',
  '--min-evals': '1',
  '--batch': '4',
  '--train': '32',
  '--val': '16',
  '--device': 'cpu',
  '--cpu-threads': '1',
  '--checkpoint-every': '1',
};
const args = (over: Record<string, string> = {}) => ['evolve-space', ...Object.entries({ ...FLAGS, ...over }).flat()];
const ARGS = args();
const outputs = (name: string) => ['--out', join(tmp, `${name}.json`), '--history', join(tmp, `${name}-history.json`)];

/**
 * What must be bit-identical between two finished runs: the files less their timings and provenance
 * (each run's date and command line), and the final checkpoint.
 */
function finalState(dir: string, name: string) {
  const { createdAt: _c, ...space } = JSON.parse(readFileSync(join(tmp, `${name}.json`), 'utf8'));
  delete space.meta.provenance;
  const { provenance: _p, ...history } = JSON.parse(readFileSync(join(tmp, `${name}-history.json`), 'utf8'));
  for (const e of history.history) delete e.msPerStep;
  const ck = readCheckpoint(dir);
  const { seconds: _s, ...counters } = ck.meta.counters as Record<string, unknown>;
  const { meta } = ck;
  return { space, history, counters, rng: meta.rng, populations: meta.populations, files: meta.files };
}

const leftovers = (dir: string) =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((n) => n.endsWith('.tmp') || n === 'lock');
const current = (dir: string) => (existsSync(join(dir, 'current')) ? readFileSync(join(dir, 'current'), 'utf8') : '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('evolve-space survives kills', () => {
  it(
    'killed before a save, inside every step of the checkpoint write, by Ctrl-C and at a random moment, it resumes to the uninterrupted result',
    SLOW,
    async ({ skip }) => {
      if (cpuTestBackend() === null) return skip();
      const refDir = join(tmp, 'ref');
      const ref = await wgnasInProcess([...ARGS, '--checkpoint', refDir, ...outputs('ref')]);
      expect(ref.code, ref.err).toBe(0);
      const want = finalState(refDir, 'ref');
      expect((want.counters as { iteration: number }).iteration).toBe(4);
      // The evolution replaced cells (new members, new parameter names) before its end.
      expect(want.history.history.some((e: { replaced: number }) => e.replaced > 0)).toBe(true);

      const dir = join(tmp, 'run');
      const run = [...ARGS, '--checkpoint', dir, ...outputs('run')];
      // checkpoint.file passes 3 times per save (weights, momentum, state); the others once per save.
      const plan = [
        'evolve.save:2',
        'checkpoint.file:2',
        'checkpoint.dir-renamed:1',
        'checkpoint.current.tmp-written:1',
        'checkpoint.current.renamed:1',
        'checkpoint.switched:1',
        'SIGINT',
        'random',
      ];
      const log: string[] = [];
      for (const point of plan) {
        const resume = hasCheckpoint(dir) ? ['--resume'] : [];
        const before = current(dir);
        // A random moment of the evolution itself (the child's start-up is most of its time here).
        const killAfterMs = point === 'random' ? Math.floor(Math.random() * 1500) : undefined;
        const r = await wgnasChild(
          [...run, ...resume],
          point === 'SIGINT'
            ? {
                // Ctrl-C once this run has switched in a checkpoint of its own.
                onStart: (c) =>
                  void (async () => {
                    while (c.exitCode === null && current(dir) === before) await sleep(10);
                    c.kill('SIGINT');
                  })(),
              }
            : point === 'random'
              ? {
                  onStart: (c) => {
                    let armed = false;
                    c.stderr!.on('data', (d) => {
                      if (armed || !/resumed from|evolve-space: cifar/.test(String(d))) return;
                      armed = true;
                      setTimeout(() => c.kill('SIGKILL'), killAfterMs);
                    });
                  },
                }
              : { killAt: point },
        );
        log.push(`${point}${killAfterMs !== undefined ? ` (${killAfterMs} ms)` : ''}: ${r.signal ?? `exit ${r.code}`}`);
        if (point === 'SIGINT') {
          expect(r.signal, r.stderr).toBe('SIGINT'); // killed by it again once stopped, as shells expect
          expect(r.stderr.trim().split('\n').at(-1)).toBe(
            `wgnas evolve-space: stopped by SIGINT; --checkpoint ${dir} keeps the work done: repeat the command with --resume to continue`,
          );
          expect(r.stderr).not.toMatch(/\n\s+at /);
        } else if (point === 'random') expect(r.signal === 'SIGKILL' || r.code === 0, r.stderr).toBe(true);
        else expect(r.signal, `${point}: ${r.stderr}`).toBe('SIGKILL');
        if (resume.length && point !== 'random') expect(r.stderr).toMatch(/resumed from .*: warm-up \d\/3, iteration \d\/4/);
        // Whatever the moment, the checkpoint on disk is whole.
        if (hasCheckpoint(dir)) expect(() => readCheckpoint(dir), point).not.toThrow();
      }
      const last = await wgnasInProcess([...run, ...(hasCheckpoint(dir) ? ['--resume'] : [])]);
      expect(last.code, `${log.join('; ')}\n${last.err}`).toBe(0);
      expect(finalState(dir, 'run'), log.join('; ')).toEqual(want);
      expect(leftovers(dir)).toEqual([]);
      // One ckpt-N, current, and the run's provenance.
      expect(readdirSync(dir).sort()).toEqual([expect.stringMatching(/^ckpt-\d+$/), 'current', 'provenance.json']);
    },
  );

  it(
    'a changed flag on --resume, a fresh run over a checkpoint and a hand-edited state are refused in one line',
    SLOW,
    async ({ skip }) => {
      if (cpuTestBackend() === null) return skip();
      const dir = join(tmp, 'refusals');
      // Stopped after the warm-up and one iteration (its 4th save), as an interrupted run would be.
      const part = await wgnasInProcess([...args({ '--iterations': '1' }), '--checkpoint', dir]);
      expect(part.code, part.err).toBe(0);
      const before = current(dir);
      for (const [flag, value, was] of [
        ['--seed', '2', '1'],
        ['--k', '3', '2'],
        ['--iterations', '4', '1'],
        ['--cpu-threads', '2', '1'],
        ['--bn-eps', '0.001', '0.00001'],
        ['--bn-momentum', '0.2', '0.1'],
        // Another split changes the images' fingerprint too: the flag is named, not the fingerprint.
        ['--train', '40', '32'],
        ['--val', '8', '16'],
      ]) {
        const r = await wgnasInProcess([...args({ '--iterations': '1', [flag]: value }), '--checkpoint', dir, '--resume']);
        expect(r.code, r.err).toBe(2);
        expect(r.err.split('\n').filter(Boolean)).toEqual([
          expect.stringMatching(new RegExp(`^wgnas evolve-space: --resume: ${flag} was ${was}, now ${value}; `)),
        ]);
      }
      const fresh = await wgnasInProcess([...args({ '--iterations': '1' }), '--checkpoint', dir]);
      expect(fresh.code).toBe(2);
      expect(fresh.err.trim()).toBe(
        `wgnas evolve-space: --checkpoint ${dir} holds a checkpoint: pass --resume to continue it or --force to start over (it is discarded)`,
      );
      const none = await wgnasInProcess([...ARGS, '--checkpoint', join(tmp, 'empty'), '--resume']);
      expect(none.code).toBe(2);
      expect(none.err.trim()).toBe(`wgnas evolve-space: --resume: no checkpoint in ${join(tmp, 'empty')}`);
      const queued = await wgnasInProcess([...ARGS, '--checkpoint', dir, '--redis', 'redis://localhost:1']);
      expect(queued.code).toBe(2);
      expect(queued.err).toMatch(/--redis runs each seed on a worker, which keeps no checkpoint: drop --checkpoint/);
      expect(current(dir)).toBe(before);

      {
        // A checkpoint from before --bn-eps/--bn-momentum evolved at 1e-5 and 0.1: another value is refused.
        const state = join(readCheckpointState(dir).path, 'state.json');
        const meta = JSON.parse(readFileSync(state, 'utf8'));
        delete meta.settings['--bn-eps'];
        delete meta.settings['--bn-momentum'];
        writeFileSync(state, JSON.stringify(meta));
        const other = await wgnasInProcess([
          ...args({ '--iterations': '1', '--bn-eps': '1e-3' }),
          '--checkpoint',
          dir,
          '--resume',
        ]);
        expect(other.code).toBe(2);
        expect(other.err.trim()).toMatch(/^wgnas evolve-space: --resume: --bn-eps was 0\.00001, now 0\.001; /);
        const same = await wgnasInProcess([...args({ '--iterations': '1' }), '--checkpoint', dir, '--resume']);
        expect(same.code, same.err).toBe(0);
      }

      // A hand-edited state: one line naming the file, nothing resumed.
      const state = join(readCheckpointState(dir).path, 'state.json');
      const meta = JSON.parse(readFileSync(state, 'utf8'));
      meta.populations.members[0][0].id = meta.populations.nextId;
      writeFileSync(state, JSON.stringify(meta));
      const recorded = readFileSync(join(dir, 'provenance.json'));
      const edited = await wgnasInProcess([...args({ '--iterations': '1' }), '--checkpoint', dir, '--resume']);
      expect(edited.code).not.toBe(0);
      expect(edited.err.trim()).toMatch(
        new RegExp(`^wgnas evolve-space: .*state\\.json: layer 0: a member must be .* \\(corrupt or hand-edited checkpoint\\)$`),
      );
      // The refused resume left the recorded history as it was (no run of its own added).
      expect(readFileSync(join(dir, 'provenance.json')).equals(recorded)).toBe(true);
      // --force starts over: the checkpoint is discarded and a whole run written.
      const forced = await wgnasInProcess([...args({ '--iterations': '1' }), '--checkpoint', dir, '--force']);
      expect(forced.code, forced.err).toBe(0);
      expect(forced.err).toMatch(/--force: discarded the checkpoint in /);
      expect(readCheckpointState(dir).meta.counters).toMatchObject({ iteration: 1, warmup: 3 });
      expect(leftovers(dir)).toEqual([]);
    },
  );
});
