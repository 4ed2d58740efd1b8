/** wgnas profile: measure the per-op latency lookup table of a search space on this CPU, a target CPU or the GPU. */
import { existsSync, readFileSync } from 'node:fs';

import { webgpuBackend } from '../../backend/index.js';
import { acquireGpu } from '../../gpu/adapter.js';
import { cellSpaceKeys } from '../../mobilenet/cell-latency-keys.js';
import { gpuTableSource } from '../../mobilenet/gpu-profiler.js';
import { nativeTableSource } from '../../latency/profiler.js';
import { remoteTableSource } from '../../latency/remote-profiler.js';
import { proxylessSpace, spaceKeys } from '../../latency/space.js';
import { flushStamp } from '../../latency/profiler.js';
import { autoFlushFor, keysBytes, SMALL_NETWORK_BYTES, supernetBytes } from '../../latency/working-set.js';
import { cellSpaceBytes } from '../../mobilenet/cost/measured.js';
import {
  buildTable,
  checkResumeSettings,
  readTableForResume,
  type ResumedTable,
  tableLockPath,
  type TableSource,
} from '../../latency/table-writer.js';
import { CIFAR_LAYOUT, layoutSpace } from '../../mobilenet/layout.js';
import { readSpaceFile } from '../../mobilenet/space-file.js';
import { checkNotInUse, sha256Hex, writeTarget } from '../../util/durable.js';
import { LOG_LINES, Progress } from '../../util/progress.js';
import { UsageError } from '../errors.js';
import { netParts, readNetArch } from '../network.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import type { ValuesOf } from '../spec.js';
import { PROFILE, type PROFILE_OPTIONS } from '../specs/profile.js';
import { queuedProfileSource } from '../profile-queued.js';

export const summary = PROFILE.summary;

type Values = ValuesOf<typeof PROFILE_OPTIONS>;

/**
 * The keys to measure, the stamp fields naming the space, and the bytes its largest network touches
 * (--cache-flush auto; for one network, every layer of it).
 */
function spaceOf(values: Values, given: ReadonlySet<string>): { keys: string[]; meta: Record<string, string>; bytes: number } {
  if (values.net) {
    // One network's ops, once each, in the network's order; named by content, as a space file is.
    const net = readNetArch(values.net, given.has('resolution') ? values.resolution : undefined);
    const meta = {
      space: `network ${sha256Hex(readFileSync(values.net)).slice(0, 16)}`,
      resolution: String(net.inputSize),
    };
    const parts = netParts(net).map((p) => p.key);
    return { keys: [...new Set(parts)], meta, bytes: keysBytes(parts) };
  }
  const file = values['space-file'];
  if (file) {
    const space = readSpaceFile(file);
    // Named by content, so a resume finds the same space wherever the file now lives.
    const meta = {
      space: `cell space ${sha256Hex(readFileSync(file)).slice(0, 16)} (${space.file.source}, layout ${space.layout.name})`,
      resolution: String(space.layout.inputSize),
    };
    return { keys: cellSpaceKeys(space), meta, bytes: cellSpaceBytes(space) };
  }
  const cifar = values.space === 'cifar';
  const supernet = cifar ? layoutSpace(CIFAR_LAYOUT) : proxylessSpace({ inputSize: values.resolution });
  return {
    keys: spaceKeys(supernet),
    meta: { space: values.space, resolution: String(supernet.inputSize) },
    bytes: supernetBytes(supernet),
  };
}

/**
 * --resume: the settings of this run that its flags fix, as the table's stamp writes them, against
 * the table's, before any work (an ssh session, jobs on a queue). The device itself, and what only
 * the run knows (auto cache flush, whether pinning works), are checked when the run has its stamp.
 */
function checkResumeFlags(values: Values): ResumedTable | null {
  const out = values.out!;
  if (!values.resume || !existsSync(out)) return null;
  const resumed = readTableForResume(out);
  const prev = resumed.table.meta;
  const sameKind = (prev.device ?? 'cpu') === values.device && (prev.target === undefined) === (values.target === undefined);
  if (!sameKind) return resumed;
  const settings: Record<string, string> = {
    repeats: String(values.repeats),
    warmup: String(values.warmup),
    'max-time-ms': String(values['max-time-ms']),
  };
  if (values.device === 'cpu') {
    settings.backend = values.backend;
    settings.threads = String(values.threads);
    // auto is resolved later (resolveCacheFlush keeps a resumed table's flush).
    const flush = values['cache-flush']!;
    if (flush !== 'auto') settings['cache-flush'] = flushStamp(flush === 'off' ? 0 : Number(flush));
    // Pinning asked for may still fail (the stamp then says 'no (why)'): only a table timed with
    // --no-pin, or pinned, against the flag here is a sure difference.
    if (values['no-pin']) settings.pinned = 'no (disabled)';
    else if (prev.pinned === 'no (disabled)') settings.pinned = 'yes';
  }
  checkResumeSettings(out, prev, settings);
  return resumed;
}

