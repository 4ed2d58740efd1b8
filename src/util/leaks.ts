/**
 * The safety net under tensors dropped without dispose(): each device registers the tensors that
 * own memory, and when the garbage collector finds one that still owned it, the device's `reclaim`
 * returns that memory and the tensor counts as leaked (Backend.memory().leakedTensors). Views and
 * windows own nothing and are not registered.
 *
 * It is a net, not a way to manage memory: the collector runs when the JS heap needs room and does
 * not see device memory (a few small JS objects may hold GiB of buffers), so dispose() stays the
 * rule. Reclaiming is as safe as dispose(): callbacks run on the main thread between tasks, never
 * inside an op, and both devices already order a freed buffer's reuse after the work queued on it.
 *
 * WGNAS_WARN_LEAKS=1 (read when the device opens) adds a process warning naming the leaked tensors'
 * shapes, once per collection.
 */

/** Shapes a warning names at most (the most frequent), and distinct shapes it counts at most. */
const SHAPES_NAMED = 5;
const SHAPES_COUNTED = 64;

/** The storage handle plus, with warnings on, the shape to name. */
class Named<H> {
  constructor(
    readonly held: H,
    readonly shape: readonly number[],
  ) {}
}

export class LeakTracker<H extends object | number> {
  private count = 0;
  private readonly warn = process.env.WGNAS_WARN_LEAKS === '1';
  private readonly registry: FinalizationRegistry<H | Named<H>>;
  /** Tensors reclaimed since the last warning, by shape (warnings on only). */
  private pending = new Map<string, number>();
  private pendingCount = 0;

  /**
   * `reclaim` returns a collected tensor's storage; it returns false where there was nothing to
   * return (the device was destroyed first), which is no leak.
   */
  constructor(
    private readonly backendName: string,
    reclaim: (held: H) => boolean,
  ) {
    this.registry = new FinalizationRegistry((v) => {
      const named = v instanceof Named;
      if (!reclaim(named ? v.held : v)) return;
      this.count++;
      if (named) this.noteWarning(v.shape);
    });
  }

  /** Tensors garbage-collected while they still owned memory. */
  get leaked(): number {
    return this.count;
  }

  /** Registers a tensor that owns `held` (not a view: it would free its base's memory). */
  track(tensor: object, held: H, shape: readonly number[]): void {
    this.registry.register(tensor, this.warn ? new Named(held, shape) : held, tensor);
  }

  /** The tensor gave its memory back itself (dispose()). */
  untrack(tensor: object): void {
    this.registry.unregister(tensor);
  }

  /** Collects one collection's leaks into one warning (the callbacks of one collection run in one task). */
  private noteWarning(shape: readonly number[]): void {
    if (this.pendingCount++ === 0) queueMicrotask(() => this.emitWarning());
    const key = `[${shape.join(', ')}]`;
    const n = this.pending.get(key);
    if (n !== undefined || this.pending.size < SHAPES_COUNTED) this.pending.set(key, (n ?? 0) + 1);
  }

  private emitWarning(): void {
    const n = this.pendingCount;
    const top = [...this.pending].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, SHAPES_NAMED);
    const named = top.reduce((a, [, k]) => a + k, 0);
    const shapes = top.map(([shape, k]) => `${k} x ${shape}`).join(', ') + (named < n ? `, ${n - named} others` : '');
    process.emitWarning(
      `wgnas: ${n} tensor${n === 1 ? '' : 's'} garbage-collected without dispose() on the ${this.backendName} backend (${shapes}); ` +
        `their memory was reclaimed (${this.count} since it opened). Call dispose() on each tensor when done with it.`,
      'TensorLeakWarning',
    );
    this.pending = new Map();
    this.pendingCount = 0;
  }
}
