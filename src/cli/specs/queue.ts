/** The queue's options (--redis, --queue and the submitter's) and the `worker` and `queue` commands. */
import { DEFAULT_NAMESPACE, redisUrlProblem } from '../../queue/settings.js';
import { defineCommand, defineMode, flag, int, text } from '../spec.js';
import { cpuThreads, device, json } from './common.js';

/** A namespace: letters, digits and -_. (it prefixes Redis keys). */
function namespaceProblem(v: string): string | undefined {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(v) ? undefined : `must be 1-64 letters, digits, '-', '_' or '.', got '${v.slice(0, 80)}'`;
}

export const redis = text({
  help: 'the Redis server of the job queue, redis://[user:pass@]host[:port][/db] (rediss:// for TLS)',
  metavar: 'URL',
  check: redisUrlProblem,
});
export const queueNamespace = text({
  help: 'queue namespace: the prefix of every Redis key wgnas writes (runs in different namespaces share nothing, results included)',
  metavar: 'NAME',
  default: DEFAULT_NAMESPACE,
  check: namespaceProblem,
});

const withRedis = { requires: ['redis'], requiresWhy: 'needs --redis URL' } as const;

/** What --redis does on a command that submits work. */
export const submitRedisHelp = `${redis.help}: the work is spread as jobs over the workers of --device there (wgnas worker) instead of computed here`;

/** --redis and what goes with it, on the commands that submit work (score, search). */
export const submitOptions = {
  redis: {
    ...redis,
    // 'auto' resolves on the submitting machine, which need not have the workers' device.
    help: `${submitRedisHelp} (auto is resolved on this machine: from one without a GPU, give --device gpu for GPU workers)`,
  },
  queue: { ...queueNamespace, ...withRedis, requiresWhy: '--queue names a namespace on --redis URL; give --redis' },
  attempts: int({
    help: 'tries per job before it is failed (a failure is retried with exponential backoff from 1 s)',
    default: 3,
    min: 1,
    max: 100,
    ...withRedis,
    requiresWhy: '--attempts is for jobs on --redis URL',
  }),
};

/** --cpu-threads on a command that may submit (score, search): with --redis it binds the workers. */
export const submitCpuThreads = {
  ...cpuThreads,
  help: `${cpuThreads.help}; with --redis, the threads every CPU worker computes with (one running others refuses the jobs; default: each worker's own, recorded as such)`,
};

export const WORKER_OPTIONS = {
  redis: { ...redis, required: true },
  queue: queueNamespace,
  device,
  'cpu-threads': cpuThreads,
  concurrency: int({
    help: "jobs run at once in this process, each on its own backend (CPU: prefer 1 and --cpu-threads); a CPU backend's pool grows to the largest cell's working set (score --procs says how much), so N above the memory available now are warned of",
    default: 1,
    min: 1,
    max: 64,
  }),
  quiet: flag({ help: 'no line per finished job on stderr' }),
};

export const WORKER = defineCommand({
  name: 'worker',
  summary:
    'take jobs (score shards, search children, profile ops, evolutions) from a Redis queue until stopped: run one per machine',
  description:
    'A long-lived worker: takes the jobs that wgnas score, search, profile and evolve-space put on the queue for its --device with --redis, stores each result in Redis as soon as it is computed (keyed by its content: architecture, proxies, seed, batch, data and code version; the op and its timing; the evolution, so nothing is computed twice), and beats a heartbeat. ' +
    'SIGTERM or Ctrl-C stops it gracefully (it finishes the jobs in hand; a second signal leaves at once and the jobs go to other workers); a worker that is killed or loses its machine has its job handed to another after the lock expires (30 s; WGNAS_QUEUE_LOCK_MS). ' +
    'Every machine must run the same wgnas code and see the same --dataset: a worker refuses jobs from other code or data (they go back to the queue for another worker; wgnas queue status shows the refusals). ' +
    "A CPU worker never runs a score job whose network, batch and proxies would need more than the machine's memory in its --concurrency slots (as score --device cpu refuses such a run): it leaves the job queued while another CPU worker alive has the memory for it and would take it (each heartbeat carries its machine's memory, code and refusals), else, once none has come for the lock time, fails it, not retried: other workers would be killed by it too. See docs/scale-out.md.",
  modes: [
    defineMode({
      id: 'worker',
      module: 'worker',
      label: 'wgnas worker',
      usage: ['--redis URL [--device DEVICE] [--concurrency N] [--queue NAME]'],
      options: WORKER_OPTIONS,
    }),
  ],
});

export const QUEUE_OPTIONS = {
  redis: { ...redis, required: true },
  queue: queueNamespace,
  json,
};

export const QUEUE = defineCommand({
  name: 'queue',
  summary: 'show the Redis job queue: jobs waiting/active/failed, workers alive, failed jobs and their errors',
  description:
    "wgnas queue status lists, for the namespace on --redis, the jobs waiting, active, delayed and failed on each device queue, the workers alive (by heartbeat), the results stored, each failed job with its error, and the workers refusing jobs (other code: its code version and the job's; other data).",
  modes: [
    defineMode({
      id: 'queue',
      module: 'queue',
      label: 'wgnas queue',
      usage: ['status --redis URL [--queue NAME] [--json]'],
      options: QUEUE_OPTIONS,
      positionals: {
        metavar: 'ACTION',
        help: "'status'",
        noun: 'queue action',
        choices: () => ['status'],
        missing: "give an action: 'wgnas queue status --redis URL' (got none)",
      },
    }),
  ],
});
