/**
 * The line a run ends with when the GPU fails under it (docs/reliability.md): what happened (out of
 * memory with the size asked for, or the device lost with Dawn's reason), what to change (the
 * command's own advice, e.g. score's --group, else its --batch), and how to continue (--resume,
 * where the command resumes and has kept its work; its rows and checkpoints are on disk by then).
 */
import { GpuDeviceLostError, GpuOutOfMemoryError } from '../gpu/errors.js';
import { plural } from '../util/format.js';
import { continueHint, runningCommand } from './interrupt.js';

/** What to lower where the command set no advice of its own: its batch options, as given. */
function batchAdvice(): string {
  const run = runningCommand();
  const flags = ['batch', 'val-batch'].filter((f) => run?.options.includes(f));
  const lower = flags.map((f) => {
    const v = run?.values[f];
    return typeof v === 'number' ? `--${f} (${v} now)` : `--${f}`;
  });
  const memory = 'free the GPU memory other processes hold';
  return lower.length ? `lower ${lower.join(' or ')} or ${memory}` : memory;
}

/**
 * A GPU failure's error with the advice and the way to continue on its line (a message for the
 * user: printed alone, exit code 1); any other error as it is.
 */
export function withGpuAdvice(e: unknown): unknown {
  if (!(e instanceof GpuOutOfMemoryError) && !(e instanceof GpuDeviceLostError)) return e;
  const what =
    e instanceof GpuOutOfMemoryError
      ? `${e.message}: ${e.advice ?? batchAdvice()}`
      : `${e.message}: the driver reset or the GPU failed (its log: dmesg, nvidia-smi)`;
  e.message = `${what}; ${continueHint() ?? 'run the command again'}`;
  return e;
}

/**
 * A GPU failure as a child process sends it to its parent (score --procs: an error does not cross
 * the IPC channel as its class), which fails with the error it stands for (gpuFailureError).
 */
export type GpuFailure =
  | { kind: 'out-of-memory'; message: string; bytes?: number; advice?: string }
  | { kind: 'device-lost'; reason: string; detail: string };

/** `e` as a GpuFailure, where it is one. */
export function gpuFailureOf(e: unknown): GpuFailure | undefined {
  if (e instanceof GpuOutOfMemoryError) return { kind: 'out-of-memory', message: e.message, bytes: e.bytes, advice: e.advice };
  if (e instanceof GpuDeviceLostError) return { kind: 'device-lost', reason: e.reason, detail: e.detail };
  return undefined;
}

/** The error a child's GPU failure stands for: the parent's line is the one a single process prints. */
export function gpuFailureError(f: GpuFailure): GpuOutOfMemoryError | GpuDeviceLostError {
  if (f.kind === 'device-lost') return new GpuDeviceLostError(f.reason, f.detail);
  return Object.assign(new GpuOutOfMemoryError(f.bytes, ''), { message: f.message, advice: f.advice });
}

/**
 * What to change when scoring ran out of GPU memory where it cannot go on by itself (a fixed
 * --group, or --group auto down to one cell): `cells`, the group that failed.
 */
export function scoreOomAdvice(group: number | 'auto', cells: number, batch: number): string {
  const lower = `lower --batch (${batch} now) or free the GPU memory other processes hold`;
  if (group === 'auto') return `at one cell per pass (--group auto can go no lower): ${lower}`;
  if (group > 1 && cells > 1)
    return `at a group of ${plural(cells, 'cell')} (--group ${group}): use a smaller --group (e.g. --group ${Math.max(1, Math.floor(cells / 2))}) or --group auto, which halves a group that runs out`;
  return `at one cell per pass: ${lower}`;
}
