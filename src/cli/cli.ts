/**
 * The wgnas entry point as a function: finds the command, runs it, and turns any failure into one
 * line on stderr and an exit code (2: the command line is wrong; 1: a file's content or the run).
 * Commands and their specs load lazily, so `wgnas predict` does not load the GPU stack.
 */
import { join } from 'node:path';
import { isInstalledPackage, repoRoot } from '../data/paths.js';
import { unreportedGpuError } from '../gpu/unreported.js';
import { UserFacingError } from '../util/errors.js';
import { ResumeMismatchError } from '../util/run-settings.js';
import { closest, oneLine, UsageError } from './errors.js';
import { withGpuAdvice } from './gpu-failure.js';
import { forgetRunning } from './interrupt.js';
import { packageVersion, runCommand, stdio, type Handlers, type Io } from './run.js';
import type { CommandSpec } from './spec.js';

type Loader<T> = () => Promise<T>;

/** Each command: its spec, and the module holding its handlers. The order is the order of `wgnas --help`. */
export const COMMANDS: Record<string, { spec: Loader<CommandSpec>; module: Loader<{ handlers: Handlers }> }> = {
  info: { spec: async () => (await import('./specs/info.js')).INFO, module: () => import('./commands/info.js') },
  score: { spec: async () => (await import('./specs/score.js')).SCORE, module: () => import('./commands/score.js') },
  correlate: {
    spec: async () => (await import('./specs/correlate.js')).CORRELATE,
    module: () => import('./commands/correlate.js'),
  },
  search: { spec: async () => (await import('./specs/search.js')).SEARCH, module: () => import('./commands/search.js') },
  proxyless: {
    spec: async () => (await import('./specs/proxyless.js')).PROXYLESS,
    module: () => import('./commands/proxyless.js'),
  },
  'evolve-space': {
    spec: async () => (await import('./specs/evolve-space.js')).EVOLVE_SPACE,
    module: () => import('./commands/evolve-space.js'),
  },
  profile: { spec: async () => (await import('./specs/profile.js')).PROFILE, module: () => import('./commands/profile.js') },
  predict: { spec: async () => (await import('./specs/predict.js')).PREDICT, module: () => import('./commands/predict.js') },
  train: { spec: async () => (await import('./specs/train.js')).TRAIN, module: () => import('./commands/train.js') },
  export: { spec: async () => (await import('./specs/export.js')).EXPORT, module: () => import('./commands/export.js') },
  bench: { spec: async () => (await import('./specs/bench.js')).BENCH, module: () => import('./commands/bench.js') },
  worker: { spec: async () => (await import('./specs/queue.js')).WORKER, module: () => import('./commands/worker.js') },
  queue: { spec: async () => (await import('./specs/queue.js')).QUEUE, module: () => import('./commands/queue.js') },
  data: { spec: async () => (await import('./specs/data.js')).DATA, module: () => import('./commands/data.js') },
};

export async function allSpecs(): Promise<CommandSpec[]> {
  return Promise.all(Object.values(COMMANDS).map((c) => c.spec()));
}

async function usage(): Promise<string> {
  const specs = await allSpecs();
  const lines = specs.map((s) => `  ${s.name.padEnd(13)} ${s.summary}`);
  return `usage: wgnas <command> [options]   (wgnas <command> --help for its options)\n\ncommands:\n${lines.join('\n')}\n\n  --version     print the wgnas version\n\nevery option, and the environment variables wgnas reads: ${cliDocsRef()}\n`;
}

/** docs/cli.md as a reader finds it: inside an installed package (which ships it), its full path. */
export function cliDocsRef(root = repoRoot()): string {
  return isInstalledPackage(root) ? join(root, 'docs', 'cli.md') : 'docs/cli.md';
}

/**
 * A bug rather than a message for the user: an error of another class than UsageError and
 * UserFacingError (bad content, a failed write, a service down), and not a plain Error (a system
 * error, a library's message). It keeps its class name on the line, and its stack under --verbose.
 */
export function isInternal(e: unknown): boolean {
  const err = e instanceof Error ? e : new Error(String(e));
  return !(err.name === 'Error' || err instanceof UsageError || err instanceof UserFacingError);
}

/** The one line a failure prints (without the trailing newline). */
export function errorLine(command: string | undefined, e: unknown): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const prefix = err.name && isInternal(err) ? `${err.name}: ` : '';
  return oneLine(`wgnas${command ? ` ${command}` : ''}: ${prefix}${err.message}`);
}

/**
 * 2: the command line is wrong (a flag, a value, a path, or a --resume whose settings differ from
 * the saved run's); 1: a file's content or the run itself failed (a lock held by a live run too).
 */
export function exitCodeOf(e: unknown): number {
  return e instanceof UsageError || e instanceof ResumeMismatchError ? 2 : 1;
}

/** Runs `wgnas <argv>`; returns the exit code. Failures are printed through `io.err` as one line. */
export async function runCli(argv: readonly string[], io: Io = stdio): Promise<number> {
  const [name, ...rest] = argv;
  // `wgnas help score` is `wgnas score --help` (an unknown name gets the unknown-command line).
  if (name === 'help' && rest.length) return runCli([rest[0], '--help'], io);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(await usage());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    io.out(`wgnas ${packageVersion()}\n`);
    return 0;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  forgetRunning();
  // What devices closed before this command (in-process callers) left unreported is not its failure.
  void unreportedGpuError();
  try {
    if (!cmd) {
      const guess = closest(name, Object.keys(COMMANDS));
      throw new UsageError(
        `unknown command '${name.slice(0, 80)}'${guess ? `; did you mean '${guess}'?` : ''} (wgnas --help lists them)`,
      );
    }
    const spec = await cmd.spec();
    await runCommand(spec, rest, async (m) => (await COMMANDS[m].module()).handlers, io);
    // The error of the last work on a device, which no read came to report: the run failed.
    const unreported = await unreportedGpuError();
    if (unreported) throw unreported;
    return 0;
  } catch (err) {
    // A GPU that failed mid-run: what to change and how to continue, on the same line.
    const e = withGpuAdvice(err);
    io.err(`${errorLine(cmd ? name : undefined, e)}\n`);
    // The stack of a bug under --verbose (of any error under WGNAS_DEBUG); never for bad input.
    if (process.env.WGNAS_DEBUG || (isInternal(e) && rest.includes('--verbose'))) io.err(`${(e as Error).stack}\n`);
    return exitCodeOf(e);
  }
}