/**
 * --cache-flush auto for this table's ops (CPU only): SMALL_NETWORK_FLUSH_BYTES where the space's
 * largest network touches at most SMALL_NETWORK_BYTES (its data stays in L2 between its ops; only
 * L1 is evicted), else 'auto' (2 x L2 of the CPU that measures: each op starts with cold private
 * caches). A resumed table keeps the flush it was measured with; `queuedAs`: the other value its
 * first run may have queued its ops as ('auto', which the workers resolved to the table's bytes),
 * so a --redis resume finds what that run stored. `note`: the line saying the choice, printed once
 * the run has started (a refusal stays one line).
 */
function resolveCacheFlush(
  values: Values,
  bytes: number,
  resumed: ResumedTable | null,
): { flush: string; queuedAs?: string; note?: string } {
  const flush = values['cache-flush']!;
  if (flush !== 'auto' || values.device !== 'cpu') return { flush };
  const before = resumed?.table.meta['cache-flush'];
  if (before === flushStamp(0)) return { flush: 'off' };
  const kept = /^(\d+) bytes per thread/.exec(before ?? '')?.[1];
  if (kept) return { flush: kept, queuedAs: 'auto' };
  const mib = (b: number) => `${+(b / 2 ** 20).toFixed(1)} MiB`;
  const chosen = autoFlushFor(bytes);
  const note =
    chosen !== 'auto'
      ? `--cache-flush auto: a network of these ops touches about ${mib(bytes)} (at most ${mib(SMALL_NETWORK_BYTES)}), so between its ops its data stays in L2 and leaves L1 only: each op timed after touching ${chosen / 1024} KiB (--cache-flush ${chosen})`
      : `--cache-flush auto: a network of these ops touches about ${mib(bytes)} (over ${mib(SMALL_NETWORK_BYTES)}), so each op starts with cold private caches: timed after touching 2 x L2 of scratch memory`;
  return { flush: String(chosen), note };
}

async function profile(values: Values, ctx: RunContext): Promise<void> {
  const { io } = ctx;
  // A table another run is measuring now is named as in use, not as one to --resume or --force.
  const table = writeTarget(values.out!);
  checkNotInUse(tableLockPath(table), `latency table ${table}`);
  if (!values.resume && !values.force && existsSync(values.out!)) {
    throw new UsageError(`--out ${values.out} already exists: pass --resume to continue it or --force to overwrite it`);
  }
  // --resume reads the table once, here; the queue and the writer take this copy.
  const resumed = checkResumeFlags(values);
  const space = spaceOf(values, ctx.given);
  const { flush, queuedAs, note: flushNote } = resolveCacheFlush(values, space.bytes, resumed);
  values = { ...values, 'cache-flush': flush };
  const flushBytes: number | 'auto' = flush === 'auto' ? 'auto' : flush === 'off' ? 0 : Number(flush);
  let keys = space.keys;
  if (values.limit !== undefined) keys = keys.slice(0, values.limit);
  const timing = { repeats: values.repeats, warmup: values.warmup, maxTimeMs: values['max-time-ms'] };

  const started = Date.now();
  let bar: Progress | undefined;
  const note = (m: string) => (bar ? bar.log(`note: ${m}`) : io.err(`note: ${m}\n`));
  let source: TableSource;
  if (values.redis) {
    // Timed by the workers of the queue (identical machines only; see profile-queued.ts).
    source = await queuedProfileSource({ ...values, redis: values.redis }, keys, ctx, resumed, queuedAs);
  } else if (values.device === 'gpu') {
    const gpu = await acquireGpu();
    try {
      source = { ...gpuTableSource(keys, webgpuBackend(gpu), timing), close: () => gpu.destroy() };
    } catch (e) {
      gpu.destroy();
      throw e;
    }
  } else {
    const cpu = { backend: values.backend, threads: values.threads, pin: !values['no-pin'], flushBytes, ...timing };
    source = values.target
      ? remoteTableSource(keys, {
          ...cpu,
          target: values.target,
          identity: values.identity,
          knownHosts: values['known-hosts'],
          targetDir: values['target-dir'],
          retries: values.retries,
          onNote: note,
        })
      : nativeTableSource(keys, cpu);
  }
  const res = await buildTable(
    {
      keys,
      out: values.out,
      resume: values.resume,
      resumed,
      force: values.force,
      meta: space.meta,
      rewriteInKeyOrder: values.redis !== undefined,
      onStaleLock: (o) => io.err(`note: ${values.out} was locked by process ${o.pid}, which is gone: taking it over\n`),
      // The first call reports the entries kept by --resume; the ETA counts only what is measured now.
      onProgress: (done, total, key, entry) => {
        if (!bar && flushNote) io.err(`note: ${flushNote}\n`);
        bar ??= new Progress(total, 'profile', process.stderr, { ...LOG_LINES, quiet: values.quiet, initial: done });
        bar.update(done, entry ? `${entry.mean.toFixed(3)} ms  ${key}` : undefined);
      },
    },
    source,
  );
  bar?.done('');
  // The counts add up to the table's entries; a table kept from a run with a larger --limit says so.
  const beyond = res.unlisted
    ? `; ${res.unlisted} of them ${values.limit !== undefined ? `beyond --limit ${values.limit}` : "not among this run's ops"}`
    : '';
  io.out(
    `wrote ${values.out}: ${res.table.entries.size} entries (${res.measured} measured, ${res.reused} reused${beyond}) in ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

export const handlers = { profile };
export const run = (argv: string[]) => runCommand(PROFILE, argv, selfResolve('profile', handlers));
