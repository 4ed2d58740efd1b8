/**
 * Cells per second of `wgnas score --redis` with 1, 2 and 3 local `wgnas worker` processes (CPU
 * backend, one thread each) on the same cells: a private redis-server on a free port, a fresh
 * namespace per run (so no result is found in the store), the workers started and ready before the
 * clock starts; the time is the submitter's wall clock from submitting to the last row. The load
 * average of the machine is recorded beside each figure: on a shared machine it is most of the story.
 *
 *   npx tsx bench/queue-scaling.ts [--cells K] [--workers 1,2,3] [--batch B] [--json out.json]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createServer } from 'node:net';
import { writeFileAtomic } from '../src/util/durable.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const cells = Number(arg('cells', '24'));
const workerCounts = arg('workers', '1,2,3').split(',').map(Number);
const batch = arg('batch', '16');
const jsonOut = arg('json', '');
const BIN = join(import.meta.dirname, '..', 'bin', 'wgnas.js');

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

function waitFor(p: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const on = (d: Buffer) => {
      log += String(d);
      if (log.includes(text)) resolve();
    };
    p.stdout?.on('data', on);
    p.stderr?.on('data', on);
    p.on('exit', (c) => reject(new Error(`exited ${c}: ${log}`)));
  });
}

function run(argv: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr!.on('data', (d) => (stderr += String(d)));
    p.on('exit', (code) => resolve({ code, stderr }));
  });
}

const port = await freePort();
const redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
await waitFor(redis, 'Ready to accept connections');
const url = `redis://127.0.0.1:${port}`;
const SCORE = [
  'score',
  '--sample',
  String(cells),
  '--ground-truth',
  '--proxies',
  'wrcor',
  '--batch',
  batch,
  '--device',
  'cpu',
  '--shard-size',
  '1',
  '--quiet',
];
const results: Array<{
  workers: number;
  cells: number;
  seconds: number;
  cellsPerSecond: number;
  loadAvgBefore: number;
  loadAvgAfter: number;
}> = [];
try {
  for (const w of workerCounts) {
    const ns = `bench-${process.pid}-${w}`;
    const workers = Array.from({ length: w }, () =>
      spawn(
        process.execPath,
        [BIN, 'worker', '--redis', url, '--queue', ns, '--device', 'cpu', '--cpu-threads', '1', '--quiet'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      ),
    );
    await Promise.all(workers.map((p) => waitFor(p, 'waiting for jobs')));
    const loadAvgBefore = loadavg()[0];
    const t0 = performance.now();
    const r = await run([...SCORE, '--redis', url, '--queue', ns]);
    const seconds = (performance.now() - t0) / 1000;
    if (r.code !== 0) throw new Error(`score failed: ${r.stderr}`);
    for (const p of workers) p.kill('SIGTERM');
    await Promise.all(workers.map((p) => new Promise((res) => p.on('exit', res))));
    const row = { workers: w, cells, seconds, cellsPerSecond: cells / seconds, loadAvgBefore, loadAvgAfter: loadavg()[0] };
    results.push(row);
    console.log(
      `${w} worker(s): ${cells} cells in ${seconds.toFixed(1)} s = ${row.cellsPerSecond.toFixed(2)} cells/s (load ${loadAvgBefore.toFixed(1)} -> ${row.loadAvgAfter.toFixed(1)})`,
    );
  }
} finally {
  redis.kill('SIGKILL');
}
if (jsonOut) {
  mkdirSync(dirname(jsonOut), { recursive: true });
  const out = {
    what: 'wgnas score --redis: cells/s with N local wgnas worker processes (CPU backend, 1 thread each); wall clock of the submitting process incl. its start-up',
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      note: 'shared 2-core development VM; other jobs were running (see the load averages)',
    },
    settings: {
      cells,
      batch: Number(batch),
      proxies: 'wrcor',
      net: 'NAS-Bench-201 full (16 channels, 5 cells per stage)',
      shardSize: 1,
    },
    date: new Date().toISOString(),
    results,
  };
  writeFileAtomic(jsonOut, JSON.stringify(out, null, 2) + '\n');
}
