/**
 * The fs-safety primitives (src/util/durable.ts) and the row stream (src/data/row-stream.ts):
 * atomic writes, durable appends, temp cleanup, and lock files held by real child processes
 * (a live holder refuses naming its pid; a SIGKILLed holder's lock is stale and taken over); a full
 * disk (ENOSPC, injected) named in one message with no temporaries left; links followed; fifos refused.
 */
import { type ChildProcess, execFile, execFileSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { checkResumedKeys, readStreamedRows, RowStream, RowStreamError } from '../../src/data/row-stream.js';
import { ResumeMismatchError } from '../../src/util/run-settings.js';
import {
  acquireLock,
  atomicTempOf,
  cleanTempFiles,
  LockHeldError,
  lockOwner,
  lockTempPaths,
  tempHost,
  tempPathFor,
  writeFileAtomic,
  appendDurable,
  WriteError,
} from '../../src/util/durable.js';
import { buildTable, type TableSource } from '../../src/latency/table-writer.js';
import type { Param } from '../../src/nn/tape.js';
import {
  cleanCheckpointDir,
  lockCheckpointDir,
  readCheckpoint,
  removeCheckpointDir,
  saveCheckpoint,
} from '../../src/nn/checkpoint.js';
import { holdLock as holdLockIn, LOCK_HOLDER } from '../helpers/hold-lock.js';

/**
 * A disk that fills up: while `disk.left` is finite, writes (writeSync, the one call durable.ts
 * writes with) take that many more bytes, then fail with ENOSPC as a full file system does.
 */
const disk = vi.hoisted(() => ({ left: Infinity }));
/** Every linkSync and renameSync, `FROM -> TO` (how acquireLock names its temporaries). */
const moved = vi.hoisted(() => [] as string[]);
/** Every directory readdirSync listed (how often writeFileAtomic looks for stale temporaries). */
const listed = vi.hoisted(() => [] as string[]);
vi.mock('node:fs', async (orig) => {
  const fs = await orig<typeof import('node:fs')>();
  const writeSync = (fd: number, buf: Uint8Array, off = 0, len = buf.byteLength - off, ...rest: unknown[]): number => {
    if (disk.left === Infinity) return (fs.writeSync as (...a: unknown[]) => number)(fd, buf, off, len, ...rest);
    if (disk.left <= 0)
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    const n = fs.writeSync(fd, buf, off, Math.min(len, disk.left));
    disk.left -= n;
    return n;
  };
  const linkSync = (from: string, to: string): void => (moved.push(`${from} -> ${to}`), fs.linkSync(from, to));
  const renameSync = (from: string, to: string): void => (moved.push(`${from} -> ${to}`), fs.renameSync(from, to));
  const readdirSync = ((dir: string, ...rest: unknown[]) => (
    listed.push(String(dir)),
    (fs.readdirSync as (...a: unknown[]) => unknown)(dir, ...rest)
  )) as typeof fs.readdirSync;
  const mocked = { writeSync, linkSync, renameSync, readdirSync };
  return { ...fs, ...mocked, default: { ...fs, ...mocked } };
});

const run = promisify(execFile);
const HOLDER = LOCK_HOLDER;
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-durable-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts a child holding the lock; resolves once it printed "locked". */
const holdLock = (mode: 'hold' | 'ckpt', path: string) => holdLockIn(mode, path, children);

async function tryLock(mode: 'try' | 'ckpt', path: string): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', HOLDER, mode === 'ckpt' ? 'ckpt' : 'try', path], {
      timeout: 60_000,
    });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

function killAndWait(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    c.on('exit', () => resolve());
    c.kill('SIGKILL');
  });
}

