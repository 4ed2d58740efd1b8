/** Runs one command: parse against its spec, answer --help/--version, then call the mode's handler. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../data/paths.js';
import { setDawnLogSink } from '../gpu/dawn-log.js';
import { formatHelp } from './help.js';
import { noteRunning } from './interrupt.js';
import { parseCommand, type ParseOptions } from './parse.js';
import { checkEnvironmentValues } from './environment.js';
import { ResumeMismatchError, showSetting } from '../util/run-settings.js';
import type { CommandSpec } from './spec.js';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const stdio: Io = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

export interface RunContext {
  command: string;
  /** Options given on the command line (not defaulted). */
  given: ReadonlySet<string>;
  positionals: string[];
  io: Io;
  /** The command line after the command's name, as given (provenance records it). */
  argv?: readonly string[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handler = (values: any, ctx: RunContext) => Promise<unknown>;
export type Handlers = Readonly<Record<string, Handler>>;
/** Finds the handlers of a command module by its name (main.ts knows them all; a module knows itself). */
export type Resolve = (module: string) => Promise<Handlers>;

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

export async function runCommand(
  spec: CommandSpec,
  argv: readonly string[],
  resolve: Resolve,
  io: Io = stdio,
  po: ParseOptions = {},
): Promise<unknown> {
  const p = parseCommand(spec, argv, po);
  if (p.kind === 'help') {
    io.out(formatHelp(spec));
    return null;
  }
  if (p.kind === 'version') {
    io.out(`wgnas ${packageVersion()}\n`);
    return null;
  }
  // A bad A/B switch (read by the kernels only at their first dispatch), or another variable whose
  // reader would fall back silently, is refused before any work. Commands without --device never
  // compile a kernel; --device auto may.
  checkEnvironmentValues(process.env, { gpu: 'device' in p.values && p.values.device !== 'cpu' });
  // --verbose: Dawn's start-up warnings, held back otherwise, go to stderr as they come.
  if (p.verbose) setDawnLogSink((line) => io.err(line));
  noteRunning(spec.name, p.mode, p.values);
  const handlers = await resolve(p.mode.module);
  const h = handlers[p.mode.id];
  if (!h) throw new Error(`wgnas ${spec.name}: no handler '${p.mode.id}' in module '${p.mode.module}'`);
  try {
    return await h(p.values, { command: spec.name, given: p.given, positionals: p.positionals, io, argv });
  } catch (e) {
    // A resume refused over a setting the flag did not give: say where this run's value came from.
    if (e instanceof ResumeMismatchError)
      for (const [name, env] of p.fromEnv) {
        if (!e.message.includes(`--${name} was `)) continue;
        const now = `, now ${showSetting(p.values[name])}`;
        const from = ` (from $${env})`;
        e.message = e.message.includes(now) ? e.message.replace(now, now + from) : e.message + from;
      }
    throw e;
  }
}

/** A module's own resolver, for calling its command in-process (tests); other modules' modes are main's job. */
export function selfResolve(name: string, handlers: Handlers): Resolve {
  return async (m) => {
    if (m !== name) throw new Error(`this mode runs in 'wgnas ${m}'; call it through the wgnas entry point (src/cli/cli.ts)`);
    return handlers;
  };
}
