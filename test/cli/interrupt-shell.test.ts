/**
 * Ctrl-C in a shell script: wgnas, once stopped (its line said), dies by the signal, so bash stops
 * the script as it does for any command Ctrl-C kills (an exit 130 told bash the command handled it,
 * and the script went on to its next command). A SIGINT to wgnas alone still gives status 130.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpuTestBackend } from '../helpers/backend.js';
import { BIN } from '../helpers/paths.js';

// Each case runs its 1 s budget: several seconds of work, stopped once the first case has begun.
const BENCH =
  '"$NODE" "$BIN" bench matmul correlation --device cpu --cpu-threads 1 --shapes tiny --baselines none ' +
  '--repeats 100000 --warmup 0 --max-seconds 1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `bash -c script` in a process group of its own (as a terminal's job); `signal` is called once wgnas has begun. */
function bash(script: string, signal: (c: ChildProcess) => void) {
  const env = { ...process.env, NODE: process.execPath, BIN };
  const c = spawn('bash', ['-c', script], { detached: true, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  c.stdout!.on('data', (d) => (stdout += String(d)));
  c.stderr!.on('data', (d) => (stderr += String(d)));
  void (async () => {
    while (c.exitCode === null && c.signalCode === null && !/^matmul 64x64x64$/m.test(stderr)) await sleep(20);
    signal(c);
  })();
  const timer = setTimeout(() => process.kill(-c.pid!, 'SIGKILL'), 120_000);
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    c.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig, stdout, stderr });
    }),
  );
}

describe('Ctrl-C in a shell script', () => {
  it(
    'SIGINT to the process group: wgnas says how it stopped, and the script stops too',
    { timeout: 180_000 },
    async ({ skip }) => {
      if (!cpuTestBackend()) return skip();
      const r = await bash(`${BENCH}; echo after`, (c) => process.kill(-c.pid!, 'SIGINT'));
      expect(r.stderr.trim().split('\n').at(-1)).toBe('wgnas bench: stopped by SIGINT');
      expect(r.stdout).toBe('');
      expect(r.signal, r.stderr).toBe('SIGINT');
    },
  );

  it('SIGINT to wgnas alone: the shell sees status 130 and goes on', { timeout: 180_000 }, async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const r = await bash(`${BENCH}; echo "status $?"`, (c) => {
      // bash's one child is wgnas (node running bin/wgnas.js in-process).
      const [pid] = readFileSync(`/proc/${c.pid}/task/${c.pid}/children`, 'utf8').trim().split(' ');
      process.kill(Number(pid), 'SIGINT');
    });
    expect(r.stderr.trim().split('\n').at(-1)).toBe('wgnas bench: stopped by SIGINT');
    expect(r.stdout).toBe('status 130\n');
    expect(r.code, r.stderr).toBe(0);
  });
});
