/**
 * Dawn's harmless start-up lines, kept off stderr. Dawn prints them from C++ (fprintf to fd 2) while
 * it enumerates adapters, so no JS console filter reaches them: the native addon points fd 2 at a
 * pipe for the duration of that call and forwards every other line at once (a real error is never
 * held back). The held lines go to a sink when one is set (the CLI's --verbose), else are kept for
 * heldDawnLines(). Without the addon, or with WGNAS_DAWN_STDERR=raw, stderr is left alone (Node has no
 * dup2, and Dawn no switch for these lines: they pass).
 * This module does not load Dawn, so the CLI can set the sink without loading the GPU stack.
 */
import { loadNative } from '../native/binding.js';

/** Substrings of the lines held back: Dawn capping lavapipe's 1000000 dynamic buffers to 16. */
export const DAWN_HARMLESS_PATTERNS: readonly string[] = ['PerPipelineLayout artificially reduced from'];

const held: string[] = [];
let sink: ((line: string) => void) | undefined;

/** Where held lines go from now on (each with its newline); the ones held so far go there first. */
export function setDawnLogSink(s: ((line: string) => void) | undefined): void {
  sink = s;
  if (s) for (const l of held.splice(0)) s(`${l}\n`);
}

/** The lines held back so far and not yet given to a sink. */
export function heldDawnLines(): readonly string[] {
  return held;
}

type Filter = { begin(patterns: readonly string[]): boolean; end(): string[] };

function nativeFilter(): Filter | undefined {
  if (process.env.WGNAS_DAWN_STDERR === 'raw') return undefined;
  try {
    return loadNative().stderrFilter;
  } catch {
    return undefined; // no addon: Dawn's lines pass through unfiltered
  }
}

/** Runs the synchronous `fn` (a Dawn call that may print the start-up lines) with fd 2 filtered. */
export function withDawnStderrFiltered<T>(fn: () => T): T {
  const filter = nativeFilter();
  const on = filter?.begin(DAWN_HARMLESS_PATTERNS) ?? false;
  try {
    return fn();
  } finally {
    if (on) {
      for (const l of filter!.end()) {
        if (sink) sink(`${l}\n`);
        else held.push(l);
      }
    }
  }
}
