/**
 * Parses a command line against a CommandSpec: node:util parseArgs splits the tokens (non-strict, so
 * that `--batch -4` reaches our range check instead of Node's three-line "ambiguous" message), then
 * each value is converted and range-checked, cross-option rules are applied and paths are checked.
 * Every failure is one UsageError naming the flag.
 */
import { parseArgs } from 'node:util';
import { didYouMean, orList, quote, UsageError } from './errors.js';
import { checkDistinctOutputs, checkPath, expandPattern, type PathFs, realFs } from './paths.js';
import { choicesOf, type CommandSpec, type ModeSpec, type OptDef, type Options } from './spec.js';

export type Parsed =
  | { kind: 'help' }
  | { kind: 'version' }
  | {
      kind: 'run';
      mode: ModeSpec;
      values: Record<string, unknown>;
      /** Options given on the command line (not defaulted). */
      given: ReadonlySet<string>;
      /** Options not given whose value came from their environment variable (OptDef.env): name to variable. */
      fromEnv: ReadonlyMap<string, string>;
      positionals: string[];
      /** The general --verbose: also print what is normally held back (Dawn's start-up warnings). */
      verbose: boolean;
    };

type Token = ReturnType<typeof parseArgs>['tokens'] extends (infer T)[] | undefined ? T : never;

function tokenize(argv: readonly string[], opts: Options): Token[] {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
    verbose: { type: 'boolean' },
  };
  for (const [name, o] of Object.entries(opts))
    config[name] = { type: o.type === 'bool' ? 'boolean' : 'string', ...(o.short ? { short: o.short } : {}) };
  return parseArgs({ args: [...argv], options: config, strict: false, allowPositionals: true, tokens: true }).tokens ?? [];
}

/** Union of every mode's options, for the first pass that finds the mode. */
function allOptions(spec: CommandSpec): Options {
  return Object.assign({}, ...spec.modes.map((m) => m.options)) as Options;
}

function selectMode(spec: CommandSpec, tokens: Token[]): ModeSpec {
  for (const m of spec.modes) {
    if (!m.select) continue;
    const hit = tokens.some(
      (t) => t.kind === 'option' && t.name === m.select!.option && (m.select!.value === undefined || t.value === m.select!.value),
    );
    if (hit) return m;
  }
  return spec.modes.find((m) => !m.select) ?? spec.modes[0];
}

const displayName = (t: Extract<Token, { kind: 'option' }>) => (t.rawName.startsWith('--') ? t.rawName : `-${t.name}`);

