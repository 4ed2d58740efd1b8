/**
 * The units the proxy registry is made of.
 *
 * A pass is one computation on one network that proxies read: the cross-entropy forward/backward
 * tape (WRCor, NASWOT, grad_norm, SNIP), the input Jacobian, SynFlow's linearised network, ... The
 * runner (runner.ts) builds each requested pass once per network, hands its result to every
 * requested proxy that reads it, and releases it.
 *
 * A proxy names the pass it reads, what it needs of it, whether several networks can be scored
 * together, and how the pass's result becomes its score. Scores are oriented so that higher
 * predicts better accuracy, as in the NASLib / zero-cost literature. A family (WRCor and its
 * ablations) is several scores of one computation: asking for one reports them all.
 *
 * An aggregator (the vote) ranks a scored population from its member proxies' scores.
 */
import type { Backend, Tensor } from '../backend/index.js';
import type { NetFactory, ScorableNet } from '../nn/scorable.js';
import type { PopulationRule, ScoreRow } from '../search/population.js';

export type { PopulationRule, ScoreRow };

export interface ProxyBatch {
  /** Normalised images, NCHW [n, 3, size, size]. */
  x: Float32Array;
  /** Labels as f32 class indices [n], each an integer in [0, classes). */
  y: Float32Array;
  n: number;
  /** Image side (default 32; 224 for the ImageNet layout). */
  size?: number;
  /**
   * The dataset's class count (proxyMinibatch's batches carry it): the scored network's classifier
   * gets this many outputs. A minibatch may lack the top classes, so it is not guessed from the labels.
   */
  classes?: number;
}

/** The batch's images as a tensor shape, for `n` of them. */
export function imageShape(batch: ProxyBatch, n = batch.n): [number, number, number, number] {
  const s = batch.size ?? 32;
  return [n, 3, s, s];
}

/** Floats per image of the batch. */
export function imageFloats(batch: ProxyBatch): number {
  return 3 * (batch.size ?? 32) ** 2;
}

/** One network being scored: what every pass may read. */
export interface NetContext {
  readonly backend: Backend;
  readonly factory: NetFactory;
  /** Initialised from `seed` (PyTorch's defaults unless the run asks otherwise), built once per network (a pass that changes it runs last). */
  readonly net: ScorableNet;
  readonly batch: ProxyBatch;
  /** batch.x on the backend, [n, 3, size, size]. */
  readonly x: Tensor;
  /** batch.y on the backend, [n]. */
  readonly y: Tensor;
  readonly seed: number;
}

/** What a proxy asks of its pass; the runner merges the asks of every requested proxy on the pass. */
export interface PassNeeds {
  /** A backward pass from the loss (activation gradients). */
  backward?: boolean;
  /** Gradients of the weights as well. */
  paramGrads?: boolean;
}

export interface PassDef<R> {
  readonly name: string;
  /** Passes run in ascending order. */
  readonly order: number;
  /**
   * The pass changes the network (SynFlow takes |W|): it runs after every other pass, and a second
   * such pass gets a freshly built copy.
   */
  readonly mutatesNet?: boolean;
  /** Report the pass's wall time in CellScores.timeMs under its name (default true). */
  readonly timed?: boolean;
  run(ctx: NetContext, needs: PassNeeds): Promise<R>;
  /** Frees what run() made, once every proxy has read it (also when one of them threw). */
  release?(result: R, ctx: NetContext): void;
}

const NAME = /^[a-z][a-z0-9_]*$/;

/** A value as a one-line error shows it. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return 'an array';
  if (v && typeof v === 'object') return 'an object';
  return String(v);
}

function checkName(what: string, name: unknown): void {
  if (typeof name !== 'string' || !NAME.test(name))
    throw new TypeError(`${what} name ${describeValue(name)} must be a string of lower-case letters, digits and '_'`);
}

/** One-line TypeError unless `def[key]` is a function (what define* and register* check of a hand-made def). */
function checkFunction(what: string, def: object, key: string, optional = false): void {
  const v = (def as Record<string, unknown>)[key];
  if (optional && v === undefined) return;
  if (typeof v !== 'function') throw new TypeError(`${what}: ${key} must be a function, got ${describeValue(v)}`);
}

export function definePass<R>(def: PassDef<R>): PassDef<R> {
  if (!def || typeof def !== 'object') throw new TypeError(`definePass: expected a pass definition, got ${describeValue(def)}`);
  checkName('pass', def.name);
  if (typeof def.order !== 'number')
    throw new TypeError(`pass '${def.name}': order must be a number, got ${describeValue(def.order)}`);
  checkFunction(`pass '${def.name}'`, def, 'run');
  checkFunction(`pass '${def.name}'`, def, 'release', true);
  return Object.freeze({ ...def });
}

