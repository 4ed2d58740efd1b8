import { NB201_DEFAULT } from '../../nn/nb201-net.js';
import type { ScoreSettings } from '../../queue/jobs.js';
import { type JobMemoryCheck, startWorker, type WorkerMemory } from '../../queue/worker.js';
import type { Nb201Cell } from '../../spaces/nb201.js';
import { scoringProcessBytes, ZERO_SHOT_DEFAULTS } from '../../zeroshot/index.js';
import { deviceOf, openDevice } from '../device.js';
import { checkMemory, machineMemory, memoryVerdict } from '../memory-check.js';
import { checkRedis } from '../redis.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import type { ValuesOf } from '../spec.js';
import { WORKER, type WORKER_OPTIONS } from '../specs/queue.js';

export const summary = WORKER.summary;

/** Resolves once a signal asks to stop; a second signal forces the stop. */
function stopSignals(onForce: () => void): Promise<string> {
  return new Promise((resolve) => {
    let seen = 0;
    const on = (sig: string) => {
      if (++seen === 1) resolve(sig);
      else onForce();
    };
    process.on('SIGTERM', () => on('SIGTERM'));
    process.on('SIGINT', () => on('SIGINT'));
  });
}

/**
 * The memory check of a score job of `s` and `cells` on CPU workers: their largest cell's estimated
 * peak (as `score --device cpu` refuses a run before any work), times a worker's job slots, against
 * its machine's physical memory (above it the slots would swap or be killed; what is available now
 * only warns, and is not known of other workers).
 */
function cpuScoreJobMemory(s: ScoreSettings, cells: readonly Nb201Cell[]): JobMemoryCheck {
  // --group auto is 1 on the CPU; the class count (the job's dataset's) barely moves the estimate.
  const group = s.group === 'auto' ? 1 : s.group;
  const net = { ...NB201_DEFAULT, channels: s.channels, cellsPerStage: s.cellsPerStage };
  const eachBytes = scoringProcessBytes(net, s.batchSize, s.proxies, group, cells);
  const verdict = (w: WorkerMemory, outcome: string) =>
    memoryVerdict(
      {
        flag: `CPU worker on ${w.host}${w.concurrency > 1 ? ` (--concurrency ${w.concurrency})` : ''}`,
        n: w.concurrency,
        noun: 'scoring jobs',
        eachBytes,
        at: `at --batch ${s.batchSize}${group > 1 ? ` --group ${group}` : ''} --channels ${s.channels} --cells-per-stage ${s.cellsPerStage}`,
        // What to do last: the submitter's line (reason first, then the job's archs) is cut at 400 characters.
        fewer: (fits) =>
          `${outcome}; ${fits >= 1 ? `use workers with --concurrency ${fits} or fewer, or ` : ''}submit a smaller --batch${group > 1 ? ', --group' : ''}, --channels or --cells-per-stage`,
      },
      { availableBytes: w.memoryBytes, totalBytes: w.memoryBytes },
    );
  return { fits: (w) => !verdict(w, '')?.refuse, why: (w, outcome) => verdict(w, outcome)?.line ?? '' };
}

async function worker(v: ValuesOf<typeof WORKER_OPTIONS>, { io }: RunContext): Promise<void> {
  await checkRedis(v.redis);
  const device = await deviceOf(v);
  // Each job's backend grows its pool to the largest cell's working set; a job's batch is known only
  // when it comes, so at the default one this is a warning, never a refusal (a job that cannot fit
  // is left for a worker that would take it, else failed: cpuScoreJobMemory).
  if (device === 'cpu' && v.concurrency > 1) {
    const batch = ZERO_SHOT_DEFAULTS.batchSize;
    checkMemory(
      {
        flag: `--concurrency ${v.concurrency}`,
        n: v.concurrency,
        noun: 'scoring jobs',
        eachBytes: scoringProcessBytes(NB201_DEFAULT, batch, ['wrcor']),
        at: `at batch ${batch} (more at a larger --batch)`,
        fewer: (fits) => `give --concurrency ${Math.max(1, fits)} or fewer`,
      },
      io,
      true,
    );
  }
  let forced = false;
  const handle = await startWorker({
    url: v.redis,
    namespace: v.queue,
    device,
    concurrency: v.concurrency,
    memory: device === 'cpu' ? { bytes: machineMemory().totalBytes, scoreJob: cpuScoreJobMemory } : undefined,
    openBackend: async () => {
      const b = await openDevice(device, v, io);
      return b;
    },
    onEvent: (line) => {
      if (!v.quiet || !line.startsWith('job ')) io.err(`${line}\n`);
    },
  });
  io.err(
    `worker ${handle.id} on ${v.queue} (${device}, concurrency ${v.concurrency}): waiting for jobs; SIGTERM or Ctrl-C stops it\n`,
  );
  const sig = await stopSignals(() => {
    if (forced) return;
    forced = true;
    io.err('stopping now: the jobs in hand go back to the queue\n');
    void handle.close(true);
  });
  io.err(`${sig}: finishing the jobs in hand (again to stop at once)\n`);
  await handle.close();
  io.err(`worker ${handle.id} stopped\n`);
}

export const handlers = { worker };
export const run = (argv: string[]) => runCommand(WORKER, argv, selfResolve('worker', handlers));
