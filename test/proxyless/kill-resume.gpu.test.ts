/**
 * Fault injection on `wgnas proxyless` (real child processes on the GPU, tiny shapes): one run is
 * SIGKILLed again and again (inside each step of the checkpoint write, and once after a random
 * delay), resumed each time, and must end bit-identical to an uninterrupted run: same derived
 * architecture JSON, same α, Adam state and weights. After every kill the checkpoint on disk is whole
 * (its manifest verifies); at the end nothing half-written is left. A resume with changed
 * settings, a fresh run over a checkpoint and a second run on a locked directory are refused
 * before the GPU starts. The uninterrupted runs and the refusals run in this process (the kills
 * need children): a child's start-up is most of a run at these shapes.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Several CLI children per test; lavapipe on a shared 2-core machine can be slow.
const SLOW = { timeout: 900_000 };
import { handDesignedSpace, writeSpaceFile } from '../../src/mobilenet/space-file.js';
import { hasCheckpoint, readCheckpoint } from '../../src/nn/checkpoint.js';
import { wgnasChild } from '../helpers/child.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { CHECKPOINTED_PROXYLESS, TINY6 } from '../helpers/flags.js';
import { testGpu } from '../helpers/gpu.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-rel-proxyless-'));
const SPACE = join(tmp, 'tiny6.json');
writeSpaceFile(SPACE, handDesignedSpace(TINY6));
const FLAGS: Record<string, string> = { '--space-file': SPACE, ...CHECKPOINTED_PROXYLESS };
/** `wgnas proxyless` with the test's flags, some replaced. */
const args = (over: Record<string, string> = {}) => ['proxyless', ...Object.entries({ ...FLAGS, ...over }).flat()];
const ARGS = args();

/** What must be bit-identical between two finished runs (the net.config less its provenance: each run's date and command line). */
function finalState(dir: string, out: string) {
  const ck = readCheckpoint(dir);
  const { seconds: _s, ...counters } = ck.meta.counters as Record<string, unknown>;
  const net = JSON.parse(readFileSync(out, 'utf8'));
  delete net.wgnas.provenance;
  return { net, alpha: ck.meta.alpha, adam: ck.meta.adam, counters, files: ck.meta.files };
}

function tempLeftovers(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((n) => n.endsWith('.tmp') || n === 'lock');
}

