/**
 * The proxy registry: every per-network proxy (one file each) and every population-level
 * aggregator, in report order. Adding a proxy (AZ-NAS, VKDNW, ...) or an aggregator (an ensemble)
 * is a new file with defineProxy / defineProxyFamily / defineAggregator plus one entry below;
 * groupable sets, vote members, 'all' and the CLI's lists follow from here.
 *
 * Degenerate networks: parameters no gradient reaches count as zero gradient. On a cell whose
 * output node receives nothing (its logits do not depend on the input) the proxies defined as a
 * log of a signal that is then zero give -Infinity (synflow, zen, jacob_cov; naswot when every
 * ReLU input is constant; wrcor_grad when no ReLU gets a gradient) and the gradient sums give 0
 * (grad_norm, snip, zico); each proxy's file says why. Rankings (vote, util/ranks) put non-finite
 * scores last.
 */
import { azNas, azNasAggregate } from './az-nas.js';
import type { AggregatorDef, ProxyUnit } from './define.js';
import { ensemble } from './ensemble.js';
import { flops } from './flops.js';
import { gradNorm } from './grad-norm.js';
import { jacobCov } from './jacob-cov.js';
import { meco } from './meco.js';
import { naswot } from './naswot.js';
import { params } from './params.js';
import { snip } from './snip.js';
import { synflow } from './synflow.js';
import { vkdnw, vkdnwAggregate } from './vkdnw.js';
import { vote } from './vote.js';
import { wrcor } from './wrcor.js';
import { zen } from './zen.js';
import { zico } from './zico.js';

const UNITS: readonly ProxyUnit[] = [
  wrcor,
  naswot,
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
const AGGREGATOR_LIST: readonly AggregatorDef[] = [vote, azNasAggregate, vkdnwAggregate, ensemble];

export interface ProxyInfo {
  name: string;
  /** The pass it reads (runs once per network for every proxy on it). */
  pass: string;
  description: string;
  groupable: boolean;
  /** Two of its scores of one network within this, relative, are the same score (define.ts DEFAULT_MERGE_RTOL). */
  mergeRtol: number;
  unit: ProxyUnit;
}

const list: ProxyInfo[] = UNITS.flatMap((unit) =>
  unit.names.map((name, i) => ({
    name,
    pass: unit.pass.name,
    description: unit.descriptions[i],
    groupable: unit.groupable,
    mergeRtol: unit.mergeRtols[i],
    unit,
  })),
);

export const PROXIES: ReadonlyMap<string, ProxyInfo> = new Map(list.map((p) => [p.name, p]));
export const AGGREGATORS: ReadonlyMap<string, AggregatorDef> = new Map(AGGREGATOR_LIST.map((a) => [a.name, a]));

for (const name of [...AGGREGATORS.keys(), 'all']) {
  if (PROXIES.has(name)) throw new Error(`proxy registry: '${name}' is registered twice`);
}
if (PROXIES.size !== list.length) throw new Error('proxy registry: a proxy name is registered twice');
for (const a of AGGREGATORS.values()) {
  const missing = a.members.filter((m) => !PROXIES.has(m));
  if (missing.length) throw new Error(`aggregator '${a.name}': unknown member(s) ${missing.join(', ')}`);
}

/** Proxies that several architectures can share a pass (batched correlation dispatches) for. */
export const GROUPABLE_PROXIES: ReadonlySet<string> = new Set(list.filter((p) => p.groupable).map((p) => p.name));

/** The vote's members (WRCor, SynFlow, jacob_cov). */
export const VOTE_MEMBERS: readonly string[] = vote.members;

/** Index of a proxy in report order (registry order). */
export function proxyOrder(name: string): number {
  return list.findIndex((p) => p.name === name);
}

/** A proxy name the registry does not have (the message lists the known ones). */
export class UnknownProxyError extends RangeError {
  override readonly name = 'UnknownProxyError';
  constructor(readonly proxy: string) {
    super(`unknown proxy '${proxy}'; known: ${[...PROXIES.keys(), ...AGGREGATORS.keys(), 'all'].join(', ')}`);
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
    const members = [...new Set(proxies.flatMap((n) => AGGREGATORS.get(n)?.members ?? []))];
    const list = proxies.map((n) => `'${n}'`).join(', ');
    super(
      `${fn} scores one network, and ${proxies.join(', ')} ${proxies.length > 1 ? 'rank' : 'ranks'} a population by the scores of ${members.join(', ')}: ` +
        `score the population, then rank it: rows = await scoreAll(new ZeroShotScorer(backend, [${list}], { ...ZERO_SHOT_DEFAULTS, batch }), cells); addAggregates(rows, [${list}])`,
    );
  }
}

/** Refuses aggregators named in a request for one network's scores ('all' means every per-network proxy there). */
export function checkPerNetwork(names: readonly string[], fn: string): void {
  const aggs = names.map((n) => n.trim().toLowerCase()).filter((n) => AGGREGATORS.has(n));
  if (aggs.length) throw new PopulationProxyError([...new Set(aggs)], fn);
}

/**
 * The per-network proxies to compute for requested names: an aggregator brings its members, 'all'
 * every proxy. Throws UnknownProxyError on an unknown name, listing the known ones.
 */
export function resolveProxies(names: readonly string[]): ProxyInfo[] {
  const out: ProxyInfo[] = [];
  for (const raw of names) {
    const name = raw.trim().toLowerCase();
    if (name === 'all') return list.slice();
    const agg = AGGREGATORS.get(name);
    if (agg) {
      for (const m of agg.members) if (!out.some((p) => p.name === m)) out.push(PROXIES.get(m)!);
      continue;
    }
    const p = PROXIES.get(name);
    if (!p) throw new UnknownProxyError(String(raw));
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** The aggregators a request asks for ('all' asks for every one). */
export function requestedAggregators(names: readonly string[]): AggregatorDef[] {
  const want = names.map((n) => n.trim().toLowerCase());
  return [...AGGREGATORS.values()].filter((a) => want.includes(a.name) || want.includes('all'));
}
