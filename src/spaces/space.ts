/** A search space as the search strategies see it: sampling, mutation and a categorical encoding. */
import type { Rng } from '../util/rng.js';

export interface SearchSpace<A> {
  readonly name: string;
  /** Number of options of each categorical choice; `encode` returns one index per entry. */
  readonly choiceSizes: readonly number[];
  sample(rng: Rng): A;
  /** A neighbour that differs from `a` (never `a` itself). */
  mutate(a: A, rng: Rng): A;
  /** Identity for caching/dedup: equal keys mean equal architectures (possibly up to equivalence). */
  key(a: A): string;
  encode(a: A): number[];
  decode(choices: number[]): A;
  format(a: A): string;
  parse(s: string): A;
}

/** Checks a choice vector against `choiceSizes`, throwing a message that names the bad position. */
export function checkChoices(space: { name: string; choiceSizes: readonly number[] }, choices: readonly number[]): void {
  if (choices.length !== space.choiceSizes.length) {
    throw new RangeError(`${space.name}: expected ${space.choiceSizes.length} choices, got ${choices.length}`);
  }
  choices.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c >= space.choiceSizes[i]) {
      throw new RangeError(`${space.name}: choice ${i} is ${c}, must be an integer in [0, ${space.choiceSizes[i]})`);
    }
  });
}

/**
 * A plain product of categorical choices (architecture = its choice vector). Handy as a toy
 * space for testing strategies and for spaces that need no structure beyond independent choices.
 */
export function categoricalSpace(name: string, choiceSizes: readonly number[]): SearchSpace<number[]> {
  if (!choiceSizes.length || choiceSizes.some((k) => !Number.isInteger(k) || k < 1)) {
    throw new RangeError(`${name}: choice sizes must be positive integers, got [${choiceSizes.join(', ')}]`);
  }
  const space: SearchSpace<number[]> = {
    name,
    choiceSizes: [...choiceSizes],
    sample: (rng) => choiceSizes.map((k) => rng.int(k)),
    mutate(a, rng) {
      const mutable = choiceSizes.map((k, i) => (k > 1 ? i : -1)).filter((i) => i >= 0);
      if (!mutable.length) throw new RangeError(`${name}: every choice has one option, nothing to mutate`);
      const i = rng.pick(mutable);
      const b = [...a];
      b[i] = (a[i] + 1 + rng.int(choiceSizes[i] - 1)) % choiceSizes[i];
      return b;
    },
    key: (a) => a.join(','),
    encode: (a) => {
      checkChoices(space, a);
      return [...a];
    },
    decode: (c) => {
      checkChoices(space, c);
      return [...c];
    },
    format: (a) => a.join(','),
    parse: (s) => {
      const c = s.split(',').map((t) => Number(t.trim()));
      checkChoices(space, c);
      return c;
    },
  };
  return space;
}
