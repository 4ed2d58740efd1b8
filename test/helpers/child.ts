/**
 * Runs the wgnas CLI (or node itself) in a child process, optionally SIGKILLed by a test hook or
 * after a delay: the kill tests and scripts/kill-audit.ts (no vitest here: the script imports it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { BIN } from './paths.js';

export { BIN };

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ChildOptions {
  /** WGNAS_TEST_KILL_AT for the child: it kills itself at that point. */
  killAt?: string;
  /** SIGKILL the child this many ms after it starts. */
  killAfterMs?: number;
  /** Called once the child is started. */
  onStart?: (c: ChildProcess) => void;
  /** SIGKILL a child still running after this many ms (default 240 000; Infinity: never). */
  timeoutMs?: number;
  /** The child's working directory (default this process's). */
  cwd?: string;
}

export function wgnasChild(args: string[], o: ChildOptions = {}): Promise<ChildResult> {
  return nodeChild([BIN, ...args], o);
}

/** `node ARGV` in a child process, as wgnasChild. */
export function nodeChild(argv: string[], o: ChildOptions = {}): Promise<ChildResult> {
  const env = { ...process.env };
  delete env.WGNAS_TEST_KILL_AT;
  if (o.killAt) env.WGNAS_TEST_KILL_AT = o.killAt;
  const c = spawn(process.execPath, argv, { cwd: o.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  o.onStart?.(c);
  let stdout = '';
  let stderr = '';
  c.stdout!.on('data', (d) => (stdout += String(d)));
  c.stderr!.on('data', (d) => (stderr += String(d)));
  const timeoutMs = o.timeoutMs ?? 240_000;
  const timers = Number.isFinite(timeoutMs) ? [setTimeout(() => c.kill('SIGKILL'), timeoutMs)] : [];
  if (o.killAfterMs !== undefined) timers.push(setTimeout(() => c.kill('SIGKILL'), o.killAfterMs));
  return new Promise((resolve) => {
    c.on('close', (code, signal) => {
      timers.forEach(clearTimeout);
      resolve({ code, signal, stdout, stderr: stderr.replace(/^Warning: .*artificially reduced.*\n/gm, '') });
    });
  });
}
