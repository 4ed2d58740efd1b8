/**
 * What work on destroyed devices failed with that no read or sync came to report (a run's last
 * dispatches, with nothing read after them): Dawn would only have printed it. The end of a command
 * takes it, so that such a run fails instead of ending as if it had succeeded. A module of its own:
 * the CLI's entry takes it without loading the GPU stack.
 */
let unreported: Array<Promise<Error | null>> = [];

/** Gpu.destroy(): the error its last work failed with, or null, once known. */
export function noteUnreported(error: Promise<Error | null>): void {
  // Never a rejection left unhandled where no command comes to take it (a library's caller).
  const settled = error.catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  unreported.push(settled);
  // A device whose work ended well leaves nothing behind (a library that creates many keeps no list).
  void settled.then((e) => {
    if (e === null) unreported = unreported.filter((x) => x !== settled);
  });
}

/** The first error that devices destroyed since the last call left unreported, or null. */
export async function unreportedGpuError(): Promise<Error | null> {
  const pending = unreported;
  unreported = [];
  return (await Promise.all(pending)).find((e) => e !== null) ?? null;
}