describe('proxyless survives kills', () => {
  it(
    'killed inside every step of the checkpoint write and at a random moment, it resumes to the uninterrupted result',
    SLOW,
    async () => {
      if (!(await testGpu())) return;
      // The uninterrupted reference runs in this process (no child start-up to pay).
      const refDir = join(tmp, 'ref');
      const refOut = join(tmp, 'ref.json');
      const ref = await wgnasInProcess([...ARGS, '--checkpoint', refDir, '--out', refOut]);
      expect(ref.code, ref.err).toBe(0);
      const want = finalState(refDir, refOut);

      const dir = join(tmp, 'run');
      const out = join(tmp, 'run.json');
      // checkpoint.file passes 3 times per save (weights, momentum, state); the others once.
      const plan = [
        'checkpoint.file:2',
        'checkpoint.dir-renamed:2',
        'checkpoint.current.tmp-written:1',
        'checkpoint.current.renamed:2',
        'checkpoint.switched:1',
        `random`,
      ];
      const log: string[] = [];
      for (const point of plan) {
        const resume = hasCheckpoint(dir) ? ['--resume'] : [];
        // A random moment between start-up and the end of a short segment.
        const killAfterMs = point === 'random' ? 1500 + Math.floor(Math.random() * 2500) : undefined;
        const r = await wgnasChild(
          [...ARGS, '--checkpoint', dir, '--out', out, ...resume],
          point === 'random' ? { killAfterMs } : { killAt: point },
        );
        log.push(`${point}${killAfterMs ? ` (${killAfterMs} ms)` : ''}: ${r.signal ?? `exit ${r.code}`}`);
        if (point !== 'random') expect(r.signal, `${point}: ${r.stderr}`).toBe('SIGKILL');
        else expect(r.signal === 'SIGKILL' || r.code === 0, r.stderr).toBe(true);
        // Whatever the moment, the checkpoint on disk is whole and the output is absent or complete.
        if (hasCheckpoint(dir)) expect(() => readCheckpoint(dir), point).not.toThrow();
        if (existsSync(out)) expect(() => JSON.parse(readFileSync(out, 'utf8')), point).not.toThrow();
      }
      // The last resume runs here too: what is compared is on disk.
      const last = await wgnasInProcess([
        ...ARGS,
        '--checkpoint',
        dir,
        '--out',
        out,
        ...(hasCheckpoint(dir) ? ['--resume'] : []),
      ]);
      expect(last.code, `${log.join('; ')}\n${last.err}`).toBe(0);
      expect(finalState(dir, out), log.join('; ')).toEqual(want);
      expect(tempLeftovers(dir)).toEqual([]);
      // One ckpt-N, current, and the run's provenance.
      expect(readdirSync(dir).sort()).toEqual([expect.stringMatching(/^ckpt-\d+$/), 'current', 'provenance.json']);
      expect(tempLeftovers(tmp)).toEqual([]);
    },
  );

  it(
    'a changed --seed or --lambda on --resume, and a fresh run over a checkpoint, are refused in one line before the GPU starts',
    SLOW,
    async () => {
      if (!(await testGpu())) return;
      const dir = join(tmp, 'run');
      const before = readFileSync(join(dir, 'current'), 'utf8');
      for (const [flag, value, was] of [
        ['--seed', '2', '1'],
        ['--lambda', '5', '2'],
      ]) {
        const r = await wgnasInProcess([...args({ [flag]: value }), '--checkpoint', dir, '--resume']);
        expect(r.code).toBe(2);
        expect(r.err.split('\n').filter(Boolean)).toEqual([
          expect.stringMatching(new RegExp(`^wgnas proxyless: --resume: ${flag} was ${was}, now ${value}; `)),
        ]);
      }
      const fresh = await wgnasInProcess([...ARGS, '--checkpoint', dir]);
      expect(fresh.code).toBe(2);
      expect(fresh.err).toMatch(
        /^wgnas proxyless: --checkpoint .*run holds a checkpoint: pass --resume to continue it or --force to start over/,
      );
      expect(readFileSync(join(dir, 'current'), 'utf8')).toBe(before);
      expect(tempLeftovers(dir)).toEqual([]);
    },
  );

  it('two runs on one --checkpoint directory: the second refuses at once, naming the first', SLOW, async () => {
    if (!(await testGpu())) return;
    const dir = join(tmp, 'run');
    let pid = 0;
    const first = wgnasChild([...args({ '--steps': '400' }), '--checkpoint', dir, '--resume'], {
      onStart: (c) => (pid = c.pid!),
    });
    for (let i = 0; i < 600 && !existsSync(join(dir, 'lock')); i++) await new Promise((res) => setTimeout(res, 50));
    const second = await wgnasInProcess([...args({ '--steps': '400' }), '--checkpoint', dir, '--resume']);
    process.kill(pid, 'SIGKILL');
    expect((await first).signal).toBe('SIGKILL');
    expect(second.code).toBe(1);
    expect(second.err).toMatch(new RegExp(`^wgnas proxyless: checkpoint directory .*run is in use by process ${pid} since `));
    // --force starts over: the stale lock is taken over and the old checkpoint discarded.
    const forced = await wgnasInProcess([...args({ '--steps': '1', '--warmup': '0' }), '--checkpoint', dir, '--force']);
    expect(forced.code, forced.err).toBe(0);
    expect(readCheckpoint(dir).meta.counters).toMatchObject({ warmup: 0, search: 1 });
    expect(tempLeftovers(dir)).toEqual([]);
  });
});
