/**
 * The proxy registry: every per-network proxy (one file each) and every population-level
 * aggregator, in report order. Adding a built-in proxy (AZ-NAS, VKDNW, ...) or aggregator (an
 * ensemble) is a new file with defineProxy / defineProxyFamily / defineAggregator plus one entry
 * below; a library user adds theirs at run time with registerProxy / registerAggregator (after the
 * built-ins, in registration order). Groupable sets, 'all', the vote's members and the CLI's lists
 * are read from here.
 *
 * Degenerate networks: parameters no gradient reaches count as zero gradient. On a cell whose
 * output node receives nothing (its logits do not depend on the input) the proxies defined as a
 * log of a signal that is then zero give -Infinity (synflow, zen, jacob_cov; naswot when every
 * ReLU input is constant; wrcor_grad when no ReLU gets a gradient) and the gradient sums give 0
 * (grad_norm, snip, zico); each proxy's file says why. Rankings (vote, util/ranks) put non-finite
 * scores last.
 */
import { PopulationScorer } from '../search/population.js';
import { azNas, azNasAggregate } from './az-nas.js';
import {
  type AggregatorDef,
  defineAggregator,
  defineProxy,
  defineProxyFamily,
  describeValue,
  isProxyUnit,
  type ProxyDef,
  type ProxyFamilyDef,
  type ProxyUnit,
} from './define.js';
import { ensemble } from './ensemble.js';
import { flops } from './flops.js';
import { gradNorm } from './grad-norm.js';
import { jacobCov } from './jacob-cov.js';
import { meco } from './meco.js';
import { naswot } from './naswot.js';
import { params } from './params.js';
import { snip } from './snip.js';
import { swap } from './swap.js';
import { synflow } from './synflow.js';
import { vkdnw, vkdnwAggregate } from './vkdnw.js';
import { vote, voteMajority } from './vote.js';
import { wrcor } from './wrcor.js';
import { zen } from './zen.js';
import { zico } from './zico.js';

const BUILT_IN_UNITS: readonly ProxyUnit[] = [
  wrcor,
  naswot,
  swap,
  gradNorm,
  snip,
  jacobCov,
  zico,
  meco,
  zen,
  synflow,
  params,
  flops,
  azNas,
  vkdnw,
];
const BUILT_IN_AGGREGATORS: readonly AggregatorDef[] = [vote, voteMajority, azNasAggregate, vkdnwAggregate, ensemble];

export interface ProxyInfo {
  readonly name: string;
  /** The pass it reads (runs once per network for every proxy on it). */
  readonly pass: string;
  readonly description: string;
  readonly groupable: boolean;
  /** Two of its scores of one network within this, relative, are the same score (define.ts DEFAULT_MERGE_RTOL). */
  readonly mergeRtol: number;
  readonly unit: ProxyUnit;
  /** False for a library user's (registerProxy). */
  readonly builtIn: boolean;
}

/** What a request names besides proxies and aggregators. */
const ALL = 'all';

// The registry's state: only register() below writes it.
const list: ProxyInfo[] = [];
const proxies = new Map<string, ProxyInfo>();
const aggregators = new Map<string, AggregatorDef>();
const builtInAggregators = new Set<string>();
const groupable = new Set<string>();
/** Each pass's name -> the pass: two different passes under one name would collide in timings and runs. */
const passes = new Map<string, ProxyUnit['pass']>();

/** A Map that cannot be changed through this view (set/delete/clear throw), for the registry's exports. */
class ReadonlyMapView<K, V> implements ReadonlyMap<K, V> {
  constructor(
    private readonly m: Map<K, V>,
    private readonly what: string,
  ) {}
  get size(): number {
    return this.m.size;
  }
  get(k: K): V | undefined {
    return this.m.get(k);
  }
  has(k: K): boolean {
    return this.m.has(k);
  }
  keys(): MapIterator<K> {
    return this.m.keys();
  }
  values(): MapIterator<V> {
    return this.m.values();
  }
  entries(): MapIterator<[K, V]> {
    return this.m.entries();
  }
  forEach(f: (v: V, k: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    this.m.forEach((v, k) => f.call(thisArg, v, k, this));
  }
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.m.entries();
  }
  set(): never {
    throw new TypeError(`${this.what} is read-only`);
  }
  delete(): never {
    return this.set();
  }
  clear(): never {
    return this.set();
  }
}

/** A Set that cannot be changed through this view. */
class ReadonlySetView<T> implements ReadonlySet<T> {
  constructor(
    private readonly s: Set<T>,
    private readonly what: string,
  ) {}
  get size(): number {
    return this.s.size;
  }
  has(v: T): boolean {
    return this.s.has(v);
  }
  keys(): SetIterator<T> {
    return this.s.keys();
  }
  values(): SetIterator<T> {
    return this.s.values();
  }
  entries(): SetIterator<[T, T]> {
    return this.s.entries();
  }
  forEach(f: (v: T, k: T, set: ReadonlySet<T>) => void, thisArg?: unknown): void {
    this.s.forEach((v) => f.call(thisArg, v, v, this));
  }
  [Symbol.iterator](): SetIterator<T> {
    return this.s.values();
  }
  add(): never {
    throw new TypeError(`${this.what} is read-only`);
  }
  delete(): never {
    return this.add();
  }
  clear(): never {
    return this.add();
  }
}

