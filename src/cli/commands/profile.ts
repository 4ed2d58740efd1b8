/** wgnas profile: measure the per-op latency lookup table of a search space on this CPU. */
import { existsSync } from 'node:fs';
import { buildLatencyTable } from '../../latency/profiler.js';
import { proxylessSpace, spaceKeys } from '../../latency/space.js';
import { Progress } from '../../util/progress.js';
import { UsageError } from '../errors.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import type { ValuesOf } from '../spec.js';
import { PROFILE, type PROFILE_OPTIONS } from '../specs/profile.js';

export const summary = PROFILE.summary;

async function profile(values: ValuesOf<typeof PROFILE_OPTIONS>, { io }: RunContext): Promise<void> {
  if (!values.resume && !values.force && existsSync(values.out!)) {
    throw new UsageError(`--out ${values.out} already exists: pass --resume to continue it or --force to overwrite it`);
  }
  const flush = values['cache-flush'];
  const flushBytes = flush === 'auto' ? 'auto' : flush === 'off' ? 0 : Number(flush);
  const space = proxylessSpace({ inputSize: values.resolution });
  let keys = spaceKeys(space);
  if (values.limit !== undefined) keys = keys.slice(0, values.limit);

  const started = Date.now();
  let bar: Progress | undefined;
  const res = await buildLatencyTable({
    keys,
    out: values.out,
    resume: values.resume,
    force: values.force,
    backend: values.backend,
    threads: values.threads,
    repeats: values.repeats,
    warmup: values.warmup,
    maxTimeMs: values['max-time-ms'],
    pin: !values['no-pin'],
    flushBytes,
    meta: { space: values.space, resolution: String(values.resolution) },
    onStaleLock: (o) => io.err(`note: ${values.out} was locked by process ${o.pid}, which is gone: taking it over\n`),
    // The first call reports the entries kept by --resume; the ETA counts only what is measured now.
    onProgress: (done, total, key, entry) => {
      bar ??= new Progress(total, 'profile', process.stderr, { quiet: values.quiet, initial: done });
      bar.update(done, entry ? `${entry.mean.toFixed(3)} ms  ${key}` : undefined);
    },
  });
  bar?.done();
  io.out(
    `wrote ${values.out}: ${res.table.entries.size} entries (${res.measured} measured, ${res.reused} reused) in ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

export const handlers = { profile };
export const run = (argv: string[]) => runCommand(PROFILE, argv, selfResolve('profile', handlers));