export interface ParseOptions {
  fs?: PathFs;
  /** Where options' environment variables are read (OptDef.env; default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

export function parseCommand(spec: CommandSpec, argv: readonly string[], po: ParseOptions = {}): Parsed {
  const first = tokenize(argv, allOptions(spec));
  // --help and --version win over any other problem on the line.
  if (first.some((t) => t.kind === 'option' && (t.name === 'help' || t.name === 'h'))) return { kind: 'help' };
  if (first.some((t) => t.kind === 'option' && t.name === 'version')) return { kind: 'version' };
  const mode = selectMode(spec, first);
  const opts = mode.options;
  const tokens = tokenize(argv, opts);
  const raw = new Map<string, string[]>();
  const positionals: string[] = [];
  let verbose = false;
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'option' && t.rawName === '--verbose' && !Object.hasOwn(opts, 'verbose')) {
      if (t.value !== undefined) throw new UsageError(`--verbose takes no value, got ${quote(t.value)}`);
      verbose = true;
      continue;
    }
    if (t.kind === 'positional') {
      positionals.push(t.value);
      continue;
    }
    const name = t.name;
    const o = Object.hasOwn(opts, name) ? opts[name] : undefined;
    // A short flag counts only through its declared alias (-h), never as an abbreviation (-k for --k).
    const viaShort = !t.rawName.startsWith('--');
    if (!o || (viaShort && t.rawName !== `-${o.short}`)) throw unknownOption(spec, mode, displayName(t));
    if (o.type === 'bool') {
      if (t.value !== undefined) throw new UsageError(`--${name} takes no value, got ${quote(t.value)}`);
      raw.set(name, [...(raw.get(name) ?? []), 'true']);
      continue;
    }
    const v = t.value;
    if (v === undefined || (!t.inlineValue && /^--[a-zA-Z]/.test(v)))
      throw new UsageError(`--${name} needs a value (${o.metavar ?? 'a value'})`);
    const vs = o.type === 'path' && o.path === 'in-file' && o.repeatable ? expandPattern(name, v) : [v];
    raw.set(name, [...(raw.get(name) ?? []), ...vs]);
  }
  for (const [name, vs] of raw) {
    if (vs.length > 1 && !opts[name].repeatable) throw new UsageError(`--${name} is given ${vs.length} times; give it once`);
  }
  checkPositionals(spec, mode, positionals);

  const values: Record<string, unknown> = {};
  const envSet = new Map<string, string>();
  for (const [name, o] of Object.entries(opts)) {
    const vs = raw.get(name);
    const fromEnv = vs === undefined && o.env ? (po.env ?? process.env)[o.env] : undefined;
    if (fromEnv) envSet.set(name, o.env!);
    if (fromEnv) values[name] = convertEnv(name, o, o.env!, fromEnv);
    else if (vs === undefined) values[name] = o.repeatable ? [] : structuredClone(o.default);
    else values[name] = o.repeatable ? vs.map((v) => convert(name, o, v)) : convert(name, o, vs[0]);
  }
  const given = new Set(raw.keys());
  checkRules(opts, values, given);
  for (const name of given) {
    const o = opts[name];
    if (o.type !== 'path') continue;
    for (const v of raw.get(name)!) {
      if (o.placeholder !== undefined && v.includes(o.placeholder)) continue; // the command checks the paths it fills in
      checkPath(name, v, o.path!, o.noun, po.fs ?? realFs);
    }
  }
  checkDistinctOutputs(
    [...given].flatMap((name) => {
      const o = opts[name];
      if (o.type !== 'path') return [];
      const vs = raw.get(name)!.filter((v) => o.placeholder === undefined || !v.includes(o.placeholder));
      return vs.map((v) => [name, v, o.path!] as const);
    }),
    po.fs ?? realFs,
  );
  return { kind: 'run', mode, values, given, fromEnv: envSet, positionals, verbose };
}

function unknownOption(spec: CommandSpec, mode: ModeSpec, shown: string): UsageError {
  const bare = shown.replace(/^-+/, '').replace(/=.*$/, '');
  const others = spec.modes.filter((m) => m !== mode && Object.hasOwn(m.options, bare));
  if (shown.startsWith('--') && others.length) {
    if (mode.select) return new UsageError(`--${bare} is not used with ${mode.label}`);
    return new UsageError(`--${bare} needs ${orList(others.map((m) => m.label))}`);
  }
  const names = Object.keys(mode.options);
  return new UsageError(`unknown option ${quote(shown).slice(1, -1)} for 'wgnas ${spec.name}'${didYouMean(bare, names, '--')}`);
}

function checkPositionals(spec: CommandSpec, mode: ModeSpec, positionals: string[]): void {
  const p = mode.positionals;
  if (!p) {
    if (positionals.length) {
      const v = positionals[0];
      const asOption = Object.hasOwn(mode.options, v) ? `; did you mean --${v}?` : '';
      throw new UsageError(`unexpected argument ${quote(v)} for 'wgnas ${spec.name}' (it takes options only)${asOption}`);
    }
    return;
  }
  if (!positionals.length && p.missing) throw new UsageError(p.missing);
  const known = p.choices();
  for (const v of positionals) {
    if (!known.includes(v))
      throw new UsageError(`unknown ${p.noun} ${quote(v)}${didYouMean(v, known)} (known: ${known.join(', ')})`);
  }
}

/** Converts and range-checks one value. */
export function convert(name: string, o: OptDef, v: string): unknown {
  if (v === '' && !(o.type === 'list' && o.allowEmpty)) throw new UsageError(`--${name} is empty`);
  switch (o.type) {
    case 'bool':
      return true;
    case 'int':
      return parseIntValue(name, o, v);
    case 'number':
      return parseNumberValue(name, o, v);
    case 'madds':
      return parseMadds(v, name);
    case 'enum':
      return parseChoice(name, o, v);
    case 'list':
      return parseList(name, o, v);
    case 'text':
    case 'path': {
      const problem = o.check?.(v);
      if (problem) throw new UsageError(`--${name}${problem.startsWith('must ') ? ' ' : ': '}${problem}`);
      return v;
    }
  }
}

/** convert() for an option's environment variable: its error names the variable (and the flag it stands for). */
function convertEnv(name: string, o: OptDef, env: string, v: string): unknown {
  try {
    return convert(name, o, v);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    throw new UsageError(`${e.message.replace(`--${name}`, env)} (it stands for --${name})`);
  }
}

function rangeText(o: OptDef): string {
  const lo = o.gt !== undefined ? `> ${o.gt}` : o.min !== undefined ? `>= ${o.min}` : '';
  if (o.max === undefined) return lo;
  if (o.min !== undefined && o.gt === undefined) return `from ${o.min} to ${o.max}`;
  return lo ? `${lo} and <= ${o.max}` : `<= ${o.max}`;
}

const why = (o: OptDef) => (o.maxWhy ? ` (${o.maxWhy})` : '');

function checkRange(name: string, o: OptDef, n: number, v: string, what: string): void {
  if (o.gt !== undefined && !(n > o.gt)) throw new UsageError(`--${name} must be > ${o.gt}, got ${quote(v)}`);
  if (o.min !== undefined && n < o.min) throw new UsageError(`--${name} must be ${what} >= ${o.min}, got ${quote(v)}`);
  if (o.max !== undefined && n > o.max) throw new UsageError(`--${name} must be at most ${o.max}, got ${quote(v)}${why(o)}`);
}

function parseIntValue(name: string, o: OptDef, v: string): number {
  const n = /^[+-]?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) {
    const r = rangeText(o);
    throw new UsageError(`--${name} must be an integer${r ? ` ${r}` : ''}, got ${quote(v)}`);
  }
  checkRange(name, o, n, v, 'an integer');
  return n;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function parseNumberValue(name: string, o: OptDef, v: string): number {
  const n = DECIMAL.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isFinite(n)) {
    const r = rangeText(o);
    throw new UsageError(`--${name} must be a finite number${r ? ` ${r}` : ''}, got ${quote(v)}`);
  }
  checkRange(name, o, n, v, 'a number');
  return n;
}

