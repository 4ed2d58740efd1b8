/**
 * AutoSpace's per-layer populations of cells: each member keeps its own weights (a ParamStore and
 * SGD state) across iterations, a running fitness and how often it was mixed. Tournament selection,
 * and replacement of the worst member by a mutation of a tournament winner that fits the layer's
 * share of the MAdds budget.
 */
import type { Backend } from '../backend/index.js';
import { type Cell, type LayerShape, cellMadds, handDesignedCells, referenceCell, zeroCell } from '../mobilenet/cell.js';
import { CellModule } from '../mobilenet/cell-module.js';
import { mutateCell } from '../mobilenet/cell-mutation.js';
import { formatCell } from '../mobilenet/cell-text.js';
import { fixedMadds } from '../mobilenet/madds.js';
import { ParamStore } from '../nn/init.js';
import { WeightSgd } from '../nn/optim.js';
import { Rng } from '../util/rng.js';
import { mixSeed } from '../util/seed.js';
import type { EvolveConfig } from './evolve-config.js';

export interface Member {
  id: number;
  cell: Cell;
  key: string;
  madds: number;
  /** Running mean of K·p over the iterations it was mixed in; 1 before its first. */
  fitness: number;
  evaluated: number;
  reference: boolean;
  module: CellModule;
  store: ParamStore;
  sgd: WeightSgd;
}

/** A member as a checkpoint records it (its weights and momentum are in the checkpoint's binaries). */
export interface SavedMember {
  id: number;
  cell: Cell;
  fitness: number;
  evaluated: number;
  reference: boolean;
}

export interface SavedPopulations {
  nextId: number;
  members: SavedMember[][];
}

/**
 * Each layer's MAdds allowance: its share of the searchable budget (budget − skeleton), proportional
 * to the reference cell's MAdds there, times layerSlack.
 */
export function layerBudgets(
  cfg: Pick<EvolveConfig, 'budgetMadds' | 'layerSlack' | 'layout'>,
  shapes: readonly LayerShape[],
): number[] {
  const refMadds = shapes.map((sh) => cellMadds(referenceCell(sh), sh));
  const free = cfg.budgetMadds - fixedMadds(cfg.layout);
  const refTotal = refMadds.reduce((a, b) => a + b, 0);
  return refMadds.map((m) => (cfg.layerSlack * free * m) / refTotal);
}

/**
 * The layers whose reference cell exceeds their allowance (a budget below layerSlack⁻¹ x the
 * reference network's): the reference is left out of their populations, as any other cell that
 * does not fit, so it neither guides there nor ends in the learned space.
 */
export function referenceLeftOut(
  cfg: Pick<EvolveConfig, 'budgetMadds' | 'layerSlack' | 'layout'>,
  shapes: readonly LayerShape[],
): number[] {
  const budget = layerBudgets(cfg, shapes);
  return shapes.flatMap((sh, b) => (cellMadds(referenceCell(sh), sh) <= budget[b] ? [] : [b]));
}

export class Populations {
  readonly members: Member[][];
  /** Per-layer MAdds allowance for mutations. */
  readonly layerBudget: number[];
  private nextId = 0;

  /** `rng` is the evolution's own stream (shared with selection, so the draws interleave as they always have). */
  constructor(
    private readonly backend: Backend,
    private readonly cfg: EvolveConfig,
    readonly shapes: readonly LayerShape[],
    private readonly rng: Rng,
  ) {
    this.layerBudget = layerBudgets(cfg, shapes);

    // Warm start from the reference: the reference cell where it fits the layer's budget, then (init
    // 'hand-designed') the hand-designed candidates that fit, or (init 'reference') the zero cell where
    // the layer has a shortcut, so 'skip this layer' competes from the start; then mutations of the
    // reference (that fit) to fill the population.
    this.members = shapes.map((sh, b) => {
      const ref = referenceCell(sh);
      const pop: Member[] = this.fits(b, ref) ? [this.member(b, ref, true)] : [];
      const seen = new Set(pop.map((m) => m.key));
      const add = (c: Cell) => {
        const key = formatCell(c);
        if (pop.length >= cfg.populationSize || seen.has(key) || !this.fits(b, c)) return false;
        seen.add(key);
        pop.push(this.member(b, c, false));
        return true;
      };
      if (cfg.init === 'hand-designed') handDesignedCells(sh).forEach(add);
      else if (sh.stride === 1 && sh.inC === sh.outC) add(zeroCell());
      let parent = ref;
      for (let tries = 0; pop.length < cfg.populationSize && tries < 200 * cfg.populationSize; tries++) {
        const child = mutateCell(parent, sh, rng, { maxNodes: cfg.maxNodes });
        if (add(child)) parent = rng.next() < 0.5 ? ref : child; // explore one and two mutations away
      }
      if (!pop.length) {
        const share = (this.layerBudget[b] / 1e6).toFixed(3);
        throw new RangeError(
          `evolve-space: no cell fits layer ${b}'s share of the MAdds budget (${share} M MAdds of ${(cfg.budgetMadds / 1e6).toFixed(2)} M); raise the budget`,
        );
      }
      return pop;
    });
  }

