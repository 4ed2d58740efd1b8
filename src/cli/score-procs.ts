/**
 * `wgnas score --procs N`: N child processes share the device, each recording its own groups. On a
 * big GPU one process's dispatch recording (one JS thread) is the bound, not the GPU; separate
 * processes record in parallel on separate cores. The parent hands out shards of architectures as
 * children go idle, appends rows to --out as they arrive (any order; a kill keeps them, --resume
 * scores only the rest) and rewrites the finished output in selection order, so it equals a run in
 * one process (each architecture's scores do not depend on which group it ran in). On the CPU
 * backend each child runs with its share of the cores (or --cpu-threads): the rows equal one
 * process's with that --cpu-threads, which the output's settings record.
 *
 * The children run the CLI's main module with WGNAS_SCORE_WORKER=1 (score-proc-worker.ts): the
 * main beside this module (sources under tsx, or the package's dist/), else, in a single-file
 * bundle, this program itself.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DeviceKind } from '../backend/index.js';
import { type MatmulTuning, recordedTileReadings } from '../kernels/matmul-tiles.js';
import type { Row, RowStream } from '../data/row-stream.js';
import { formatArch, type Nb201Cell } from '../spaces/nb201.js';
import { LOG_LINES, Progress } from '../util/progress.js';
import type { PoolPeak, ScoredCell, ZeroShotOptions } from '../zeroshot/index.js';
import { type GpuFailure, gpuFailureError } from './gpu-failure.js';
import type { RunContext } from './run.js';
import { keptByArch, rowOf, rowsInOrder } from './score-rows.js';
import type { ScoreRunStats } from './score-summary.js';
import { plural } from '../util/format.js';

/** What a child needs to score: everything but the architectures, which come in shards. */
export interface ScoreWorkerInit {
  proxyNames: string[];
  opts: ZeroShotOptions;
  device: DeviceKind;
  /** CPU backend threads of each child (the rows equal one process's with this --cpu-threads). */
  cpuThreads?: number;
  /**
   * The autotune cache as the parent's record read it (matmul-tiles.ts recordedTileReadings): the
   * children compute with the tiles --out records, whatever the cache holds when they open.
   */
  tileReadings?: Array<[string, MatmulTuning | null]>;
}

export type ToWorker = { type: 'init'; init: ScoreWorkerInit } | { type: 'shard'; archs: string[] } | { type: 'done' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'rows'; rows: ScoredCell[] }
  /** A shard done; `pool`: the child's pool peak so far. */
  | { type: 'idle'; pool?: PoolPeak }
  | { type: 'error'; message: string; gpuFailure?: GpuFailure }
  | { type: 'note'; line: string };

export const SCORE_WORKER_ENV = 'WGNAS_SCORE_WORKER';

export interface ProcsScoreRun {
  procs: number;
  cells: readonly Nb201Cell[];
  stream: RowStream | null;
  out?: string;
  quiet: boolean;
  proxyNames: string[];
  proxies: string[];
  aggs: string[];
  opts: ZeroShotOptions;
  device: DeviceKind;
  cpuThreads?: number;
  accs: Map<string, number>;
  /** Told each child's first pass apart (setup included), its other passes and its pool peak. */
  stats?: ScoreRunStats;
}

/** The script a child runs and the node options it needs. */
function workerEntry(): { script: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here);
  const main = join(dirname(here), `main${ext}`);
  if (!existsSync(main)) return { script: process.argv[1], execArgv: process.execArgv };
  if (ext !== '.ts') return { script: main, execArgv: [] };
  // The sources: the child loads them through tsx's loader (the package's main export), as `npx tsx` does.
  const loader = createRequire(import.meta.url).resolve('tsx');
  return { script: main, execArgv: ['--import', pathToFileURL(loader).href] };
}

/** Architectures per shard: enough for a full group, small enough that children finish together. */
function shardSize(todo: number, procs: number): number {
  return Math.max(1, Math.min(256, Math.ceil(todo / (2 * procs))));
}