/** Every per-network proxy by name, in report order (read-only: registerProxy adds to it). */
export const PROXIES: ReadonlyMap<string, ProxyInfo> = new ReadonlyMapView(proxies, 'PROXIES (add a proxy with registerProxy)');
/** Every population-level aggregator by name (read-only: registerAggregator adds to it). */
export const AGGREGATORS: ReadonlyMap<string, AggregatorDef> = new ReadonlyMapView(
  aggregators,
  'AGGREGATORS (add an aggregator with registerAggregator)',
);
/** Proxies that several architectures can share a pass (batched correlation dispatches) for. */
export const GROUPABLE_PROXIES: ReadonlySet<string> = new ReadonlySetView(groupable, 'GROUPABLE_PROXIES');

/** The registry's name for `name` if something (a proxy, an aggregator, 'all') already has it. */
function taken(name: string): string | null {
  const p = proxies.get(name);
  if (p) return p.builtIn ? 'a built-in proxy' : 'a registered proxy';
  if (aggregators.has(name)) return builtInAggregators.has(name) ? 'a built-in aggregator' : 'a registered aggregator';
  return name === ALL ? "the request for every proxy ('all')" : null;
}

function addUnit(unit: ProxyUnit, builtIn: boolean, fn: string): void {
  for (const name of unit.names) {
    const t = taken(name);
    if (t) throw new RangeError(`${fn}: '${name}' is already ${t}; give it another name`);
  }
  if (new Set(unit.names).size !== unit.names.length)
    throw new RangeError(`${fn}: a family lists a name twice (${unit.names.join(', ')})`);
  const other = passes.get(unit.pass.name);
  if (other && other !== unit.pass)
    throw new RangeError(
      `${fn}: pass '${unit.pass.name}' of ${unit.names.join(', ')} is another pass than the one registered under that name; reuse that pass or name yours differently`,
    );
  passes.set(unit.pass.name, unit.pass);
  unit.names.forEach((name, i) => {
    const info: ProxyInfo = Object.freeze({
      name,
      pass: unit.pass.name,
      description: unit.descriptions[i],
      groupable: unit.groupable,
      mergeRtol: unit.mergeRtols[i],
      unit,
      builtIn,
    });
    list.push(info);
    proxies.set(name, info);
    if (unit.groupable) groupable.add(name);
  });
}

function addAggregator(a: AggregatorDef, builtIn: boolean, fn: string): void {
  const t = taken(a.name);
  if (t) throw new RangeError(`${fn}: '${a.name}' is already ${t}; give it another name`);
  const missing = a.members.filter((m) => !proxies.has(m));
  if (missing.length)
    throw new RangeError(
      `${fn}: aggregator '${a.name}' has unknown member(s) ${missing.join(', ')} (members are per-network proxies: register them first)`,
    );
  aggregators.set(a.name, a);
  if (builtIn) builtInAggregators.add(a.name);
}

for (const u of BUILT_IN_UNITS) addUnit(u, true, 'proxy registry');
for (const a of BUILT_IN_AGGREGATORS) addAggregator(a, true, 'proxy registry');

/**
 * Adds a library user's per-network proxy (or family) to the registry: `def` is what defineProxy /
 * defineProxyFamily return, or a definition they take. Its names then work wherever the built-ins'
 * do in this process (scoreCell, scoreNet, ZeroShotScorer, 'all', an aggregator's members, a
 * search's populationScorer). A name that is taken (a built-in, an earlier registration, an
 * aggregator, 'all') or invalid throws one line. Returns the registered unit.
 */
export function registerProxy(unit: ProxyUnit): ProxyUnit;
export function registerProxy<R>(def: ProxyDef<R>): ProxyUnit;
export function registerProxy<R, K extends string>(def: ProxyFamilyDef<R, K>): ProxyUnit;
export function registerProxy<R, K extends string>(def: ProxyUnit | ProxyDef<R> | ProxyFamilyDef<R, K>): ProxyUnit {
  if (!def || typeof def !== 'object')
    throw new TypeError(`registerProxy: expected a proxy definition (defineProxy's), got ${describeValue(def)}`);
  const unit = isProxyUnit(def)
    ? def
    : 'members' in def && !('name' in def)
      ? defineProxyFamily(def as ProxyFamilyDef<R, K>)
      : defineProxy(def as ProxyDef<R>);
  addUnit(unit, false, 'registerProxy');
  return unit;
}

/**
 * Adds a library user's population-level aggregator: `def` is defineAggregator's input or output
 * ({name, description, members, aggregate(rows), online?(rows)}). Its members must be registered
 * proxies; its name must be free (as registerProxy's). addAggregates, 'all' and populationScorer
 * (search steering by `online`, else by the newest row's aggregate) then use it.
 */
export function registerAggregator(def: AggregatorDef): AggregatorDef {
  const a = defineAggregator(def);
  addAggregator(a, false, 'registerAggregator');
  return a;
}

