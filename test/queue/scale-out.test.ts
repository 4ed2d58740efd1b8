/**
 * The rest of scale-out on a real Redis with real `wgnas worker` children (CPU): a latency table
 * timed by two identical workers reads as a local one, and an entry from a worker that reports
 * another device is refused naming the worker and the field; evolve-space seeds as jobs equal local
 * runs; a worker running other code refuses jobs (they stay queued), `queue status` says which and
 * why, and the submitter says that no worker takes its jobs instead of waiting silently.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { readCsvObjects } from '../../src/data/csv.js';
import { type LatencyTable, readLatencyTable } from '../../src/latency/lut.js';
import { openRedis } from '../../src/queue/connection.js';
import { type WorkerBeat, workersKeyPrefix } from '../../src/queue/settings.js';
import { formatStatus, queueStatus } from '../../src/queue/status.js';
import { wgnasChild } from '../helpers/child.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { resultOf } from '../helpers/provenance.js';
import { haveRedisServer, RedisServer } from './redis-server.js';
import { startWorkerChild, type WorkerChild } from './workers.js';

const SLOW = { timeout: 300_000 };
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-scale-out-'));
const enabled = haveRedisServer();
let redis: RedisServer;
const children: WorkerChild[] = [];
let nsCount = 0;
const ns = () => `s${process.pid}-${++nsCount}`;

function worker(nsName: string, o: Parameters<typeof startWorkerChild>[2] = {}): WorkerChild {
  const w = startWorkerChild(redis.url, nsName, o);
  children.push(w);
  return w;
}

async function stop(...ws: WorkerChild[]): Promise<void> {
  for (const w of ws) w.kill('SIGTERM');
  for (const w of ws) expect((await w.exited).code, w.stderr()).toBe(0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const withoutTime = (path: string) => readCsvObjects(readFileSync(path, 'utf8'), path).map(({ time_ms: _t, ...r }) => r);

/** The worker's id from its first line. */
const idOf = (w: WorkerChild): string => /worker (\S+) on /.exec(w.stderr())![1];

beforeAll(async () => {
  if (!enabled) return;
  process.env.WGNAS_QUEUE_OUTAGE_MS = '60000';
  redis = await RedisServer.start();
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill();
  await Promise.all(children.map((c) => c.exited));
  await redis?.down();
});

const PROFILE = ['profile', '--space', 'cifar', '--repeats', '3', '--warmup', '0', '--threads', '1', '--quiet'];

describe.skipIf(!enabled)('wgnas profile --redis', () => {
  it(
    'two identical workers: the table reads as a local one; a worker of another device is refused, naming it and the field',
    SLOW,
    async () => {
      const n = ns();
      const [a, b] = [worker(n), worker(n)];
      await Promise.all([a.ready, b.ready]);
      const local = join(tmp, 'local.yaml');
      expect((await wgnasInProcess([...PROFILE, '--limit', '6', '--out', local])).code).toBe(0);
      const queued = join(tmp, 'queued.yaml');
      const q = ['--redis', redis.url, '--queue', n, '--shard-size', '1'];
      const r = await wgnasInProcess([...PROFILE, '--limit', '6', '--out', queued, ...q]);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/profiling 6 ops as 6 job\(s\) on the cpu workers/);
      const [l, t] = [readLatencyTable(local), readLatencyTable(queued)];
      // The same stamp (this CPU, library, threads, flush...) but the date, the same keys in the same order.
      expect({ ...t.meta, date: '' }).toEqual({ ...l.meta, date: '' });
      expect([...t.entries.keys()]).toEqual([...l.entries.keys()]);
      for (const e of t.entries.values()) expect(e.count).toBe(3);
      await stop(a, b);

      // The 6 entries stored above make the table's device; the other 4 ops can only go to the odd worker.
      const odd = worker(n, { env: { WGNAS_TEST_DEVICE_IDENTITY: JSON.stringify({ cpu: 'Other CPU' }) } });
      await odd.ready;
      const mixed = join(tmp, 'mixed.yaml');
      const bad = await wgnasInProcess([...PROFILE, '--limit', '10', '--out', mixed, ...q]);
      expect(bad.code, bad.err).toBe(1);
      expect(bad.err.trim().split('\n').at(-1)).toMatch(
        new RegExp(
          `worker ${idOf(odd).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} timed .* on another device: cpu 'Other CPU', the table's '${l.meta.cpu}'`,
        ),
      );
      // What was taken stays (resumable); nothing of the other device entered the table.
      const kept = readLatencyTable(mixed, { allowTruncatedTail: true });
      expect(kept.entries.size).toBe(6);
      expect(kept.meta.cpu).toBe(l.meta.cpu);
      await stop(odd);
      // With identical workers only, --resume completes it; the refused entries were dropped from the store.
      const c = worker(n);
      await c.ready;
      const done = await wgnasInProcess([...PROFILE, '--limit', '10', '--out', mixed, '--resume', ...q]);
      expect(done.code, done.err).toBe(0);
      const full = readLatencyTable(mixed);
      expect(full.entries.size).toBe(10);
      expect(full.meta.cpu).toBe(l.meta.cpu);
      await stop(c);
    },
  );
});

