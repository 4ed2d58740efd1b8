/**
 * A child of `wgnas score --procs N` (score-procs.ts): opens its own backend on the device, scores
 * the shards of architectures its parent sends and streams each group's rows back; exits when told
 * it is done. Errors go to the parent as one line; a GPU failure also as what it was, so that the
 * parent's line is the one a single process prints (its advice and how to resume).
 */
import { type Backend, GpuOutOfMemoryError } from '../backend/index.js';
import { unreportedGpuError } from '../gpu/unreported.js';
import { adoptTileReadings } from '../kernels/matmul-tiles.js';
import { parseArch } from '../spaces/nb201.js';
import { scoreAll, ZeroShotScorer } from '../zeroshot/index.js';
import { errorLine } from './cli.js';
import { openDevice } from './device.js';
import { gpuFailureOf, scoreOomAdvice } from './gpu-failure.js';
import type { FromWorker, ScoreWorkerInit, ToWorker } from './score-procs.js';

export function runScoreWorker(): void {
  const send = (m: FromWorker) => process.send!(m);
  let backend: Backend | null = null;
  let scorer: ZeroShotScorer | null = null;
  // Messages are handled one at a time: a shard is scored before the next message is looked at.
  let chain = Promise.resolve();
  const handle = async (m: ToWorker) => {
    if (m.type === 'init') {
      const i: ScoreWorkerInit = m.init;
      // On the CPU the parent resolved the threads (and recorded them with the rows); on the GPU
      // it recorded the tiles it read, which this process's Gpu computes with.
      adoptTileReadings(i.tileReadings ?? []);
      backend = await openDevice(i.device, { device: i.device, 'cpu-threads': i.cpuThreads });
      scorer = new ZeroShotScorer(backend, i.proxyNames, i.opts);
      send({ type: 'ready' });
    } else if (m.type === 'shard') {
      const s = scorer!;
      await scoreAll(
        s,
        m.archs.map(parseArch),
        undefined,
        (rows) => send({ type: 'rows', rows }),
        0,
        (line) => send({ type: 'note', line }),
      ).catch((e: unknown) => {
        if (e instanceof GpuOutOfMemoryError) e.advice = scoreOomAdvice(s.opts.group ?? 1, s.lastGroupCells, s.opts.batchSize);
        throw e;
      });
      send({ type: 'idle', pool: s.poolPeak });
    } else {
      backend?.dispose();
      // The last work's error, which no read came to report: this process failed.
      const unreported = await unreportedGpuError();
      if (unreported) throw unreported;
      process.exit(0);
    }
  };
  process.on('message', (m: ToWorker) => {
    chain = chain
      .then(() => handle(m))
      .catch((e: unknown) => {
        // The parent says which process; its own line carries the command's name.
        const message = errorLine(undefined, e).replace(/^wgnas: /, '');
        process.stderr.write(`${message}\n`);
        process.send!({ type: 'error', message, gpuFailure: gpuFailureOf(e) } satisfies FromWorker, () => process.exit(1));
      });
  });
  // The parent gone (killed): nothing left to score for.
  process.on('disconnect', () => process.exit(1));
}