/** The vote's members (WRCor, SynFlow, jacob_cov), as its definition (vote.ts) declares them. */
export const VOTE_MEMBERS: readonly string[] = aggregators.get('vote')!.members;

/** Index of a proxy in report order (registry order). */
export function proxyOrder(name: string): number {
  return list.findIndex((p) => p.name === name);
}

/**
 * Names a proxy had before, lower-case, with what each is now: a request naming one is refused in
 * one line saying so (UnknownProxyError, and the CLI's proxy options).
 */
export const RETIRED_PROXIES: ReadonlyMap<string, string> = new Map([
  [
    'wrcor_module',
    "now 'wrcor' (WRCor definition 3: 2^module, the authors' weights; the former wrcor, 2^stage, is 'wrcor_stage')",
  ],
]);

/** A proxy name the registry does not have (the message lists the known ones, or says what a retired name is now). */
export class UnknownProxyError extends RangeError {
  override readonly name = 'UnknownProxyError';
  constructor(readonly proxy: string) {
    const now = RETIRED_PROXIES.get(String(proxy).trim().toLowerCase());
    super(
      now
        ? `proxy '${proxy}' is ${now}`
        : `unknown proxy '${proxy}'; known: ${[...proxies.keys(), ...aggregators.keys(), ALL].join(', ')}`,
    );
  }
}

/**
 * A population-level score (the vote, AZ-NAS's and VKDNW's rank aggregates, the ensemble) asked of
 * one network: it ranks a scored population by its members' scores, so one network has none.
 */
export class PopulationProxyError extends RangeError {
  override readonly name = 'PopulationProxyError';
  constructor(
    readonly proxies: readonly string[],
    fn: string,
  ) {
    const members = [...new Set(proxies.flatMap((n) => aggregators.get(n)?.members ?? []))];
    const list = proxies.map((n) => `'${n}'`).join(', ');
    super(
      `${fn} scores one network, and ${proxies.join(', ')} ${proxies.length > 1 ? 'rank' : 'ranks'} a population by the scores of ${members.join(', ')}: ` +
        `score the population, then rank it: rows = await scoreAll(new ZeroShotScorer(backend, [${list}], { ...ZERO_SHOT_DEFAULTS, batch }), cells); addAggregates(rows, [${list}])`,
    );
  }
}

/**
 * A request's names, trimmed and lower-cased. Anything but an array of strings throws one line
 * naming the entry (a definition object passed where its name belongs, say).
 */
export function proxyNames(names: readonly string[], fn: string): string[] {
  if (!Array.isArray(names)) throw new TypeError(`${fn}: proxies must be an array of proxy names, got ${describeValue(names)}`);
  return names.map((raw: unknown, i) => {
    if (typeof raw === 'string') return raw.trim().toLowerCase();
    const named = raw && typeof raw === 'object' && 'name' in raw ? ` (its name is ${describeValue(raw.name)})` : '';
    throw new TypeError(
      `${fn}: proxy list entry ${i} is ${describeValue(raw)}, not a name${named}; register a definition with registerProxy(def) and pass its name`,
    );
  });
}

/** Refuses aggregators named in a request for one network's scores ('all' means every per-network proxy there). */
export function checkPerNetwork(names: readonly string[], fn: string): void {
  const aggs = proxyNames(names, fn).filter((n) => aggregators.has(n));
  if (aggs.length) throw new PopulationProxyError([...new Set(aggs)], fn);
}

/**
 * The per-network proxies to compute for requested names: an aggregator brings its members, 'all'
 * every proxy (registered ones too). Throws UnknownProxyError on an unknown name, listing the known ones.
 */
export function resolveProxies(names: readonly string[], fn = 'resolveProxies'): ProxyInfo[] {
  const out: ProxyInfo[] = [];
  const given = proxyNames(names, fn);
  for (const [i, name] of given.entries()) {
    if (name === ALL) return list.slice();
    const agg = aggregators.get(name);
    if (agg) {
      for (const m of agg.members) if (!out.some((p) => p.name === m)) out.push(proxies.get(m)!);
      continue;
    }
    const p = proxies.get(name);
    if (!p) throw new UnknownProxyError(names[i]);
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** The aggregators a request asks for ('all' asks for every one). */
export function requestedAggregators(names: readonly string[], fn = 'requestedAggregators'): AggregatorDef[] {
  const want = proxyNames(names, fn);
  return [...aggregators.values()].filter((a) => want.includes(a.name) || want.includes(ALL));
}

/**
 * The search scorer of a proxy or aggregator name: a search steers by the raw score of a proxy, or
 * by an aggregator's own rule over the architectures evaluated so far (src/search/population.ts),
 * and answers with the best by the final ranking. Feed it each architecture's raw scores (the
 * aggregator's members: resolveProxies([name])).
 */
export function populationScorer<A>(name: string): PopulationScorer<A> {
  const [n] = proxyNames([name], 'populationScorer');
  if (!proxies.has(n) && !aggregators.has(n)) throw new UnknownProxyError(name);
  return new PopulationScorer<A>(n, aggregators.get(n));
}