export async function scoreInProcs({ io }: RunContext, r: ProcsScoreRun): Promise<Row[]> {
  const archs = r.cells.map(formatArch);
  const kept = keptByArch(r.stream?.done ?? [], archs, r.out);
  const todo = archs.map((a, i) => ({ a, i })).filter(({ a }) => !kept.has(a));
  const indexOf = new Map(todo.map(({ a, i }) => [a, i]));
  const fresh = new Map<number, ScoredCell>();
  if (kept.size) io.err(`resuming ${r.out}: ${kept.size} of ${archs.length} cells already scored\n`);
  const procs = Math.max(1, Math.min(r.procs, todo.length));
  io.err(
    `scoring ${plural(todo.length, 'cell')} with ${r.proxies.join(', ')} in ${procs} process${procs === 1 ? '' : 'es'} on the ${r.device}\n`,
  );
  const bar = new Progress(archs.length, 'score', process.stderr, { ...LOG_LINES, quiet: r.quiet, initial: kept.size });
  const size = shardSize(todo.length, procs);
  const shards: string[][] = [];
  for (let s = 0; s < todo.length; s += size) shards.push(todo.slice(s, s + size).map((t) => t.a));
  // The device's memory is shared: --group auto sizes each child's groups for its part of it.
  // CPU threads: each child runs with the count the parent resolved and recorded (its part of
  // the cores unless --cpu-threads, from --procs as given, so a resume gives the children the same).
  const init: ScoreWorkerInit = {
    proxyNames: r.proxyNames,
    opts: { ...r.opts, memoryShare: 1 / procs },
    device: r.device,
    cpuThreads: r.cpuThreads,
    tileReadings: recordedTileReadings(),
  };
  const children: ChildProcess[] = [];
  const entry = workerEntry();
  if (todo.length === 0) {
    bar.done();
    return rowsInOrder(archs, kept, fresh, r.proxies, r.aggs, r.accs);
  }
  try {
    await new Promise<void>((resolve, reject) => {
      let live = procs;
      let failed = false;
      const fail = (why: string | Error) => {
        if (failed) return;
        failed = true;
        reject(typeof why === 'string' ? new Error(why) : why);
      };
      for (let p = 0; p < procs; p++) {
        const child = fork(entry.script, [], {
          env: { ...process.env, [SCORE_WORKER_ENV]: '1' },
          execArgv: entry.execArgv,
          serialization: 'advanced',
          stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        });
        children.push(child);
        let stderr = '';
        let passes = 0;
        child.stderr?.on('data', (d: Buffer) => {
          stderr = (stderr + d.toString()).slice(-2000);
        });
        // A child gone between its message and this reply: the 'close' below says why.
        const send = (m: ToWorker) => {
          if (child.connected) child.send(m, () => {});
        };
        child.on('error', (e) => fail(`--procs: process ${p + 1}: ${e.message}`));
        child.on('message', (m: FromWorker) => {
          // After a failure the run ends (its output is closed): rows still in the channel are left to --resume.
          if (failed) return;
          // A GPU failure: the line a single process gives (what to change, how to resume), not the process's.
          if (m.type === 'error') fail(m.gpuFailure ? gpuFailureError(m.gpuFailure) : `--procs: process ${p + 1}: ${m.message}`);
          else if (m.type === 'note') bar.log(m.line.replace(/^note: /, `note: process ${p + 1}: `));
          else if (m.type === 'rows') {
            r.stats?.pass(
              m.rows.map((c) => c.timeMs),
              passes++ === 0,
            );
            const rows: Row[] = [];
            for (const c of m.rows) {
              const i = indexOf.get(c.arch);
              if (i === undefined || fresh.has(i)) continue;
              fresh.set(i, c);
              rows.push(rowOf(c, r.accs));
            }
            r.stream?.append(rows);
            bar.update(kept.size + fresh.size, `${procs} processes`);
          } else if (m.type === 'ready' || m.type === 'idle') {
            if (m.type === 'idle' && m.pool) r.stats?.pool(m.pool);
            const next = shards.shift();
            send(next ? { type: 'shard', archs: next } : { type: 'done' });
          }
        });
        // 'close' (not 'exit'): its messages and stderr have all arrived by then.
        child.on('close', (code, signal) => {
          live--;
          if (code !== 0) {
            const last = stderr.trim().split('\n').at(-1) ?? '';
            fail(`--procs: process ${p + 1} ended with ${signal ?? `code ${code}`}${last ? `: ${last}` : ''}`);
          } else if (live === 0) {
            if (fresh.size === todo.length) resolve();
            else fail(`--procs: the processes ended with ${todo.length - fresh.size} architectures unscored`);
          }
        });
        send({ type: 'init', init });
      }
    });
    bar.done();
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill();
  }
  return rowsInOrder(archs, kept, fresh, r.proxies, r.aggs, r.accs);
}
