/**
 * `npm run bench`'s command line: wgnas bench's own, with matmul and correlation when it names no
 * kernel, and the side-by-side table. What it names is decided by the CLI's own parser
 * (src/cli/parse.ts on BENCH's spec), so an option's value (`--device cpu`, `--only 64x64x64`,
 * `--compare run.json`) is never taken for a kernel, whatever options bench gains.
 */
import { parseCommand } from '../src/cli/parse.js';
import { BENCH } from '../src/cli/specs/bench.js';

export const DEFAULT_KERNELS = ['matmul', 'correlation'];

/**
 * The arguments for benchCommand. A line bench would refuse, and --help, pass on unchanged, so
 * bench itself says what is wrong.
 */
export function kernelsBenchArgs(args: readonly string[]): string[] {
  let parsed: ReturnType<typeof parseCommand>;
  try {
    parsed = parseCommand(BENCH, args);
  } catch {
    return [...args];
  }
  if (parsed.kind !== 'run') return [...args];
  const kernels = parsed.positionals.length ? [] : DEFAULT_KERNELS;
  const sideBySide = parsed.given.has('side-by-side') ? [] : ['--side-by-side'];
  return [...kernels, ...sideBySide, ...args];
}