/** The table's text cut after its first `n` entries (what a run SIGKILLed after its nth append leaves). */
function firstEntries(text: string, n: number): string {
  const lines = text.split('\n');
  const starts = lines.flatMap((l, i) => (l !== '' && !l.startsWith('#') && !l.startsWith(' ') ? [i] : []));
  return `${lines.slice(0, starts[n]).join('\n')}\n`;
}

/**
 * A killed queued profile whose workers finished its ops: `args` profiled `limit` ops into a whole
 * table, a copy cut to its first `kept` entries (what the killed run had appended) is resumed with
 * no worker alive, in a child SIGKILLed if it spins (a spin never yields to a timer or a signal): it
 * must complete from the result store alone, to the whole table.
 */
async function resumeFromStore(name: string, args: string[], limit: number, kept: number, checkWhole = (_t: LatencyTable) => {}) {
  const n = ns();
  const w = worker(n);
  await w.ready;
  const q = ['--redis', redis.url, '--queue', n, '--limit', String(limit)];
  const whole = join(tmp, `whole-${name}.yaml`);
  expect((await wgnasInProcess([...args, '--out', whole, ...q])).code).toBe(0);
  checkWhole(readLatencyTable(whole));
  await stop(w);
  const killed = join(tmp, `killed-${name}.yaml`);
  writeFileSync(killed, firstEntries(readFileSync(whole, 'utf8'), kept));
  expect(readLatencyTable(killed, { allowTruncatedTail: true }).entries.size).toBe(kept);
  const r = await wgnasChild([...args, '--out', killed, '--resume', ...q], { timeoutMs: 60_000 });
  expect(r.signal, r.stderr).toBeNull();
  expect(r.code, r.stderr).toBe(0);
  const left = limit - kept;
  expect(r.stderr).toMatch(
    new RegExp(`profiling ${left} ops as 0 job\\(s\\) on the cpu workers .*\\(${left} found in the result store\\)`),
  );
  const [a, b] = [readLatencyTable(whole), readLatencyTable(killed)];
  expect(b.meta).toEqual(a.meta);
  expect([...b.entries]).toEqual([...a.entries]);
}