describe('writeFileAtomic / appendDurable', () => {
  it('replaces the whole file, leaves no temporary, and cleans a dead writer’s leftover', () => {
    const p = join(tmp, 'a.txt');
    writeFileAtomic(p, 'one\n');
    writeFileAtomic(p, 'two\n');
    expect(readFileSync(p, 'utf8')).toBe('two\n');
    expect(readdirSync(tmp).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    // A temp named after a pid that no longer runs is a leftover; ours too; a live process's is not.
    const dead = join(tmp, '.a.txt.999999999.tmp');
    const live = join(tmp, `.a.txt.${process.ppid}.tmp`);
    writeFileSync(dead, 'x');
    writeFileSync(live, 'x');
    writeFileSync(tempPathFor(p), 'x');
    expect(cleanTempFiles(p).sort()).toEqual(['.a.txt.999999999.tmp', basename(tempPathFor(p))].sort());
    expect(existsSync(live)).toBe(true);
    appendDurable(p, 'three\n');
    expect(readFileSync(p, 'utf8')).toBe('two\nthree\n');
  });

  it('the first write into a directory removes the temporaries killed writers left, not a live writer’s', () => {
    // A directory this process has not written to yet (tmp was swept by the test above).
    const d = mkdtempSync(join(tmp, 'b-'));
    const p = join(d, 'b.txt');
    const dead = join(d, '.b.txt.999999999.tmp');
    const live = join(d, `.b.txt.${process.ppid}.tmp`);
    writeFileSync(dead, 'x');
    writeFileSync(live, 'x');
    writeFileAtomic(p, 'one\n');
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(readFileSync(p, 'utf8')).toBe('one\n');
  });

  it('lists a directory once per process, however many writes: stale temporaries go at the first', () => {
    const d = mkdtempSync(join(tmp, 'sweep-'));
    const other = mkdtempSync(join(tmp, 'sweep-other-'));
    // Leftovers of killed writers of two files, one with a host, one from before names carried it,
    // beside a live writer's and another host's, which stay.
    const stale = [`.x.json.999999999@${tempHost()}.tmp`, '.y.csv.999999998.tmp'];
    const kept = [`.x.json.${process.ppid}@${tempHost()}.tmp`, '.y.csv.999999999@other-host.example.tmp', 'z.999999999.tmp'];
    for (const n of [...stale, ...kept]) writeFileSync(join(d, n), 'x');
    listed.length = 0;
    for (let i = 0; i < 5; i++) {
      writeFileAtomic(join(d, 'x.json'), `${i}\n`);
      writeFileAtomic(join(d, 'y.csv'), `${i}\n`);
      writeFileAtomic(join(other, 'w.txt'), `${i}\n`);
    }
    expect(listed.filter((l) => l === d)).toHaveLength(1);
    expect(listed.filter((l) => l === other)).toHaveLength(1);
    expect(listed).toHaveLength(2);
    expect(readdirSync(d).sort()).toEqual(['x.json', 'y.csv', ...kept].sort());
    expect(readFileSync(join(d, 'y.csv'), 'utf8')).toBe('4\n');
    // Left later (a writer killed while this process runs): kept until a run opens the file again
    // (cleanTempFiles) or the next process writes there.
    const later = join(d, '.x.json.999999997.tmp');
    writeFileSync(later, 'x');
    listed.length = 0;
    writeFileAtomic(join(d, 'x.json'), 'again\n');
    expect(listed).toEqual([]);
    expect(existsSync(later)).toBe(true);
    expect(cleanTempFiles(join(d, 'x.json'))).toEqual(['.x.json.999999997.tmp']);
    expect(listed).toEqual([d]);
  });

  it('temporaries carry the host: on a shared folder another host’s are never removed, even with a pid dead here', () => {
    const p = join(tmp, 'c.txt');
    const me = tempPathFor(p);
    expect(me).toBe(join(tmp, `.c.txt.${process.pid}@${tempHost()}.tmp`));
    // Another host's writer mid-write: its pid means nothing here, so it must stay.
    const otherHost = join(tmp, '.c.txt.999999999@other-host.example.tmp');
    const deadHere = join(tmp, `.c.txt.999999999@${tempHost()}.tmp`);
    const liveHere = join(tmp, `.c.txt.${process.ppid}@${tempHost()}.tmp`);
    const oldFormatDead = join(tmp, '.c.txt.999999998.tmp'); // written before temporaries named the host
    for (const f of [otherHost, deadHere, liveHere, oldFormatDead, me]) writeFileSync(f, 'x');
    expect(cleanTempFiles(p).sort()).toEqual(
      [`.c.txt.999999999@${tempHost()}.tmp`, '.c.txt.999999998.tmp', `.c.txt.${process.pid}@${tempHost()}.tmp`].sort(),
    );
    expect(existsSync(otherHost)).toBe(true);
    expect(existsSync(liveHere)).toBe(true);
    writeFileAtomic(p, 'one\n');
    expect(existsSync(otherHost)).toBe(true);
    expect(readFileSync(p, 'utf8')).toBe('one\n');
  });
});

describe('lock files across processes', () => {
  it('a live holder refuses a second process naming its pid; once it is killed the lock is taken over', async () => {
    const lock = join(tmp, 'run.lock');
    const holder = await holdLock('hold', lock);
    expect(lockOwner(lock)?.pid).toBe(holder.pid);
    const second = await tryLock('try', lock);
    expect(second.code).toBe(3);
    expect(second.out).toMatch(new RegExp(`^held: .* in use by process ${holder.pid} `));
    expect(second.out.trim().split('\n')).toHaveLength(1);
    // In this process too.
    expect(() => acquireLock(lock)).toThrow(LockHeldError);
    await killAndWait(holder);
    const third = await tryLock('try', lock);
    expect(third.code, third.out).toBe(0);
    expect(third.err).toMatch(new RegExp(`stale ${holder.pid}`));
    expect(existsSync(lock)).toBe(false); // released on exit
  });

  it('two runs on one checkpoint directory: the second refuses while the first holds it', async () => {
    const dir = join(tmp, 'ck');
    const first = await holdLock('ckpt', dir);
    const second = await tryLock('ckpt', dir);
    expect(second.code).toBe(3);
    expect(second.out).toMatch(new RegExp(`checkpoint directory .*ck is in use by process ${first.pid}`));
    await killAndWait(first);
    const again = await holdLock('ckpt', dir);
    await killAndWait(again);
  });

  it('same process: a lock is released and can be taken again; a lock of a reused pid is stale', () => {
    const p = join(tmp, 'self.lock');
    const a = acquireLock(p);
    a.release();
    const b = acquireLock(p);
    b.release();
    // An owner whose recorded start time differs from the live process with that pid: pid reused.
    writeFileSync(p, JSON.stringify({ pid: process.pid, host: hostname(), pidStart: '1', since: 'x' }));
    const stale: number[] = [];
    const c = acquireLock(p, { onStale: (o) => stale.push(o.pid) });
    expect(stale).toEqual([process.pid]);
    c.release();
  });

  it('the lock’s temporaries carry the host: a checkpoint directory’s cleanup leaves another host’s alone', () => {
    const dir = join(tmp, 'lock-tmp');
    mkdirSync(dir);
    const lock = join(dir, 'lock');
    const { tmp: made, aside } = lockTempPaths(lock);
    expect(made).toBe(`${lock}.${process.pid}@${tempHost()}.tmp`);
    expect(aside).toBe(`${lock}.stale.${process.pid}@${tempHost()}.tmp`);
    // A stale lock (pid reused) taken over: the content is linked from, the stale one moved to, these names.
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), pidStart: '1', since: 'x' }));
    moved.length = 0;
    acquireLock(lock).release();
    // Linked (refused: the lock exists), the stale lock moved aside, linked again.
    expect(moved).toEqual([`${made} -> ${lock}`, `${lock} -> ${aside}`, `${made} -> ${lock}`]);
    expect(readdirSync(dir)).toEqual([]);
    const here = tempHost();
    const names = {
      otherHost: 'lock.999999999@other-host.example.tmp', // another host taking the lock right now
      otherHostAside: 'lock.stale.999999999@other-host.example.tmp',
      liveHere: `lock.${process.ppid}@${here}.tmp`,
      deadHere: `lock.999999999@${here}.tmp`,
      deadAsideHere: `lock.stale.999999999@${here}.tmp`,
      oldFormatDead: 'lock.999999998.tmp', // before the names carried the host
      oldFormatAsideDead: 'lock.stale.999999998.tmp',
      oldFormatLive: `lock.${process.ppid}.tmp`,
    };
    for (const n of Object.values(names)) writeFileSync(join(dir, n), '{}');
    expect(cleanCheckpointDir(dir).sort()).toEqual(
      [names.deadHere, names.deadAsideHere, names.oldFormatDead, names.oldFormatAsideDead].sort(),
    );
    expect(readdirSync(dir).sort()).toEqual([names.otherHost, names.otherHostAside, names.liveHere, names.oldFormatLive].sort());
  });
});

