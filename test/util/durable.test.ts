/**
 * The fs-safety primitives (src/util/durable.ts) and the row stream (src/data/row-stream.ts):
 * atomic writes, durable appends, temp cleanup, and lock files held by real child processes
 * (a live holder refuses naming its pid; a SIGKILLed holder's lock is stale and taken over).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { checkResumedKeys, readStreamedRows, RowStream, RowStreamError } from '../../src/data/row-stream.js';
import { ResumeMismatchError } from '../../src/util/run-settings.js';
import {
  acquireLock,
  cleanTempFiles,
  LockHeldError,
  lockOwner,
  tempPathFor,
  writeFileAtomic,
  appendDurable,
} from '../../src/util/durable.js';
import { REPO } from '../helpers/paths.js';

const run = promisify(execFile);
const HOLDER = join(REPO, 'test', 'helpers', 'lock-holder.ts');
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-durable-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts a child holding the lock; resolves once it printed "locked". */
function holdLock(mode: 'hold' | 'ckpt', path: string): Promise<ChildProcess> {
  const c = spawn(process.execPath, ['--import', 'tsx', HOLDER, mode, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  return new Promise((resolve, reject) => {
    let out = '';
    c.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('locked')) resolve(c);
      else if (out.includes('held') || out.includes('error')) reject(new Error(out));
    });
    c.on('exit', (code) => reject(new Error(`holder exited ${code}: ${out}`)));
  });
}

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
    expect(cleanTempFiles(p).sort()).toEqual(['.a.txt.999999999.tmp', `.a.txt.${process.pid}.tmp`].sort());
    expect(existsSync(live)).toBe(true);
    appendDurable(p, 'three\n');
    expect(readFileSync(p, 'utf8')).toBe('two\nthree\n');
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
});