describe.skipIf(!enabled)('wgnas profile --redis --resume', () => {
  it(
    'after a kill, with every op left already in the result store (no job to queue): completes from the store',
    SLOW,
    // The killed run had appended 2 entries; the worker went on and stored the other 4.
    () => resumeFromStore('cifar', PROFILE, 6, 2),
  );

  it(
    "a network over 4 MiB (--cache-flush auto: the workers' 2 x L2): the resume finds the first run's results",
    SLOW,
    // The first run queued 'auto' (each worker resolves it), the resume the table's byte count: it
    // must still find what the first run stored, or it queues every op again and, with no worker
    // alive, waits for ever.
    () =>
      resumeFromStore(
        'mobile',
        ['profile', '--resolution', '32', '--repeats', '3', '--warmup', '0', '--threads', '1', '--quiet'],
        4,
        1,
        (whole) => {
          expect(whole.meta['cache-flush']).toMatch(/^\d+ bytes per thread before each run$/);
          expect(whole.meta['cache-flush']).not.toBe('131072 bytes per thread before each run');
        },
      ),
  );

  it('waiting for jobs with no worker alive: SIGTERM stops it (one line, then dies by SIGTERM)', SLOW, async () => {
    const n = ns();
    const out = join(tmp, 'waiting.yaml');
    let err = '';
    const r = await wgnasChild([...PROFILE, '--limit', '2', '--out', out, '--redis', redis.url, '--queue', n], {
      timeoutMs: 120_000,
      onStart: (c) => {
        c.stderr!.on('data', (d) => {
          err += String(d);
          if (/job\(s\) on the cpu workers/.test(err)) c.kill('SIGTERM');
        });
      },
    });
    expect(r.signal, r.stderr).toBe('SIGTERM');
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/stopped by SIGTERM/);
  });
});

const EVOLVE = [
  'evolve-space',
  '--budget-madds',
  '8M',
  '--population',
  '3',
  '--k',
  '2',
  '--tournament',
  '2',
  '--iterations',
  '2',
  '--steps',
  '1',
  '--warmup',
  '1',
  '--train',
  '16',
  '--val',
  '16',
  '--batch',
  '8',
  '--device',
  'cpu',
  '--cpu-threads',
  '1',
];
/** A space file less its creation time and provenance (the submitter's command line, the run's date). */
const spaceOf = (p: string) => ({ ...(resultOf(p) as { layers: unknown[] }), createdAt: '' });

describe.skipIf(!enabled)('wgnas evolve-space --redis', () => {
  it(
    'two seeds on two workers: each space equals a local run of its seed; a re-run takes them from the store',
    SLOW,
    async () => {
      const n = ns();
      const ws = [worker(n), worker(n)];
      await Promise.all(ws.map((w) => w.ready));
      const out = join(tmp, 'space-{seed}.json');
      const q = ['--redis', redis.url, '--queue', n, '--seeds', '3,4', '--out', out];
      const r = await wgnasInProcess([...EVOLVE, ...q]);
      expect(r.code, r.err).toBe(0);
      for (const seed of [3, 4]) {
        const local = join(tmp, `local-${seed}.json`);
        expect((await wgnasInProcess([...EVOLVE, '--seed', String(seed), '--out', local])).code).toBe(0);
        expect(spaceOf(join(tmp, `space-${seed}.json`))).toEqual(spaceOf(local));
      }
      const summary = JSON.parse(r.out);
      expect(summary.runs.map((x: { seed: number }) => x.seed)).toEqual([3, 4]);
      expect(summary.runs[0].topCells.length).toBe(spaceOf(join(tmp, 'space-3.json')).layers.length);
      const again = await wgnasInProcess([...EVOLVE, ...q]);
      expect(again.code, again.err).toBe(0);
      expect(again.err).toMatch(/0 evolution\(s\) .*, 2 found in the result store/);
      await stop(...ws);
    },
  );

  it('several seeds need {seed} in --out; --seeds needs --redis', async () => {
    const a = await wgnasInProcess([...EVOLVE, '--redis', 'redis://127.0.0.1:1', '--seeds', '1,2', '--out', join(tmp, 'x.json')]);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/--out .*x\.json: 2 seeds write 2 files: put '\{seed\}' in the name/);
    const b = await wgnasInProcess([...EVOLVE, '--seeds', '1,2']);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--seeds spreads evolutions over the workers of --redis URL/);
  });
});