/** "12e6", "12000000", "12M", "1.5G" -> multiply-adds (> 0, finite). */
export function parseMadds(v: string, name = 'budget-madds'): number {
  const m = /^\s*(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*([kmg]?)\s*$/i.exec(v);
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[(m?.[3] ?? '').toLowerCase()] ?? NaN;
  const n = m ? Number(`${m[1]}${m[2] ?? ''}`) * scale : NaN;
  if (!(n > 0) || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a positive number like 12e6 or 12M, got ${quote(v)}`);
  return n;
}

function matchChoice(v: string, known: readonly string[], ignoreCase: boolean | undefined): string | undefined {
  if (known.includes(v)) return v;
  return ignoreCase ? known.find((k) => k.toLowerCase() === v.trim().toLowerCase()) : undefined;
}

/** A former choice (OptDef.retired) refused, saying what it is now. */
function checkRetired(name: string, o: OptDef, v: string): void {
  const now = o.retired?.().get(v.trim().toLowerCase());
  if (now !== undefined) throw new UsageError(`--${name}: ${o.noun ?? 'value'} ${quote(v)} is ${now}`);
}

function parseChoice(name: string, o: OptDef, v: string): string {
  const known = choicesOf(o.choices);
  const hit = matchChoice(v, known, o.ignoreCase);
  if (hit !== undefined) return hit;
  checkRetired(name, o, v);
  const list = known.length > 2 ? `one of ${known.join(', ')}` : orList(known);
  throw new UsageError(`--${name} must be ${list}, got ${quote(v)}${didYouMean(v, known)}`);
}

function parseList(name: string, o: OptDef, v: string): string[] {
  if (v.trim() === '') {
    if (o.allowEmpty) return [];
    throw new UsageError(`--${name} is empty`);
  }
  const items = v.split(',').map((s) => s.trim());
  if (items.some((s) => s === ''))
    throw new UsageError(`--${name} has an empty item in ${quote(v)} (write a comma list like a,b,c)`);
  const known = choicesOf(o.choices);
  if (!known.length) return items;
  return items.map((s) => {
    const hit = matchChoice(s, known, o.ignoreCase);
    if (hit === undefined) checkRetired(name, o, s);
    if (hit === undefined)
      throw new UsageError(
        `unknown ${o.noun ?? 'item'} ${quote(s)} in --${name}${didYouMean(s, known)} (known: ${known.join(', ')})`,
      );
    return hit;
  });
}

function checkRules(opts: Options, values: Record<string, unknown>, given: ReadonlySet<string>): void {
  for (const [name, o] of Object.entries(opts)) {
    if (o.required && !given.has(name)) throw new UsageError(`--${name} ${o.metavar ?? ''} is required`.replace('  ', ' '));
  }
  for (const name of given) {
    const o = opts[name];
    for (const c of o.conflicts ?? []) {
      if (given.has(c)) throw new UsageError(o.conflictsWhy ?? `--${name} and --${c} cannot be given together`);
    }
    for (const r of o.requires ?? []) {
      if (!given.has(r)) throw new UsageError(o.requiresWhy ?? `--${name} needs --${r}`);
    }
    const w = o.appliesWhen;
    const v = w && values[w.option];
    if (w && !(Array.isArray(v) ? v : [v]).some((x) => w.values.includes(String(x)))) {
      const here = `here --${w.option} is ${Array.isArray(v) ? v.join(',') || "''" : String(v)}`;
      throw new UsageError(`${w.why ?? `--${name} applies only with --${w.option} ${orList(w.values)}`} (${here})`);
    }
  }
}

/** The option names a command accepts in any mode (for "did you mean" at the top level). */
export function optionNames(spec: CommandSpec): string[] {
  return [...new Set(spec.modes.flatMap((m) => Object.keys(m.options)))];
}
