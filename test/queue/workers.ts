/** `wgnas worker` child processes for the queue tests (the real CLI, on the CPU backend by default). */
import { type ChildProcess, spawn } from 'node:child_process';
import { BIN } from '../helpers/child.js';

export interface WorkerChild {
  proc: ChildProcess;
  stderr(): string;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the worker says it is waiting for jobs. */
  ready: Promise<void>;
  kill(sig?: NodeJS.Signals): void;
}

export function startWorkerChild(
  url: string,
  ns: string,
  o: { env?: Record<string, string>; device?: string; args?: string[] } = {},
): WorkerChild {
  const env: NodeJS.ProcessEnv = { ...process.env, WGNAS_QUEUE_LOCK_MS: '2000', WGNAS_QUEUE_HEARTBEAT_MS: '500', ...o.env };
  if (!o.env?.WGNAS_TEST_KILL_AT) delete env.WGNAS_TEST_KILL_AT;
  const proc = spawn(
    process.execPath,
    [
      BIN,
      'worker',
      '--redis',
      url,
      '--queue',
      ns,
      '--device',
      o.device ?? 'cpu',
      ...((o.device ?? 'cpu') === 'cpu' && !o.args?.includes('--cpu-threads') ? ['--cpu-threads', '1'] : []),
      ...(o.args ?? []),
    ],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  proc.stderr!.on('data', (d) => {
    err += String(d);
    if (err.includes('waiting for jobs')) onReady();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  // A worker that dies before it is ready must not leave the test waiting.
  void exited.then(() => onReady());
  return {
    proc,
    stderr: () => err,
    exited,
    ready,
    kill: (sig = 'SIGKILL') => void (proc.exitCode === null && proc.signalCode === null && proc.kill(sig)),
  };
}

/** Sums the "N scored, M already stored" of a worker's job lines. */
export function jobTotals(stderr: string): { scored: number; skipped: number } {
  let scored = 0;
  let skipped = 0;
  for (const m of stderr.matchAll(/done: (\d+) scored, (\d+) already stored/g)) {
    scored += Number(m[1]);
    skipped += Number(m[2]);
  }
  return { scored, skipped };
}