describe('checkpoint directory cleaning', () => {
  it('removes the checkpoint writers’ own temporaries only: a user’s *.tmp in DIR stay', () => {
    const dir = join(tmp, 'ckpt-users-folder');
    mkdirSync(join(dir, 'ckpt-000002.tmp'), { recursive: true });
    writeFileSync(join(dir, 'ckpt-000002.tmp', 'weights.bin'), 'x');
    const here = tempHost();
    const own = ['ckpt-000002.tmp', `.current.999999999@${here}.tmp`, `.provenance.json.999999999@${here}.tmp`, 'state.json.tmp'];
    for (const n of own.slice(1)) writeFileSync(join(dir, n), 'x');
    // --checkpoint . in a folder of the user's: nothing of these is the run's.
    const users = ['notes.tmp', 'build.tmp', `.report.pdf.999999999@${here}.tmp`];
    writeFileSync(join(dir, 'notes.tmp'), 'mine');
    mkdirSync(join(dir, 'build.tmp'));
    writeFileSync(join(dir, 'build.tmp', 'a.o'), 'mine');
    writeFileSync(join(dir, users[2]), 'mine');
    expect(cleanCheckpointDir(dir).sort()).toEqual([...own].sort());
    expect(readdirSync(dir).sort()).toEqual([...users].sort());
    expect(readFileSync(join(dir, 'build.tmp', 'a.o'), 'utf8')).toBe('mine');
  });

  it('reads a temporary of a host whose name ends in .<digits> (node.1, an IP address) as that host’s', () => {
    expect(atomicTempOf('.current.123@node.1.tmp')).toEqual({ file: 'current', id: '123@node.1' });
    expect(atomicTempOf('.provenance.json.77@10.0.0.5.tmp')).toEqual({ file: 'provenance.json', id: '77@10.0.0.5' });
    expect(atomicTempOf('.a.1.123@h.tmp')).toEqual({ file: 'a.1', id: '123@h' });
    expect(atomicTempOf('.scores.csv.4242.tmp')).toEqual({ file: 'scores.csv', id: '4242' });
    expect(atomicTempOf('notes.tmp')).toBeUndefined();
    // A checkpoint's own temporaries written on such a host go with the rest.
    const dir = join(tmp, 'ckpt-dotted-host');
    mkdirSync(dir, { recursive: true });
    const own = [`.current.999999999@node.1.tmp`, `.provenance.json.999999999@10.0.0.5.tmp`];
    for (const n of own) writeFileSync(join(dir, n), 'x');
    expect(cleanCheckpointDir(dir).sort()).toEqual([...own].sort());
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('lock temporaries', () => {
  it('taking a lock removes the temporaries a killed taker of it left, a dead process’s on this host only', () => {
    const dir = join(tmp, 'lock-leftovers');
    mkdirSync(dir);
    const lock = join(dir, 'run.csv.lock');
    const here = tempHost();
    const dead = [`run.csv.lock.999999999@${here}.tmp`, `run.csv.lock.stale.999999999@${here}.tmp`, 'run.csv.lock.999999998.tmp'];
    const kept = [
      `run.csv.lock.${process.ppid}@${here}.tmp`, // a live process taking it right now
      'run.csv.lock.999999999@other-host.example.tmp', // another host's pid says nothing here
      `.run.csv.999999999@${here}.tmp`, // writeFileAtomic's, swept by its own rules
      'run.csv',
    ];
    for (const n of [...dead, ...kept]) writeFileSync(join(dir, n), '{}');
    acquireLock(lock).release();
    expect(readdirSync(dir).sort()).toEqual([...kept].sort());
  });
});

describe('RowStream', () => {
  const settings = { '--seed': 1, '--proxies': 'wrcor' };
  it('CSV: appends rows, drops a partial last line on resume, refuses other settings naming the flag', () => {
    const p = join(tmp, 'rows.csv');
    const s = new RowStream(p, { settings });
    s.append([{ arch: 'a', wrcor: 1.5, val_acc: undefined }]);
    s.append([{ arch: 'b', wrcor: NaN, val_acc: 90 }]);
    s.close();
    appendFileSync(p, '"c",2.'); // killed mid-line
    expect(() => new RowStream(p, { settings: { ...settings, '--seed': 2 }, resume: true })).toThrow(
      /^--resume: --seed was 1, now 2/,
    );
    expect(() => new RowStream(p, { settings: { ...settings, '--seed': 2 }, resume: true })).toThrow(ResumeMismatchError);
    const r = new RowStream(p, { settings, resume: true });
    expect(r.done).toEqual([
      { arch: 'a', wrcor: '1.5', val_acc: '' },
      { arch: 'b', wrcor: 'NaN', val_acc: '90' },
    ]);
    expect(() => checkResumedKeys(p, r.done, ['a', 'x', 'y'], 'arch')).toThrow(ResumeMismatchError);
    checkResumedKeys(p, r.done, ['a', 'b', 'c'], 'arch');
    r.append([{ arch: 'c', wrcor: 2, val_acc: 91 }]);
    r.finish();
    expect(readFileSync(p, 'utf8')).toBe('arch,wrcor,val_acc\na,1.5,\nb,NaN,90\nc,2,91\n');
    expect(existsSync(`${p}.lock`)).toBe(false);
  });

  it('.json: streams to FILE.rows.jsonl, writes FILE at the end, and resumes from either', () => {
    const p = join(tmp, 'rows.json');
    const s = new RowStream(p, { settings });
    s.append([{ arch: 'a', wrcor: 1 }]);
    s.close();
    expect(existsSync(p)).toBe(false);
    const r = new RowStream(p, { settings, resume: true });
    expect(r.done).toEqual([{ arch: 'a', wrcor: 1 }]);
    r.append([{ arch: 'b', wrcor: 2 }]);
    r.finish();
    expect(JSON.parse(readFileSync(p, 'utf8'))).toEqual([
      { arch: 'a', wrcor: 1 },
      { arch: 'b', wrcor: 2 },
    ]);
    expect(existsSync(`${p}.rows.jsonl`)).toBe(false);
    const again = new RowStream(p, { settings, resume: true });
    expect(again.done).toHaveLength(2);
    again.finish();
    expect(readStreamedRows(p, 'json').rows).toHaveLength(2);
  });

  it('refuses to resume a file without its settings record', () => {
    const p = join(tmp, 'foreign.csv');
    writeFileSync(p, 'arch,wrcor\na,1\n');
    expect(() => new RowStream(p, { settings, resume: true })).toThrow(/no .*settings\.json/);
    // A corrupt row is a content error, not a usage one.
    const bad = join(tmp, 'corrupt.jsonl');
    new RowStream(bad, { settings }).finish();
    writeFileSync(bad, '{"arch": "a"}\nnot json\n');
    expect(() => new RowStream(bad, { settings, resume: true })).toThrow(RowStreamError);
  });

  it('state: written with the first rows (or at once on a resume), read back and kept by a resume, dropped by a fresh run', () => {
    const p = join(tmp, 'state.csv');
    const side = () => JSON.parse(readFileSync(`${p}.settings.json`, 'utf8')) as { state?: unknown; complete: boolean };
    const prices = { cellPrices: { fixed: 0.1, perPosition: [[0.25, 1 / 3]] } };
    const s = new RowStream(p, { settings });
    s.recordState(prices);
    // Nothing on disk until there is a row: a fresh run stopped before it leaves the old output alone.
    expect(existsSync(`${p}.settings.json`)).toBe(false);
    s.append([{ arch: 'a', wrcor: 1 }]);
    expect(side().state).toEqual(prices);
    s.close();
    const r = new RowStream(p, { settings, resume: true });
    expect(r.state).toEqual(prices); // every digit: 1/3 read back as it was
    r.finish();
    expect(side()).toMatchObject({ state: prices, complete: true });
    // A resume of the finished file leaves it finished until its first new row; the state stays.
    const again = new RowStream(p, { settings, resume: true });
    expect(side()).toMatchObject({ state: prices, complete: true });
    again.append([{ arch: 'b', wrcor: 2 }]);
    expect(side()).toMatchObject({ state: prices, complete: false });
    again.recordState({ ...again.state, other: 1 });
    expect(side().state).toEqual({ ...prices, other: 1 });
    again.close();
    const fresh = new RowStream(p, { settings });
    expect(fresh.state).toBeUndefined();
    fresh.append([{ arch: 'b', wrcor: 2 }]);
    fresh.close();
    expect(side().state).toBeUndefined();
    // A hand-edited state that is not an object is refused naming the record.
    writeFileSync(
      `${p}.settings.json`,
      JSON.stringify({ format: 'wgnas-row-stream', version: 1, settings, complete: false, state: [1] }),
    );
    expect(() => new RowStream(p, { settings, resume: true })).toThrow(/state\.csv\.settings\.json: 'state' is not an object/);
  });
});

describe('a full disk (ENOSPC)', () => {
  afterEach(() => {
    disk.left = Infinity;
  });
  const temps = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.tmp'));

  it('writeFileAtomic names the file, keeps the old contents and leaves no temporary', () => {
    const dir = mkdtempSync(join(tmp, 'full-'));
    const p = join(dir, 's.csv');
    writeFileSync(p, 'old\n');
    disk.left = 3; // a part of the new contents fits, then the disk is full
    expect(() => writeFileAtomic(p, 'new contents\n')).toThrow(
      new WriteError(`cannot write '${p}': no space left on device (ENOSPC); its earlier contents are kept`, p, 'ENOSPC'),
    );
    expect(readFileSync(p, 'utf8')).toBe('old\n');
    const fresh = join(dir, 'new.json');
    disk.left = 0;
    expect(() => writeFileAtomic(fresh, '{}')).toThrow(
      `cannot write '${fresh}': no space left on device (ENOSPC); nothing was written`,
    );
    expect(readdirSync(dir)).toEqual(['s.csv']);
  });

  it('a lock names its file and leaves no temporary; a row stream names its file, keeps its rows and releases its lock', () => {
    const dir = mkdtempSync(join(tmp, 'full-'));
    const p = join(dir, 's.csv');
    disk.left = 0;
    expect(() => acquireLock(`${p}.lock`, { what: `output ${p}` })).toThrow(
      `cannot write '${p}.lock' (the lock of output ${p}): no space left on device (ENOSPC)`,
    );
    expect(() => new RowStream(p, { settings: { '--seed': 1 } })).toThrow(WriteError);
    expect(readdirSync(dir)).toEqual([]);
    disk.left = Infinity;
    const s = new RowStream(p, { settings: { '--seed': 1 } });
    s.append([{ arch: 'a', wrcor: 1 }]);
    disk.left = 2; // half a row
    let err: unknown;
    try {
      s.append([{ arch: 'b', wrcor: 2 }]);
    } catch (e) {
      err = e;
    }
    s.close();
    expect(err).toBeInstanceOf(WriteError);
    expect((err as Error).message).toBe(
      `cannot write '${p}': no space left on device (ENOSPC); the rows written before are kept (--resume continues after them)`,
    );
    expect(temps(dir)).toEqual([]);
    expect(existsSync(`${p}.lock`)).toBe(false);
    disk.left = Infinity;
    // The part-written row is dropped on resume.
    const r = new RowStream(p, { settings: { '--seed': 1 }, resume: true });
    expect(r.done).toEqual([{ arch: 'a', wrcor: '1' }]);
    r.close();
  });
});

describe('a full disk during a checkpoint save', () => {
  it('names the file, removes the part-written checkpoint and keeps the previous one', async () => {
    const dir = mkdtempSync(join(tmp, 'ck-full-'));
    const tensor = (xs: number[]) => ({ size: xs.length, shape: [xs.length], read: async () => new Float32Array(xs) });
    const params = [{ name: 'w', value: tensor([1, 2, 3, 4]) }] as unknown as Param[];
    await saveCheckpoint(dir, params, new Map(), { step: 1 });
    expect(readFileSync(join(dir, 'current'), 'utf8')).toBe('ckpt-000001\n');
    const lock = lockCheckpointDir(dir); // held, as a run holds it, so the save writes only the checkpoint
    disk.left = 6; // part of weights.bin
    try {
      await expect(saveCheckpoint(dir, params, new Map(), { step: 2 })).rejects.toThrow(
        `cannot write '${join(dir, 'ckpt-000002.tmp', 'weights.bin')}': no space left on device (ENOSPC); the previous checkpoint is kept`,
      );
    } finally {
      disk.left = Infinity;
      lock.release();
    }
    expect(readdirSync(dir).sort()).toEqual(['ckpt-000001', 'current']);
    expect(readCheckpoint(dir).meta.step).toBe(1);
  });
});

describe('removeCheckpointDir (a finished run)', () => {
  const tensor = (xs: number[]) => ({ size: xs.length, shape: [xs.length], read: async () => new Float32Array(xs) });
  const params = [{ name: 'w', value: tensor([1, 2]) }] as unknown as Param[];

  it('removes everything but the lock while holding it, then the lock, then DIR', async () => {
    const dir = join(mkdtempSync(join(tmp, 'ck-rm-')), 'ck');
    const lock = lockCheckpointDir(dir);
    await saveCheckpoint(dir, params, new Map(), { step: 1 });
    writeFileSync(join(dir, 'stray.tmp'), 'x');
    let atRelease: string[] = [];
    removeCheckpointDir(dir, {
      path: lock.path,
      release: () => {
        atRelease = readdirSync(dir);
        lock.release();
      },
    });
    expect(atRelease).toEqual(['lock']);
    expect(existsSync(dir)).toBe(false);
  });

  it('keeps DIR when another run took it once the lock was released', async () => {
    const dir = join(mkdtempSync(join(tmp, 'ck-rm-')), 'ck');
    const lock = lockCheckpointDir(dir);
    await saveCheckpoint(dir, params, new Map(), { step: 1 });
    removeCheckpointDir(dir, {
      path: lock.path,
      release: () => {
        lock.release();
        writeFileSync(join(dir, 'lock'), 'the next run'); // it takes DIR at once
      },
    });
    expect(readdirSync(dir)).toEqual(['lock']);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe('the next run');
  });
});

describe('links and special files', () => {
  it('writeFileAtomic and appendDurable follow a link (to a file, or to a new name): the target is written, the link stays', () => {
    const dir = mkdtempSync(join(tmp, 'links-'));
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real', 'a.txt'), 'old\n');
    symlinkSync(join(dir, 'real', 'a.txt'), join(dir, 'a.txt'));
    symlinkSync('real/b.txt', join(dir, 'b.txt')); // relative, and dangling until written
    writeFileAtomic(join(dir, 'a.txt'), 'new\n');
    writeFileAtomic(join(dir, 'b.txt'), 'b\n');
    appendDurable(join(dir, 'b.txt'), 'more\n');
    expect(readFileSync(join(dir, 'real', 'a.txt'), 'utf8')).toBe('new\n');
    expect(readFileSync(join(dir, 'real', 'b.txt'), 'utf8')).toBe('b\nmore\n');
    expect(readlinkSync(join(dir, 'a.txt'))).toBe(join(dir, 'real', 'a.txt'));
    expect(readlinkSync(join(dir, 'b.txt'))).toBe('real/b.txt');
    expect(readdirSync(dir).sort()).toEqual(['a.txt', 'b.txt', 'real']);
    expect(readdirSync(join(dir, 'real')).sort()).toEqual(['a.txt', 'b.txt']);
  });

  it('a RowStream through a link keeps its rows, lock and settings beside the target', () => {
    const dir = mkdtempSync(join(tmp, 'links-'));
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real', 'rows.csv'), join(dir, 'rows.csv'));
    const s = new RowStream(join(dir, 'rows.csv'), { settings: { '--seed': 1 } });
    expect(existsSync(join(dir, 'real', 'rows.csv.lock'))).toBe(true);
    s.append([{ arch: 'a', wrcor: 1 }]);
    s.finish([{ arch: 'a', wrcor: 1 }]);
    expect(lstatSync(join(dir, 'rows.csv')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'rows.csv'), 'utf8')).toBe('arch,wrcor\na,1\n');
    expect(readdirSync(dir).sort()).toEqual(['real', 'rows.csv']);
    expect(readdirSync(join(dir, 'real')).sort()).toEqual(['rows.csv', 'rows.csv.settings.json']);
    const r = new RowStream(join(dir, 'rows.csv'), { settings: { '--seed': 1 }, resume: true });
    expect(r.done).toEqual([{ arch: 'a', wrcor: '1' }]);
    r.close();
  });

  it('a profile table through a link: the entries land in the target, the lock beside it; a full disk names the table', async () => {
    const dir = mkdtempSync(join(tmp, 'table-'));
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real', 't.yaml'), join(dir, 't.yaml'));
    const locks: boolean[] = [];
    const source = (fullAfter?: number): TableSource => ({
      stamp: async () => ({ cpu: 'test' }),
      resumeFields: ['cpu'],
      measure: async (keys, put) => {
        for (const [i, k] of keys.entries()) {
          locks.push(existsSync(join(dir, 'real', 't.yaml.lock')));
          if (i === fullAfter) disk.left = 5;
          put(k, { count: 1, mean: i + 1 });
        }
      },
    });
    const out = join(dir, 't.yaml');
    const r = await buildTable({ keys: ['a', 'b'], out }, source());
    expect(r.measured).toBe(2);
    expect(locks).toEqual([true, true]);
    expect(lstatSync(out).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'real', 't.yaml'), 'utf8')).toMatch(/^a:\n[\s\S]*^b:\n/m);
    expect(readdirSync(dir).sort()).toEqual(['real', 't.yaml']);
    try {
      await expect(buildTable({ keys: ['a', 'b', 'c'], out, resume: true }, source(0))).rejects.toThrow(
        `cannot write '${join(dir, 'real', 't.yaml')}': no space left on device (ENOSPC); the entries measured before are kept (--resume continues after them)`,
      );
    } finally {
      disk.left = Infinity;
    }
    expect(readdirSync(join(dir, 'real')).sort()).toEqual(['t.yaml']);
  });

  it('a fifo (also behind a link) is refused, not replaced', () => {
    const dir = mkdtempSync(join(tmp, 'special-'));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    symlinkSync(fifo, join(dir, 'link'));
    expect(() => writeFileAtomic(fifo, 'x')).toThrow(`cannot write '${fifo}': it is a fifo (named pipe), not a regular file`);
    expect(() => writeFileAtomic(join(dir, 'link'), 'x')).toThrow(
      `cannot write '${join(dir, 'link')}' (a link to '${fifo}'): it is a fifo (named pipe), not a regular file`,
    );
    expect(() => appendDurable(fifo, 'x')).toThrow(WriteError);
    expect(() => new RowStream(join(dir, 'link'), { settings: {} })).toThrow(/is a fifo/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['fifo', 'link']);
  });
});