interface UnitCommon<R> {
  pass: PassDef<R>;
  needs?: PassNeeds;
  /**
   * Several networks' results of this pass can be alive together and scored in one go (`score
   * --group`). Without computeMany the runner calls compute on each.
   */
  groupable?: boolean;
}

/**
 * Two scores of one network are the same score, for merging score files (correlate --scores), when
 * they differ by at most this relative to the larger: a proxy that gives none. What the device (CPU
 * backend or GPU), the CPU thread count and --group-mode move a score by depends on the proxy (a
 * sum of gradients is more sensitive to rounding than a log-determinant): each built-in sets its
 * own `mergeRtol` from measurements (docs/reliability.md has the table).
 */
export const DEFAULT_MERGE_RTOL = 1e-5;

export interface ProxyDef<R> extends UnitCommon<R> {
  name: string;
  description: string;
  /** Its merge tolerance (DEFAULT_MERGE_RTOL's doc): relative, measured across devices and thread counts with margin. */
  mergeRtol?: number;
  compute(result: R, ctx: NetContext): Promise<number> | number;
  /** The group's scores at once (batched dispatches across networks), in ctxs' order. */
  computeMany?(results: readonly R[], ctxs: readonly NetContext[]): Promise<number[]>;
}

export interface ProxyFamilyDef<R, K extends string> extends UnitCommon<R> {
  /** Name -> description of each score, in the order they are reported. */
  members: Record<K, string>;
  /** The members' merge tolerances (ProxyDef.mergeRtol): one for all, or each its own. */
  mergeRtol?: number | Record<K, number>;
  compute(result: R, ctx: NetContext): Promise<Record<K, number>>;
  computeMany?(results: readonly R[], ctxs: readonly NetContext[]): Promise<Array<Record<K, number>>>;
}

/** A registered unit: one proxy, or a family of scores computed together. */
export interface ProxyUnit {
  readonly names: readonly string[];
  readonly descriptions: readonly string[];
  /** Each name's merge tolerance (DEFAULT_MERGE_RTOL where the definition gives none). */
  readonly mergeRtols: readonly number[];
  readonly pass: PassDef<unknown>;
  readonly needs: Readonly<PassNeeds>;
  readonly groupable: boolean;
  compute(result: unknown, ctx: NetContext): Promise<Record<string, number>>;
  computeMany(results: readonly unknown[], ctxs: readonly NetContext[]): Promise<Array<Record<string, number>>>;
}

function unit<R>(
  names: string[],
  descriptions: string[],
  mergeRtols: number[],
  common: UnitCommon<R>,
  compute: (r: R, ctx: NetContext) => Promise<Record<string, number>>,
  many: ((rs: readonly R[], ctxs: readonly NetContext[]) => Promise<Array<Record<string, number>>>) | undefined,
): ProxyUnit {
  names.forEach((n) => checkName('proxy', n));
  if (!names.length) throw new Error('a proxy family needs at least one member');
  mergeRtols.forEach((t, i) => {
    if (!(t >= 0 && t < 1)) throw new Error(`proxy '${names[i]}': mergeRtol must be in [0, 1), got ${t}`);
  });
  descriptions.forEach((d, i) => {
    if (typeof d !== 'string') throw new TypeError(`proxy '${names[i]}': description must be a string, got ${describeValue(d)}`);
  });
  const p = common.pass as unknown;
  if (!p || typeof p !== 'object' || typeof (p as PassDef<R>).run !== 'function' || typeof (p as PassDef<R>).name !== 'string')
    throw new TypeError(
      `proxy '${names[0]}': pass must be a pass (definePass, or a built-in such as cePass), got ${describeValue(p)}`,
    );
  const computeMany =
    many ??
    (async (rs: readonly R[], ctxs: readonly NetContext[]) => {
      const out: Array<Record<string, number>> = [];
      for (let i = 0; i < rs.length; i++) out.push(await compute(rs[i], ctxs[i]));
      return out;
    });
  const u: ProxyUnit = Object.freeze({
    names: Object.freeze(names),
    descriptions: Object.freeze(descriptions),
    mergeRtols: Object.freeze(mergeRtols),
    pass: common.pass as PassDef<unknown>,
    needs: Object.freeze({ ...common.needs }),
    groupable: common.groupable ?? false,
    compute: compute as ProxyUnit['compute'],
    computeMany: computeMany as ProxyUnit['computeMany'],
  });
  UNITS.add(u);
  return u;
}

const UNITS = new WeakSet<ProxyUnit>();

