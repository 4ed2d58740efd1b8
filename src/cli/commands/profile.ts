/** wgnas profile: measure the per-op latency lookup table of a search space on this CPU. */
import { parseArgs } from 'node:util';

import type { LatencyEntry } from '../../latency/lut.js';
import { buildLatencyTable } from '../../latency/profiler.js';
import { proxylessSpace, spaceKeys } from '../../latency/space.js';
import { backendOpt } from '../args.js';

export const summary = 'measure a per-op latency lookup table on this CPU (native addon)';

const HELP = `usage: wgnas profile --out FILE [options]

Times every (op, shape) of a search space with the native addon (batch 1) and writes a latency
table in the ProxylessNAS / Once-for-All YAML format, stamped with the CPU, library, threads and date.
Each entry is appended as soon as it is measured; --resume continues an interrupted run.

options:
  --space NAME        search space (proxyless: the ProxylessNAS mobile space)   [proxyless]
  --resolution N      input size, e.g. 224 (ImageNet) or 32 (CIFAR layout)      [224]
  --threads N         library threads                                          [1]
  --backend NAME      onednn | xnnpack                                         [onednn]
  --repeats R         timed runs per op                                        [30]
  --warmup W          untimed runs per op                                      [5]
  --max-time-ms T     stop an op's repeats after T ms (min 3 samples), 0 = off [2000]
  --cache-flush WHAT  auto | off | BYTES: before each run, touch this much scratch memory per thread
                      so the op starts with cold private caches, as inside a network (auto = 2 x L2) [auto]
  --no-pin            do not pin threads to CPUs
  --limit N           only the first N ops (quick checks)
  --out FILE          output YAML (required)
  --resume            keep the entries already in FILE and measure the rest
  --force             overwrite FILE
  -h, --help          this help
`;

function int(v: string | undefined, name: string, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

function bar(done: number, total: number, width = 28): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      space: { type: 'string', default: 'proxyless' },
      resolution: { type: 'string' },
      threads: { type: 'string' },
      backend: { type: 'string' },
      repeats: { type: 'string' },
      warmup: { type: 'string' },
      'max-time-ms': { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
      'cache-flush': { type: 'string', default: 'auto' },
      limit: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (!values.out) throw new Error(`--out FILE is required\n\n${HELP}`);
  if (values.space !== 'proxyless') throw new Error(`unknown --space '${values.space}' (supported: proxyless)`);
  const backend = backendOpt(values.backend);
  if (values.resume && values.force) throw new Error('--resume and --force contradict each other');
  const resolution = int(values.resolution, 'resolution', 224, 8);
  const flush = values['cache-flush'];
  const flushBytes = flush === 'auto' ? 'auto' : flush === 'off' ? 0 : Number(flush);
  if (flushBytes !== 'auto' && !(Number.isInteger(flushBytes) && flushBytes >= 0)) {
    throw new Error(`--cache-flush must be auto, off or a byte count, got '${flush}'`);
  }
  const space = proxylessSpace({ inputSize: resolution });
  let keys = spaceKeys(space);
  if (values.limit !== undefined) keys = keys.slice(0, int(values.limit, 'limit', keys.length));

  const tty = process.stderr.isTTY;
  const started = Date.now();
  const onProgress = (done: number, total: number, key: string, entry: LatencyEntry | null): void => {
    const elapsedS = (Date.now() - started) / 1000;
    const eta = done > 0 && entry ? ` eta ${Math.round((elapsedS / done) * (total - done))}s` : '';
    const what = entry ? ` ${entry.mean.toFixed(3)} ms  ${key}` : '';
    const line = `${bar(done, total)} ${done}/${total}${eta}${what}`;
    if (tty) process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
    else process.stderr.write(`${line}\n`);
  };
  const res = await buildLatencyTable({
    keys,
    out: values.out,
    resume: values.resume,
    force: values.force,
    backend,
    threads: int(values.threads, 'threads', 1),
    repeats: int(values.repeats, 'repeats', 30),
    warmup: int(values.warmup, 'warmup', 5, 0),
    maxTimeMs: int(values['max-time-ms'], 'max-time-ms', 2000, 0),
    pin: !values['no-pin'],
    flushBytes,
    meta: { space: values.space, resolution: String(resolution) },
    onProgress,
    onStaleLock: (o) => process.stderr.write(`note: ${values.out} was locked by process ${o.pid}, which is gone: taking it over\n`),
  });
  if (tty) process.stderr.write('\n');
  process.stdout.write(
    `wrote ${values.out}: ${res.table.entries.size} entries (${res.measured} measured, ${res.reused} reused) in ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}
