/**
 * Ctrl-C (SIGINT) and SIGTERM: the command stops at once with one line saying what was kept and how
 * to continue, where it can be continued. Stopping anywhere is safe (files are written atomically and
 * rows appended whole; the kill tests SIGKILL at every write); the 'exit' listeners run first and
 * drop this process's lock files (durable.ts), so the resume finds no stale lock to take over. Then
 * the signal is raised again with its default action, so a shell script running wgnas stops too.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { rowStreamFiles } from '../data/row-stream.js';
import { hasCheckpoint } from '../nn/checkpoint.js';
import { lineStart } from '../util/progress.js';
import type { ModeSpec } from './spec.js';
import { shellQuote } from '../util/shell.js';

interface Running {
  command: string;
  mode: ModeSpec;
  values: Record<string, unknown>;
}

let running: Running | null = null;
/** What the running command said about continuing (setInterruptHint), over what its spec tells. */
let commandHint: (() => string | undefined) | null = null;
/** What the running command keeps when stopped (setInterruptSave): it writes, and says what. */
let commandSave: ((signal: string) => string | undefined) | null = null;

/**
 * Records the command being run (runCommand calls it once the command line is parsed). The first
 * wins: a command that runs another inside it (--train-epochs runs train) is still the one typed.
 */
export function noteRunning(command: string, mode: ModeSpec, values: Record<string, unknown>): void {
  running ??= { command, mode, values };
}

/** Forgets the command run before (runCli calls it first: in-process callers run several, one after another). */
export function forgetRunning(): void {
  running = null;
  commandHint = null;
  commandSave = null;
}

/**
 * A command that can keep part of its work when stopped (bench: the cases that finished, as a
 * partial --json report) saves it here, synchronously, before the process exits; what it returns is
 * said on the stop line in place of the hint. null clears it.
 */
export function setInterruptSave(save: ((signal: string) => string | undefined) | null): void {
  commandSave = save;
}

/** How to continue the command being run ('--out X keeps the work done: ... --resume ...'), if it says. */
export function continueHint(): string | undefined {
  return running ? (commandHint?.() ?? resumeHint(running.mode, running.values)) : undefined;
}

/** The command being run: its option values and the options its mode has (for advice naming them). */
export function runningCommand(): { command: string; values: Record<string, unknown>; options: readonly string[] } | null {
  return running && { command: running.command, values: running.values, options: Object.keys(running.mode.options) };
}

/**
 * A command whose way to continue its spec cannot tell (data fetch and data list share one mode,
 * and fetch resumes with no --resume) says it here while it runs; null clears it.
 */
export function setInterruptHint(hint: (() => string | undefined) | null): void {
  commandHint = hint;
}

/** How to continue the run: '--resume' where the command resumes and its state was written. */
export function resumeHint(mode: ModeSpec, values: Record<string, unknown>): string | undefined {
  const resume = mode.options.resume;
  if (!resume) return undefined;
  // What a resume continues from: the option --resume requires (search's --evaluated, proxyless's
  // --checkpoint, score's --out), else a required --out (profile's table, train's folder).
  const state = resume.requires?.[0] ?? (mode.options.out ? 'out' : undefined);
  if (!state) return undefined;
  const path = values[state];
  const meta = mode.options[state].metavar ?? 'FILE';
  if (typeof path !== 'string') return `nothing was kept to resume from (--${state} ${meta} makes the run resumable)`;
  // A folder (proxyless --checkpoint, train --out) is made at the start; what resumes is a checkpoint.
  // A .json output is written whole at the end: until then its rows are streamed beside it.
  const rows = rowStreamFiles(path).rows;
  const kept =
    mode.options[state].path === 'out-dir'
      ? hasCheckpoint(path) || hasCheckpoint(join(path, 'checkpoint'))
      : existsSync(path) || (existsSync(rows) && statSync(rows).size > 0);
  if (!kept) return `nothing was written to --${state} ${shellQuote(path)} yet`;
  const instead = values.force === true ? ' in place of --force' : '';
  return `--${state} ${shellQuote(path)} keeps the work done: repeat the command with --resume${instead} to continue`;
}

/** The line printed when `signal` stops the process. */
export function interruptLine(signal: string): string {
  if (!running) return `wgnas: stopped by ${signal}`;
  let saved: string | undefined;
  try {
    saved = commandSave?.(signal);
  } catch (e) {
    saved = `could not keep the work done: ${(e as Error).message.split('\n')[0]}`;
  }
  const hint = saved ?? continueHint();
  return `wgnas ${running.command}: stopped by ${signal}${hint ? `; ${hint}` : ''}`;
}

/**
 * Installs the handlers (the entry point only: in-process tests keep vitest's, and must not be
 * killed). A command that stops itself gracefully (wgnas worker) installs its own handler, and this
 * one then stands aside.
 */
export function installInterruptHandlers(): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(signal, () => {
      if (process.listenerCount(signal) > 1) return;
      // On a terminal, clear the progress bar's line (and the ^C echoed onto it) first.
      process.stderr.write(`${lineStart(process.stderr)}${interruptLine(signal)}\n`);
      exitBySignal(signal, code);
    });
  }
}

/**
 * Ends this process as killed by `signal`, after what process.exit runs (its 'exit' listeners drop
 * this process's lock files). A shell sees a death by the signal (status 128 + its number, as exit
 * `code` said before) and, on Ctrl-C, stops its script as for any command without a handler; a
 * plain exit 130 tells bash that the command handled the signal, and the script went on.
 */
function exitBySignal(signal: 'SIGINT' | 'SIGTERM', code: number): void {
  process.exitCode = code;
  process.emit('exit', code);
  process.removeAllListeners('exit');
  // With no listener left, Node restores the signal's default action: raised again, it kills.
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  // Reached only where the signal does not kill at once (Windows has no such signals).
  process.exit(code);
}