  private fits(b: number, cell: Cell): boolean {
    return cellMadds(cell, this.shapes[b]) <= this.layerBudget[b];
  }

  private member(b: number, cell: Cell, reference: boolean, id = this.nextId++): Member {
    const store = new ParamStore(this.backend, new Rng(mixSeed(this.cfg.seed, 0xce11, id)));
    const module = new CellModule(store, `l${b}.m${id}`, cell, this.shapes[b], this.cfg.bnEps);
    const sgd = new WeightSgd(this.backend, store.params, { momentum: 0.9, nesterov: true, weightDecay: 4e-5 });
    return {
      id,
      cell,
      key: formatCell(cell),
      madds: cellMadds(cell, this.shapes[b]),
      fitness: 1,
      evaluated: 0,
      reference,
      module,
      store,
      sgd,
    };
  }

  private drop(m: Member): void {
    m.sgd.dispose();
    m.store.dispose();
  }

  /**
   * K distinct members of layer b by repeated tournaments (fittest of `tournamentSize` random
   * picks); while `guided`, the reference cell is always one of them (where the layer has it).
   */
  select(b: number, guided: boolean): Member[] {
    const pop = this.members[b];
    const k = Math.min(this.cfg.k, pop.length);
    const chosen: Member[] = [];
    const ref = guided ? pop.find((m) => m.reference) : undefined;
    if (ref) chosen.push(ref);
    while (chosen.length < k) {
      const rest = pop.filter((m) => !chosen.includes(m));
      let best: Member | null = null;
      for (let t = 0; t < Math.min(this.cfg.tournamentSize, rest.length); t++) {
        const c = this.rng.pick(rest);
        // Unevaluated cells win ties so every newcomer gets measured.
        if (!best || c.fitness > best.fitness || (c.fitness === best.fitness && c.evaluated < best.evaluated)) best = c;
      }
      chosen.push(best!);
    }
    return chosen;
  }

  /**
   * One replacement round: per layer, the worst evaluated member (the reference is protected while
   * `guided`) gives way to a mutation of a tournament winner. Returns how many were replaced.
   */
  replaceWorst(guided: boolean): number {
    let replaced = 0;
    this.members.forEach((pop, b) => {
      const protect = (m: Member) => m.reference && guided;
      const candidates = pop.filter((m) => m.evaluated >= this.cfg.minEvaluations && !protect(m));
      if (!candidates.length) return;
      const worst = candidates.reduce((w, m) => (m.fitness < w.fitness ? m : w));
      let parent = this.rng.pick(pop);
      for (let t = 1; t < this.cfg.tournamentSize; t++) {
        const c = this.rng.pick(pop);
        if (c.fitness > parent.fitness) parent = c;
      }
      if (parent === worst) return;
      const keys = new Set(pop.map((m) => m.key));
      for (let tries = 0; tries < 50; tries++) {
        let child: Cell;
        try {
          child = mutateCell(parent.cell, this.shapes[b], this.rng, { maxNodes: this.cfg.maxNodes });
        } catch {
          return;
        }
        const key = formatCell(child);
        if (keys.has(key) || !this.fits(b, child)) continue;
        const m = this.member(b, child, false);
        m.fitness = parent.fitness; // inherits its parent's standing until measured
        if (this.cfg.inheritWeights) m.module.inheritFrom(parent.module, (src, dst) => this.backend.copy(src.value, dst.value));
        pop[pop.indexOf(worst)] = m;
        this.drop(worst);
        replaced++;
        return;
      }
    });
    return replaced;
  }

  /** What a checkpoint keeps of the populations besides the weights (members named by id: their parameters' prefix). */
  saved(): SavedPopulations {
    return {
      nextId: this.nextId,
      members: this.members.map((pop) =>
        pop.map((m) => ({ id: m.id, cell: m.cell, fitness: m.fitness, evaluated: m.evaluated, reference: m.reference })),
      ),
    };
  }

  /**
   * Replaces the populations by a checkpoint's (their weights are loaded after, by parameter name):
   * each member is rebuilt as it was made, with its id, so its parameters carry the same names.
   */
  restore(s: SavedPopulations): void {
    this.dispose();
    s.members.forEach((pop, b) => {
      this.members[b] = pop.map((m) => {
        const member = this.member(b, m.cell, m.reference, m.id);
        member.fitness = m.fitness;
        member.evaluated = m.evaluated;
        return member;
      });
    });
    this.nextId = s.nextId;
  }

  /** Evaluated members first, then by fitness. */
  ranked(b: number): Member[] {
    return [...this.members[b]].sort((a, c) => Number(c.evaluated > 0) - Number(a.evaluated > 0) || c.fitness - a.fitness);
  }

  dispose(): void {
    for (const pop of this.members) for (const m of pop) this.drop(m);
  }
}