/** True for what defineProxy / defineProxyFamily return (what the registry takes). */
export function isProxyUnit(x: unknown): x is ProxyUnit {
  return typeof x === 'object' && x !== null && UNITS.has(x as ProxyUnit);
}

export function defineProxy<R>(def: ProxyDef<R>): ProxyUnit {
  if (!def || typeof def !== 'object') throw new TypeError(`defineProxy: expected a proxy definition, got ${describeValue(def)}`);
  const { name } = def;
  checkName('proxy', name);
  checkFunction(`proxy '${name}'`, def, 'compute');
  checkFunction(`proxy '${name}'`, def, 'computeMany', true);
  return unit(
    [name],
    [def.description],
    [def.mergeRtol ?? DEFAULT_MERGE_RTOL],
    def,
    async (r, ctx) => ({ [name]: await def.compute(r, ctx) }),
    def.computeMany && (async (rs, ctxs) => (await def.computeMany!(rs, ctxs)).map((v) => ({ [name]: v }))),
  );
}

export function defineProxyFamily<R, K extends string>(def: ProxyFamilyDef<R, K>): ProxyUnit {
  if (!def || typeof def !== 'object' || !def.members || typeof def.members !== 'object')
    throw new TypeError(`defineProxyFamily: expected a definition with members {name: description}, got ${describeValue(def)}`);
  const names = Object.keys(def.members) as K[];
  names.forEach((n) => checkName('proxy', n));
  checkFunction(`proxy family '${names[0]}'`, def, 'compute');
  checkFunction(`proxy family '${names[0]}'`, def, 'computeMany', true);
  // Report exactly the members, in their declared order, whatever else compute returns.
  const pick = (s: Record<K, number>) => Object.fromEntries(names.map((k) => [k, s[k]]));
  const rtol = def.mergeRtol;
  return unit(
    names,
    names.map((k) => def.members[k]),
    names.map((k) => (typeof rtol === 'object' ? rtol[k] : rtol) ?? DEFAULT_MERGE_RTOL),
    def,
    async (r, ctx) => pick(await def.compute(r, ctx)),
    def.computeMany && (async (rs, ctxs) => (await def.computeMany!(rs, ctxs)).map(pick)),
  );
}

/**
 * A population-level score (the vote): one value per row from its members' scores of all rows
 * (`aggregate`), and the value a search steers by as each row arrives (`online`; default: the
 * newest row's aggregate over the rows so far): src/search/population.ts's PopulationRule.
 */
export interface AggregatorDef extends PopulationRule {
  readonly name: string;
  readonly description: string;
  /** Per-network proxies every row must carry; asking for the aggregator scores them. */
  readonly members: readonly string[];
  aggregate(rows: readonly ScoreRow[]): number[];
  online?(rows: readonly ScoreRow[]): number;
}

export function defineAggregator(def: AggregatorDef): AggregatorDef {
  if (!def || typeof def !== 'object')
    throw new TypeError(`defineAggregator: expected an aggregator definition, got ${describeValue(def)}`);
  checkName('aggregator', def.name);
  if (typeof def.description !== 'string')
    throw new TypeError(`aggregator '${def.name}': description must be a string, got ${describeValue(def.description)}`);
  if (!Array.isArray(def.members) || !def.members.length || def.members.some((m) => typeof m !== 'string'))
    throw new TypeError(
      `aggregator '${def.name}' needs members: a non-empty array of proxy names, got ${describeValue(def.members)}`,
    );
  checkFunction(`aggregator '${def.name}'`, def, 'aggregate');
  checkFunction(`aggregator '${def.name}'`, def, 'online', true);
  // Called on `def` (a class instance's methods live on its prototype, which a copy loses) and
  // checked: a value per row, else the rows' values (and a search's answer) would shift silently.
  const { name } = def;
  const aggregate = (rows: readonly ScoreRow[]): number[] => {
    const v: unknown = def.aggregate(rows);
    if (!Array.isArray(v) || v.length !== rows.length)
      throw new TypeError(
        `aggregator '${name}': aggregate must return one number per row, got ${Array.isArray(v) ? `${v.length} values` : describeValue(v)} for ${rows.length} rows`,
      );
    return v as number[];
  };
  const online = def.online
    ? (rows: readonly ScoreRow[]): number => {
        const v: unknown = def.online!(rows);
        if (typeof v !== 'number')
          throw new TypeError(`aggregator '${name}': online must return a number, got ${describeValue(v)}`);
        return v;
      }
    : undefined;
  return Object.freeze({
    ...def,
    name,
    description: def.description,
    members: Object.freeze([...def.members]),
    aggregate,
    ...(online ? { online } : {}),
  });
}