const SCORE = [
  'score',
  '--sample',
  '3',
  '--proxies',
  'params',
  '--channels',
  '4',
  '--cells-per-stage',
  '1',
  '--batch',
  '8',
  '--device',
  'cpu',
  '--cpu-threads',
  '1',
  '--quiet',
];

describe.skipIf(!enabled)('refusals', () => {
  it(
    'a worker on other code refuses jobs without failing them; status and the submitter say so; a right worker then takes them',
    SLOW,
    async () => {
      const n = ns();
      const stale = worker(n, { env: { WGNAS_TEST_CODE_VERSION: '0.0.0+src.000000000000' } });
      await stale.ready;
      let err = '';
      const run = runCli([...SCORE, '--redis', redis.url, '--queue', n, '--out', join(tmp, 'refused.csv')], {
        out: () => {},
        err: (s) => void (err += s),
      });
      await until('the submitter to say no worker takes its jobs', () => err.includes("no worker takes this run's jobs"));
      expect(err).toMatch(
        new RegExp(
          `every worker alive on ${n} refuses them \\(${idOf(stale).replace(/[.]/g, '\\.')}: this worker runs wgnas 0\\.0\\.0\\+src\\.000000000000`,
        ),
      );
      const status = await queueStatus(redis.url, n);
      expect(status.queues.find((x) => x.queue === 'score-cpu')!.failed).toBe(0);
      const text = formatStatus(status);
      expect(text).toMatch(/workers refusing jobs/);
      expect(text).toMatch(
        new RegExp(
          `${idOf(stale).replace(/[.]/g, '\\.')} refused \\d+ job\\(s\\) .*its code is 0\\.0\\.0\\+src\\.000000000000, the job's \\S+: update the worker's checkout`,
        ),
      );
      const good = worker(n);
      expect(await run, err).toBe(0);
      await stop(stale, good);
    },
  );

  it(
    'a worker of another device does not count: the submitter says no worker of its --device is alive, then one takes the jobs',
    SLOW,
    async () => {
      const n = ns();
      // A GPU worker's heartbeat (the CPU project starts no GPU worker): it never takes score-cpu jobs.
      const r = openRedis(redis.url);
      const gpu: WorkerBeat = {
        id: 'gpu-box:1:abcdef',
        host: 'gpu-box',
        pid: 1,
        device: 'gpu',
        deviceName: 'a GPU',
        concurrency: 1,
        startedAt: new Date().toISOString(),
        jobsDone: 0,
        archsScored: 0,
        active: 0,
      };
      await r.set(`${workersKeyPrefix(n)}${gpu.id}`, JSON.stringify(gpu), 'PX', 120_000);
      let err = '';
      const run = runCli([...SCORE, '--redis', redis.url, '--queue', n, '--out', join(tmp, 'other-device.csv')], {
        out: () => {},
        err: (s) => void (err += s),
      });
      await until('the note that no CPU worker is alive', () => err.includes(`no --device cpu worker is alive on ${n} yet`));
      const cpu = worker(n);
      expect(await run, err).toBe(0);
      expect(readCsvObjects(readFileSync(join(tmp, 'other-device.csv'), 'utf8'), 'x').length).toBe(3);
      await stop(cpu);
      r.disconnect();
    },
  );

  it('a search with no worker of its --device alive says so, then a worker takes its children', SLOW, async () => {
    const n = ns();
    let err = '';
    const search = ['search', '--budget', '4', '--proxy', 'params', '--batch', '8', '--cells-per-stage', '1', '--device', 'cpu'];
    const run = runCli([...search, '--cpu-threads', '1', '--quiet', '--redis', redis.url, '--queue', n], {
      out: () => {},
      err: (s) => void (err += s),
    });
    await until('the note that no CPU worker is alive', () => err.includes(`no --device cpu worker is alive on ${n} yet`));
    const cpu = worker(n);
    expect(await run, err).toBe(0);
    await stop(cpu);
  });

  it(
    "--cpu-threads travels with a CPU run's jobs: --out records it, a worker with other threads refuses them, a resume with other threads is refused",
    SLOW,
    async () => {
      const n = ns();
      const settingsOf = (p: string) => JSON.parse(readFileSync(`${p}.settings.json`, 'utf8')).settings;
      const two = worker(n, { args: ['--cpu-threads', '2'] });
      await two.ready;
      const out = join(tmp, 'threads.csv');
      let err = '';
      const run = runCli([...SCORE, '--redis', redis.url, '--queue', n, '--out', out], {
        out: () => {},
        err: (s) => void (err += s),
      });
      await until('the submitter to say no worker takes its jobs', () => err.includes("no worker takes this run's jobs"));
      expect(err).toMatch(
        /the job is computed with --cpu-threads 1, this worker's backend runs 2 threads: start a worker with --cpu-threads 1/,
      );
      const one = worker(n);
      expect(await run, err).toBe(0);
      expect(settingsOf(out)['--cpu-threads']).toBe(1);
      // The rows are those of a run on one machine with --cpu-threads 1 (which records the same).
      const local = join(tmp, 'threads-local.csv');
      expect((await wgnasInProcess([...SCORE, '--out', local])).code).toBe(0);
      expect(withoutTime(out)).toEqual(withoutTime(local));
      expect(settingsOf(local)['--cpu-threads']).toBe(1);
      const withThreads = (t: string[]) => [...SCORE.slice(0, SCORE.indexOf('--cpu-threads')), ...t, '--quiet'];
      const resumed = await wgnasInProcess([
        ...withThreads(['--cpu-threads', '2']),
        '--redis',
        redis.url,
        '--queue',
        n,
        '--out',
        out,
        '--resume',
      ]);
      expect(resumed.code).toBe(2);
      expect(resumed.err).toMatch(/^wgnas score: --resume: --cpu-threads was 1, now 2 in .*threads\.csv/);
      // Without --cpu-threads each worker computes with its own: recorded as such.
      const own = join(tmp, 'threads-own.csv');
      const r = await wgnasInProcess([...withThreads([]), '--redis', redis.url, '--queue', n, '--out', own]);
      expect(r.code, r.err).toBe(0);
      expect(settingsOf(own)['--cpu-threads']).toBe("each worker's own");
      expect(withoutTime(own)).toEqual(withoutTime(local));
      await stop(two, one);
    },
  );

  it("a plain --resume of a queued search's --evaluated log says to add --redis, and the other way round", async () => {
    const { writeFileSync } = await import('node:fs');
    const log = (name: string, settings: Record<string, unknown>) => {
      const p = join(tmp, name);
      writeFileSync(p, 'step,arch,params\n');
      writeFileSync(`${p}.settings.json`, JSON.stringify({ format: 'wgnas-row-stream', version: 1, settings, complete: false }));
      return p;
    };
    const base = { '--proxy': 'params', '--strategy': 'evolution', '--seed': 0 };
    const queuedLog = log('queued.csv', { ...base, '--in-flight': 4 });
    const plain = await wgnasInProcess(['search', '--proxy', 'params', '--evaluated', queuedLog, '--resume']);
    expect(plain.code).toBe(2);
    expect(plain.err).toMatch(
      /queued\.csv was written by a queued search \(search --redis, --in-flight 4\): resume it with --redis URL/,
    );
    const localLog = log('local.csv', base);
    const q = await wgnasInProcess([
      'search',
      '--proxy',
      'params',
      '--evaluated',
      localLog,
      '--resume',
      '--redis',
      'redis://127.0.0.1:1',
    ]);
    expect(q.code).toBe(2);
    expect(q.err).toMatch(/local\.csv was written by a search on this machine: resume it without --redis/);
  });
});
