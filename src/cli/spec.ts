/**
 * The declarative CLI: every command declares its options once, here-typed, and parsing, range
 * checks, `--help` and docs/cli.md are all generated from that one declaration (parse.ts, help.ts).
 *
 * An option is built with one of the helpers below (`int`, `num`, `madds`, `oneOf`, `list`, `text`,
 * `flag`, `inFile`, `outFile`, `outDir`); the helper's overloads give the parsed value its type, so
 * a command's handler receives `ValuesOf<typeof options>` with numbers as numbers and defaults
 * applied. A command has one or more modes (search: nb201, --space-file, --space proxyless), each
 * with its own options; a mode is chosen by a flag, never by rewriting argv.
 */

export type PathKind = 'in-file' | 'out-file' | 'out-dir';
export type OptType = 'bool' | 'int' | 'number' | 'madds' | 'text' | 'enum' | 'list' | 'path';
/** Choices known up front, or computed when needed (registries that are cheap to ask but live elsewhere). */
export type Choices = readonly string[] | (() => readonly string[]);

export interface OptDef {
  readonly type: OptType;
  /** One or more sentences; '\n' starts a new help line. */
  readonly help: string;
  /** Placeholder in usage and help: N, X, FILE, LIST... */
  readonly metavar?: string;
  readonly short?: string;
  /** Heading this option is listed under in --help (e.g. 'schedule'). */
  readonly group?: string;
  /** The parsed default; absent means "not given" (the handler sees undefined, or [] when repeatable). */
  readonly default?: unknown;
  /** Shown instead of `default` when the real default is decided at run time. */
  readonly defaultText?: string;
  /**
   * An environment variable that gives the value when the flag is not given (checked as the flag's
   * value, its error naming the variable; empty counts as unset). Not counted as given: the rules
   * between flags (conflicts, requires, appliesWhen) see the command line only.
   */
  readonly env?: string;
  readonly required?: boolean;
  /** May be given more than once; the values are collected in order. */
  readonly repeatable?: boolean;
  readonly min?: number;
  readonly max?: number;
  /** Strict lower bound (e.g. a latency target must be > 0). */
  readonly gt?: number;
  /** Why the maximum is what it is, appended to its error. */
  readonly maxWhy?: string;
  /** enum values, or the allowed items of a list. */
  readonly choices?: Choices;
  /** What one value is called in errors ("proxy", "baseline", "latency table"). */
  readonly noun?: string;
  /**
   * enum/list: former choices (lower-case) and what each is now ("now 'x' (...)"): one given is
   * refused in one line saying so, not as an unknown value.
   */
  readonly retired?: () => ReadonlyMap<string, string>;
  /** enum/list: match choices case-insensitively (the value becomes the declared spelling). */
  readonly ignoreCase?: boolean;
  /** list: an empty string means the empty list. */
  readonly allowEmpty?: boolean;
  readonly path?: PathKind;
  /**
   * A path value holding this (evolve-space's '{seed}') is a pattern: the command checks each path
   * it fills in, before any work, and the pattern itself is not checked here.
   */
  readonly placeholder?: string;
  /** Extra validation of a text or path value: returns what is wrong, or undefined. */
  readonly check?: (value: string) => string | undefined;
  /** Options that cannot be given together with this one. */
  readonly conflicts?: readonly string[];
  readonly conflictsWhy?: string;
  /** Options that must be given when this one is. */
  readonly requires?: readonly string[];
  readonly requiresWhy?: string;
  /**
   * The option only makes sense when another option (given or defaulted) has one of these values
   * (a list option: holds one of them); `why` replaces the generic message.
   */
  readonly appliesWhen?: { readonly option: string; readonly values: readonly string[]; readonly why?: string };
}

/** An option whose parsed value has type T (T is a phantom: it exists only for the compiler). */
export interface Opt<T> extends OptDef {
  readonly __value?: T;
}

export type Options = Readonly<Record<string, Opt<unknown>>>;

/** The parsed values of a set of options. */
export type ValuesOf<O extends Options> = { -readonly [K in keyof O]: O[K] extends Opt<infer T> ? T : never };

type Common = Omit<OptDef, 'type' | 'default' | 'choices' | 'path' | 'repeatable' | 'min' | 'max' | 'gt'>;
type Ranged = Common & { min?: number; max?: number; gt?: number };

/** A boolean switch (false unless given). */
export function flag(o: Common): Opt<boolean> {
  return { ...o, type: 'bool', default: false };
}

/** An integer written in decimal: no 0x10, 1e3, 1.0 or blanks. */
export function int(o: Ranged & { default: number }): Opt<number>;
export function int(o: Ranged): Opt<number | undefined>;
export function int(o: Ranged & { default?: number }): Opt<number | undefined> {
  return { metavar: 'N', ...o, type: 'int' };
}

/** A finite decimal number (1e-3 allowed; NaN, Infinity and hex are not). */
export function num(o: Ranged & { default: number }): Opt<number>;
export function num(o: Ranged): Opt<number | undefined>;
export function num(o: Ranged & { default?: number }): Opt<number | undefined> {
  return { metavar: 'X', ...o, type: 'number' };
}

/** A multiply-add count > 0: 12000000, 12e6, 12M, 1.5G. */
export function madds(o: Common & { default: number }): Opt<number>;
export function madds(o: Common): Opt<number | undefined>;
export function madds(o: Common & { default?: number }): Opt<number | undefined> {
  return { metavar: 'N', ...o, type: 'madds' };
}

/** One value out of a fixed set. */
export function oneOf<const C extends readonly string[]>(choices: C, o: Common & { default: C[number] }): Opt<C[number]>;
export function oneOf<const C extends readonly string[]>(choices: C, o: Common): Opt<C[number] | undefined>;
export function oneOf(choices: readonly string[], o: Common & { default?: string }): Opt<string | undefined> {
  return { metavar: 'NAME', ...o, type: 'enum', choices };
}

/** One value out of a set computed when needed (a registry). */
export function oneOfLazy(choices: () => readonly string[], o: Common & { default: string }): Opt<string>;
export function oneOfLazy(choices: () => readonly string[], o: Common): Opt<string | undefined>;
export function oneOfLazy(choices: () => readonly string[], o: Common & { default?: string }): Opt<string | undefined> {
  return { metavar: 'NAME', ...o, type: 'enum', choices };
}

/** A comma-separated list; empty items (',,') are refused; `choices` restricts the items. */
export function list(o: Common & { default: readonly string[]; choices?: Choices }): Opt<string[]>;
export function list(o: Common & { choices?: Choices }): Opt<string[] | undefined>;
export function list(o: Common & { default?: readonly string[]; choices?: Choices }): Opt<string[] | undefined> {
  return { metavar: 'LIST', ...o, type: 'list' };
}

/** Free text (checked by `check` when given). */
export function text(o: Common & { default: string }): Opt<string>;
export function text(o: Common): Opt<string | undefined>;
export function text(o: Common & { default?: string }): Opt<string | undefined> {
  return { metavar: 'STR', ...o, type: 'text' };
}

/** Free text that may be repeated; the values in order. */
export function texts(o: Common): Opt<string[]> {
  return { metavar: 'STR', ...o, type: 'text', repeatable: true };
}

/** A file that must exist and be readable. */
export function inFile(o: Common): Opt<string | undefined> {
  return { metavar: 'FILE', ...o, type: 'path', path: 'in-file' };
}

/** Input files, the option repeated. */
export function inFiles(o: Common): Opt<string[]> {
  return { metavar: 'FILE', ...o, type: 'path', path: 'in-file', repeatable: true };
}

/** A file the command will write: its directory must exist and be writable, checked before any work. */
export function outFile(o: Common): Opt<string | undefined> {
  return { metavar: 'FILE', ...o, type: 'path', path: 'out-file' };
}

/** A directory the command will write into (created if its parent exists). */
export function outDir(o: Common): Opt<string | undefined> {
  return { metavar: 'DIR', ...o, type: 'path', path: 'out-dir' };
}

export interface PositionalSpec {
  readonly metavar: string;
  readonly help: string;
  readonly noun: string;
  readonly choices: () => readonly string[];
  /** The message when none is given (an action the command needs): named before any option's problem. */
  readonly missing?: string;
}

export interface ModeSpec<O extends Options = Options> {
  /** Handler name inside `module` (unique within the module). */
  readonly id: string;
  /** The command module that runs this mode (search's proxyless mode runs in 'proxyless'). */
  readonly module: string;
  /** How a user picks this mode, for messages: '--space-file', '--space proxyless'. */
  readonly label: string;
  /** The flag (and value) that selects this mode; absent for the default mode. */
  readonly select?: { readonly option: string; readonly value?: string };
  /** Help heading for this mode's own options (non-default modes). */
  readonly heading?: string;
  /** Usage lines, without the leading 'wgnas <command>'. */
  readonly usage: readonly string[];
  readonly options: O;
  readonly positionals?: PositionalSpec;
  /** Help/docs list no options for this mode but point here instead (search --space proxyless). */
  readonly optionsOf?: string;
}

export interface CommandSpec {
  readonly name: string;
  /** One line, shown by `wgnas --help`. */
  readonly summary: string;
  /** Paragraph(s) shown after the usage lines. */
  readonly description: string;
  /** The first mode is the default. */
  readonly modes: readonly ModeSpec[];
  /** Extra help text computed when shown (bench's kernel list). */
  readonly epilog?: () => string;
}

export function defineMode<O extends Options>(m: ModeSpec<O>): ModeSpec<O> {
  return m;
}

export function defineCommand(c: CommandSpec): CommandSpec {
  return c;
}

export const choicesOf = (c: Choices | undefined): readonly string[] =>
  c === undefined ? [] : typeof c === 'function' ? c() : c;

/** Largest seed: seeds are 32-bit (the RNG state), so larger values would silently wrap. */
export const MAX_SEED = 2 ** 32 - 1;

/** A seed option (0 .. 2^32-1). */
export function seed(dflt: number, help = 'random seed'): Opt<number> {
  return int({ help, default: dflt, min: 0, max: MAX_SEED, maxWhy: 'seeds are 32-bit' });
}
