/**
 * `wgnas data fetch` against a local HTTP server (no network in CI): resumable downloads through
 * dropped connections and servers that ignore Range, MD5 verification, safe unpacking of only the
 * expected members, and the official CIFAR binary readers on what was fetched.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from 'tar';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CIFAR_FORMATS, loadCifar, readCifarFiles } from '../../src/data/cifar-official.js';
import { COMPLETE_MARKER, DATASETS, fetchDataset, listData, type RemoteDataset } from '../../src/data/datasets.js';
import { defaultIdleTimeoutMs, download, DownloadError, UnreachableError, WrongFileError } from '../../src/data/download.js';
import { fetchHint, offlineHint } from '../../src/cli/commands/data.js';
import { wgnasChild } from '../helpers/child.js';
import { wgnasCapturingStderr, wgnasInProcess } from '../helpers/cli.js';
import { REPO } from '../helpers/paths.js';

const FETCH_CHILD = join(REPO, 'test', 'helpers', 'fetch-child.ts');
const LOCK_HOLDER = join(REPO, 'test', 'helpers', 'lock-holder.ts');

/** fetchDataset in a child process that SIGKILLs itself at `killAt` (WGNAS_TEST_KILL_AT). */
function fetchChild(argv: string[], killAt: string): Promise<{ signal: NodeJS.Signals | null; stderr: string }> {
  const c = spawn(process.execPath, ['--import', 'tsx', FETCH_CHILD, ...argv], {
    env: { ...process.env, WGNAS_TEST_KILL_AT: killAt },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  c.stderr!.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve) => c.on('close', (_code, signal) => resolve({ signal, stderr })));
}

/** What killed fetches left beside the dataset folders of `root`. */
const leftovers = (root: string) => readdirSync(root).filter((n) => /^(\.cifar10\.tmp|cifar10\.old)-\d+$/.test(n));

const work = mkdtempSync(join(tmpdir(), 'wgnas-fetch-'));

/** A CIFAR-10-shaped archive: 5 train batches of 3 records, a test batch of 2; labels = record index % 10. */
function cifarRecords(n: number, first: number): Buffer {
  const b = Buffer.alloc(n * 3073);
  for (let i = 0; i < n; i++) {
    b[i * 3073] = (first + i) % 10;
    for (let p = 0; p < 3072; p++) b[i * 3073 + 1 + p] = (first + i + p) & 255;
  }
  return b;
}

let archive: Buffer;
let server: Server;
let base: string;
/** Per-request behaviour, set by each test. */
let mode: 'ok' | 'drop-once' | 'ignore-range' | '404' | '400' | 'unavailable' | 'silent' | 'stall' = 'ok';
/** With 'unavailable': how many requests get HTTP 503 before the file is served. */
let unavailableFor = 0;
/** Responses held open by 'silent' and 'stall' (ended after each test). */
let held: ServerResponse[] = [];
let requests: Array<{ range?: string }> = [];

beforeAll(async () => {
  const src = join(work, 'src');
  mkdirSync(join(src, 'cifar-10-batches-bin'), { recursive: true });
  for (let i = 1; i <= 5; i++)
    writeFileSync(join(src, 'cifar-10-batches-bin', `data_batch_${i}.bin`), cifarRecords(3, (i - 1) * 3));
  writeFileSync(join(src, 'cifar-10-batches-bin', 'test_batch.bin'), cifarRecords(2, 100));
  writeFileSync(join(src, 'cifar-10-batches-bin', 'batches.meta.txt'), 'airplane\n');
  writeFileSync(join(src, 'cifar-10-batches-bin', 'readme.html'), 'not wanted');
  await create({ gzip: true, file: join(work, 'cifar-10-binary.tar.gz'), cwd: src }, ['cifar-10-batches-bin']);
  archive = readFileSync(join(work, 'cifar-10-binary.tar.gz'));
  let dropped = false;
  server = createServer((req, res) => {
    requests.push({ range: req.headers.range });
    if (mode === '404' || mode === '400') {
      res.writeHead(mode === '404' ? 404 : 400).end();
      return;
    }
    if (mode === 'unavailable' && unavailableFor > 0) {
      unavailableFor--;
      res.writeHead(503).end();
      return;
    }
    if (mode === 'silent') {
      held.push(res); // accepts the connection, never answers
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m && mode !== 'ignore-range' ? Number(m[1]) : 0;
    const body = archive.subarray(start);
    res.writeHead(start > 0 ? 206 : 200, {
      'content-length': String(body.length),
      ...(start > 0 ? { 'content-range': `bytes ${start}-${archive.length - 1}/${archive.length}` } : {}),
    });
    if (mode === 'stall') {
      held.push(res);
      res.write(body.subarray(0, 100)); // then nothing, connection open
      return;
    }
    if (mode === 'drop-once' && !dropped) {
      dropped = true;
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => {
  server.close();
  rmSync(work, { recursive: true, force: true });
});
afterEach(() => {
  mode = 'ok';
  unavailableFor = 0;
  requests = [];
  for (const r of held) r.destroy();
  held = [];
});

const spec = (): RemoteDataset => ({
  ...DATASETS.cifar10,
  url: `${base}cifar-10-binary.tar.gz`,
  bytes: archive.length,
  md5: createHash('md5').update(archive).digest('hex'),
});

describe('download', () => {
  it('resumes through a dropped connection with a Range request', async () => {
    mode = 'drop-once';
    const dest = join(work, 'a.tgz');
    const notes: string[] = [];
    await download(`${base}x`, dest, { bytes: archive.length, md5: spec().md5, onNote: (s) => notes.push(s), retryDelayMs: 0 });
    expect(readFileSync(dest).equals(archive)).toBe(true);
    expect(requests.length).toBe(2);
    expect(requests[1].range).toMatch(/^bytes=\d+-$/);
    expect(notes.join('\n')).toMatch(/resuming from \d+ bytes/);
    expect(existsSync(`${dest}.partial`)).toBe(false);
  });

  it('continues a partial file left by a killed run', async () => {
    const dest = join(work, 'b.tgz');
    writeFileSync(`${dest}.partial`, archive.subarray(0, 1000));
    await download(`${base}x`, dest, { bytes: archive.length, md5: spec().md5 });
    expect(readFileSync(dest).equals(archive)).toBe(true);
    expect(requests).toEqual([{ range: 'bytes=1000-' }]);
  });

  it('starts over when the server ignores Range', async () => {
    mode = 'ignore-range';
    const dest = join(work, 'c.tgz');
    writeFileSync(`${dest}.partial`, archive.subarray(0, 500));
    const notes: string[] = [];
    await download(`${base}x`, dest, { bytes: archive.length, md5: spec().md5, onNote: (s) => notes.push(s) });
    expect(readFileSync(dest).equals(archive)).toBe(true);
    expect(notes.join('\n')).toMatch(/does not resume/);
  });

  it('refuses a file whose MD5 differs and removes it: the server sent the wrong file, running again does not help', async () => {
    const dest = join(work, 'd.tgz');
    const got = download(`${base}x`, dest, { bytes: archive.length, md5: '0'.repeat(32) });
    await expect(got).rejects.toThrow(WrongFileError);
    await expect(got).rejects.toThrow(
      new RegExp(`^${base}x: the server sent the wrong file \\(MD5 ${spec().md5}, expected 0{32}\\); the download was removed$`),
    );
    expect(existsSync(dest) || existsSync(`${dest}.partial`)).toBe(false);
  });

  it('a whole file of the wrong size is the wrong file; one that continued an earlier partial download says to run again', async () => {
    const dest = join(work, 'd2.tgz');
    const fresh = download(`${base}x`, dest, { bytes: archive.length + 1 });
    await expect(fresh).rejects.toThrow(WrongFileError);
    await expect(fresh).rejects.toThrow(
      `${base}x: the server sent the wrong file (${archive.length} bytes, expected ${archive.length + 1}); the download was removed`,
    );
    expect(existsSync(`${dest}.partial`)).toBe(false);
    // Another file's first bytes, left by an earlier run: continued, the whole is wrong, a fresh run is right.
    writeFileSync(`${dest}.partial`, Buffer.alloc(1000, 7));
    await expect(download(`${base}x`, dest, { bytes: archive.length, md5: spec().md5 })).rejects.toThrow(
      /the server sent the wrong file \(MD5 [0-9a-f]{32}, expected [0-9a-f]{32}\); the download was removed; it continued a partial download of an earlier run: run again to download it whole$/,
    );
    await download(`${base}x`, dest, { bytes: archive.length, md5: spec().md5 });
    expect(readFileSync(dest).equals(archive)).toBe(true);
    // A server that ignores Range sends the file whole: a wrong one is not blamed on the earlier run.
    mode = 'ignore-range';
    rmSync(dest);
    writeFileSync(`${dest}.partial`, Buffer.alloc(1000, 7));
    const notes: string[] = [];
    const whole = download(`${base}x`, dest, { bytes: archive.length, md5: '0'.repeat(32), onNote: (n) => notes.push(n) });
    await expect(whole).rejects.toThrow(
      new RegExp(`^${base}x: the server sent the wrong file \\(MD5 ${spec().md5}, expected 0{32}\\); the download was removed$`),
    );
    expect(notes).toEqual([`${base}x: server does not resume downloads; starting again`]);
  });

  it('a server that never answers, or stalls mid-body: each attempt ends after the idle timeout, naming the URL and why', async () => {
    expect(archive.length).toBeGreaterThan(300);
    for (const m of ['silent', 'stall'] as const) {
      mode = m;
      const dest = join(work, `${m}.tgz`);
      const notes: string[] = [];
      const t0 = Date.now();
      const err = await download(`${base}${m}.tgz`, dest, {
        bytes: archive.length,
        retries: 2,
        retryDelayMs: 0,
        idleTimeoutMs: 200,
        onNote: (n) => notes.push(n),
      }).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(DownloadError);
      expect((err as Error).message).toMatch(
        new RegExp(
          `^${base}${m}\\.tgz: no data for 0\\.2 s \\(the server does not answer or stalled\\) \\(after 3 attempts; run again to resume\\)$`,
        ),
      );
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(requests.length).toBe(3);
      expect(notes).toHaveLength(2);
      expect(notes[0]).toMatch(
        new RegExp(`^${base}${m}\\.tgz: no data for 0\\.2 s .*; attempt 2 of 3, resuming from \\d+ bytes$`),
      );
      // A stalled body keeps what arrived: the next attempt asks for the rest.
      if (m === 'stall') expect(requests.map((q) => q.range)).toEqual([undefined, 'bytes=100-', 'bytes=200-']);
      requests = [];
      for (const r of held) r.destroy();
      held = [];
    }
  });

  it('the idle timeout defaults to $WGNAS_FETCH_IDLE_TIMEOUT_MS, else 30 s; a refused connection names its reason', async () => {
    const saved = process.env.WGNAS_FETCH_IDLE_TIMEOUT_MS;
    try {
      delete process.env.WGNAS_FETCH_IDLE_TIMEOUT_MS;
      expect(defaultIdleTimeoutMs()).toBe(30_000);
      process.env.WGNAS_FETCH_IDLE_TIMEOUT_MS = '150';
      expect(defaultIdleTimeoutMs()).toBe(150);
      mode = 'silent';
      await expect(download(`${base}env.tgz`, join(work, 'env.tgz'), { retries: 0 })).rejects.toThrow(
        /env\.tgz: no data for 0\.15 s/,
      );
    } finally {
      if (saved === undefined) delete process.env.WGNAS_FETCH_IDLE_TIMEOUT_MS;
      else process.env.WGNAS_FETCH_IDLE_TIMEOUT_MS = saved;
    }
    // A port nobody listens on: undici's 'fetch failed' with its cause.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(download(`http://127.0.0.1:${port}/x.tgz`, join(work, 'refused.tgz'), { retries: 0 })).rejects.toThrow(
      new RegExp(`^http://127\\.0\\.0\\.1:${port}/x\\.tgz: fetch failed \\(.*ECONNREFUSED.*\\)`),
    );
  });

  it('names the URL and status of an HTTP error, without retrying', async () => {
    mode = '404';
    await expect(download(`${base}missing.tgz`, join(work, 'e.tgz'))).rejects.toThrow(DownloadError);
    await expect(download(`${base}missing.tgz`, join(work, 'e.tgz'))).rejects.toThrow(/missing\.tgz: HTTP 404/);
    expect(requests.length).toBe(2);
    mode = '400';
    requests = [];
    await expect(download(`${base}bad.tgz`, join(work, 'e.tgz'))).rejects.toThrow(
      new RegExp(`^${base}bad\\.tgz: HTTP 400 Bad Request$`),
    );
    expect(requests.length).toBe(1);
  });

  it('waits 1, 2, 4... s (x retryDelayMs / 1000) before each retry, and a server back up after 503s serves the file', async () => {
    mode = 'unavailable';
    unavailableFor = 3;
    const dest = join(work, 'busy.tgz');
    const notes: string[] = [];
    await download(`${base}busy.tgz`, dest, {
      bytes: archive.length,
      md5: spec().md5,
      retryDelayMs: 4,
      onNote: (n) => notes.push(n),
    });
    expect(readFileSync(dest).equals(archive)).toBe(true);
    expect(requests.length).toBe(4);
    expect(notes).toEqual(
      [2, 3, 4].map(
        (k) =>
          `${base}busy.tgz: HTTP 503 Service Unavailable; attempt ${k} of 6 in ${(4 * 2 ** (k - 2)) / 1000} s, resuming from 0 bytes`,
      ),
    );
    // The default wait is 1 s, then 2 s...; Ctrl-C (the signal) during a wait ends the download at once.
    unavailableFor = 1;
    requests = [];
    const stop = new AbortController();
    const waited: string[] = [];
    const err = await download(`${base}busy.tgz`, join(work, 'busy2.tgz'), {
      signal: stop.signal,
      onNote: (n) => {
        waited.push(n);
        stop.abort();
      },
    }).catch((e: unknown) => e as Error);
    expect(waited).toEqual([`${base}busy.tgz: HTTP 503 Service Unavailable; attempt 2 of 6 in 1 s, resuming from 0 bytes`]);
    // Nothing came (the retries ran out): an unreachable host, which 'wgnas data fetch' gives the offline routes for.
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as Error).message).toBe(`${base}busy.tgz: HTTP 503 Service Unavailable (after 1 attempts; run again to resume)`);
    expect(requests.length).toBe(1);
  });

  it('an error no retry mends (a bad port, an unknown scheme) is not retried', async () => {
    const notes: string[] = [];
    // Port 1 is on fetch's list of bad ports: it refuses before connecting.
    await expect(
      download('http://127.0.0.1:1/x.tgz', join(work, 'port.tgz'), { retryDelayMs: 0, onNote: (n) => notes.push(n) }),
    ).rejects.toThrow(/^http:\/\/127\.0\.0\.1:1\/x\.tgz: fetch failed \(bad port\)$/);
    await expect(download('http://127.0.0.1:1/x.tgz', join(work, 'port.tgz'))).rejects.toThrow(UnreachableError);
    await expect(
      download('ftp://127.0.0.1/x.tgz', join(work, 'ftp.tgz'), { retryDelayMs: 0, onNote: (n) => notes.push(n) }),
    ).rejects.toThrow(/^ftp:\/\/127\.0\.0\.1\/x\.tgz: fetch failed \(unknown scheme\)$/);
    expect(notes).toEqual([]);
  });

  it('says where a response starts: after the bytes kept, or at 0 when the server ignores Range', async () => {
    const starts: Array<[number, number]> = [];
    const dest = join(work, 'start.tgz');
    writeFileSync(`${dest}.partial`, archive.subarray(0, 300));
    await download(`${base}x`, dest, { bytes: archive.length, onStart: (from, total) => starts.push([from, total]) });
    mode = 'ignore-range';
    const dest2 = join(work, 'start2.tgz');
    writeFileSync(`${dest2}.partial`, archive.subarray(0, 300));
    await download(`${base}x`, dest2, { onStart: (from, total) => starts.push([from, total]) });
    expect(starts).toEqual([
      [300, archive.length],
      [0, archive.length],
    ]);
  });
});

describe('fetchDataset', () => {
  it('unpacks only the expected members into <root>/cifar10, readable by the official reader', async () => {
    const root = join(work, 'root1');
    const r = await fetchDataset(spec(), { root });
    expect(r).toEqual({ name: 'cifar10', dir: join(root, 'cifar10'), downloaded: true });
    expect(existsSync(join(root, 'cifar10', 'readme.html'))).toBe(false);
    expect(existsSync(join(root, 'cifar10', COMPLETE_MARKER))).toBe(true);
    expect(existsSync(join(root, 'downloads', 'cifar-10-binary.tar.gz'))).toBe(false);
    const f = CIFAR_FORMATS.cifar10;
    const train = readCifarFiles(
      f,
      f.files.train.map((n) => join(root, 'cifar10', n)),
    );
    expect(train.count).toBe(15);
    expect([...train.labels]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4]);
    // Pixel (record 4, channel 1, p 7) = (4 + 1024 + 7) & 255, normalised with channel 1's mean/std.
    expect(train.images[4 * 3072 + 1024 + 7]).toBeCloseTo((((4 + 1024 + 7) & 255) / 255 - f.mean[1]) / f.std[1], 6);
    // Present now: no second download.
    expect(await fetchDataset(spec(), { root })).toMatchObject({ downloaded: false });
    expect(requests.length).toBe(1);
  });

  it('a kept archive is used only if its size and MD5 verify; --force downloads again', async () => {
    const root = join(work, 'root-kept');
    const kept = join(root, 'downloads', 'cifar-10-binary.tar.gz');
    mkdirSync(join(root, 'downloads'), { recursive: true });
    const notes: string[] = [];
    // The right size, one byte changed: an MD5 mismatch.
    const wrong = Buffer.from(archive);
    wrong[100] ^= 0xff;
    writeFileSync(kept, wrong);
    let r = await fetchDataset(spec(), { root, keepArchive: true, onNote: (n) => notes.push(n) });
    expect(r.downloaded).toBe(true);
    expect(requests.length).toBe(1);
    expect(notes.join('\n')).toMatch(
      /cifar-10-binary\.tar\.gz: MD5 [0-9a-f]{32} is not the release's [0-9a-f]{32}; removed, downloading again/,
    );
    expect(readFileSync(kept).equals(archive)).toBe(true);
    // A short one (a copy cut off).
    rmSync(join(root, 'cifar10'), { recursive: true });
    writeFileSync(kept, archive.subarray(0, 100));
    notes.length = 0;
    r = await fetchDataset(spec(), { root, keepArchive: true, onNote: (n) => notes.push(n) });
    expect(notes.join('\n')).toMatch(new RegExp(`100 bytes, the release has ${archive.length}; removed, downloading again`));
    expect(requests.length).toBe(2);
    // A good kept archive is used without a request...
    rmSync(join(root, 'cifar10'), { recursive: true });
    expect(await fetchDataset(spec(), { root, keepArchive: true })).toMatchObject({ downloaded: true });
    expect(requests.length).toBe(2);
    // ...and --force downloads again even so.
    r = await fetchDataset(spec(), { root, keepArchive: true, force: true });
    expect(r.downloaded).toBe(true);
    expect(requests.length).toBe(3);
    expect(requests[2].range).toBeUndefined();
    expect(existsSync(join(root, 'cifar10', 'test_batch.bin'))).toBe(true);
  });

  it('a --force fetch killed between its renames leaves no torn folder; the next run finishes the switch and removes what it left', async () => {
    const root = join(work, 'root-kill');
    await fetchDataset(spec(), { root });
    const s = spec();
    const argv = [s.url, String(s.bytes), s.md5, root, 'force'];
    // After unpacking, before the switch: the old folder stays, the unpacked one is removed next time.
    let killed = await fetchChild(argv, 'fetch.unpacked');
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(leftovers(root)).toHaveLength(1);
    expect(await fetchDataset(spec(), { root })).toMatchObject({ downloaded: false });
    expect(leftovers(root)).toEqual([]);
    // Between the renames: no folder; the next run switches the finished one in, without a download.
    killed = await fetchChild(argv, 'fetch.moved-aside');
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(existsSync(join(root, 'cifar10'))).toBe(false);
    expect(leftovers(root)).toHaveLength(2);
    const asked = requests.length;
    const notes: string[] = [];
    expect(await fetchDataset(spec(), { root, onNote: (n) => notes.push(n) })).toMatchObject({ downloaded: false });
    expect(requests.length).toBe(asked);
    expect(notes.join('\n')).toMatch(/cifar10: finished the switch of an interrupted fetch/);
    expect(readdirSync(root).sort()).toEqual(['cifar10', 'downloads']);
    expect(readdirSync(join(root, 'downloads'))).toEqual([]);
    const f = CIFAR_FORMATS.cifar10;
    expect(
      readCifarFiles(
        f,
        f.files.train.map((n) => join(root, 'cifar10', n)),
      ).count,
    ).toBe(15);
  });

  it('one fetch of a dataset at a time: a second one into the same root is refused naming the first', async () => {
    const root = join(work, 'root-locked');
    mkdirSync(root);
    const holder = spawn(process.execPath, ['--import', 'tsx', LOCK_HOLDER, 'hold', join(root, '.cifar10.lock')], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      await new Promise<void>((r) => holder.stdout!.once('data', () => r()));
      await expect(fetchDataset(spec(), { root })).rejects.toThrow(
        new RegExp(`the cifar10 fetch into ${root} is in use by process ${holder.pid}`),
      );
      expect(requests.length).toBe(0);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('a present dataset is "already present" while a --force fetch of it runs (its leftovers are that run\'s, not touched)', async () => {
    const root = join(work, 'root-force-running');
    await fetchDataset(spec(), { root });
    // What a live --force fetch leaves while it unpacks: its unpack folder, and its lock held.
    mkdirSync(join(root, '.cifar10.tmp-999999'));
    const holder = spawn(process.execPath, ['--import', 'tsx', LOCK_HOLDER, 'hold', join(root, '.cifar10.lock')], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      await new Promise<void>((r) => holder.stdout!.once('data', () => r()));
      const asked = requests.length;
      expect(await fetchDataset(spec(), { root })).toEqual({ name: 'cifar10', dir: join(root, 'cifar10'), downloaded: false });
      expect(requests.length).toBe(asked);
      expect(leftovers(root)).toEqual(['.cifar10.tmp-999999']);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes a mirror base URL', async () => {
    const root = join(work, 'root2');
    await fetchDataset({ ...spec(), url: 'https://example.invalid/~kriz/cifar-10-binary.tar.gz' }, { root, mirror: base });
    expect(existsSync(join(root, 'cifar10', 'test_batch.bin'))).toBe(true);
  });

  it('refuses an archive without the expected members, leaving nothing behind', async () => {
    const root = join(work, 'root3');
    const bad = { ...spec(), members: { ...spec().members, 'cifar-10-batches-bin/extra.bin': 'extra.bin' } };
    await expect(fetchDataset(bad, { root })).rejects.toThrow(/member cifar-10-batches-bin\/extra\.bin is missing/);
    expect(existsSync(join(root, 'cifar10'))).toBe(false);
  });

  it('lists what is present and loads it through the data roots', async () => {
    const root = join(work, 'root4');
    await fetchDataset(spec(), { root });
    const saved = process.env.WGNAS_DATA_DIR;
    process.env.WGNAS_DATA_DIR = root;
    try {
      const cifar = listData().find((d) => d.name === 'cifar10')!;
      expect(cifar).toMatchObject({ dir: join(root, 'cifar10'), origin: '$WGNAS_DATA_DIR', complete: true });
      expect(loadCifar('cifar10', 'test').count).toBe(2);
    } finally {
      if (saved === undefined) delete process.env.WGNAS_DATA_DIR;
      else process.env.WGNAS_DATA_DIR = saved;
    }
  });

  it('names a truncated file in the reader error', () => {
    const p = join(work, 'trunc.bin');
    writeFileSync(p, cifarRecords(2, 0).subarray(0, 4000));
    expect(() => readCifarFiles(CIFAR_FORMATS.cifar10, [p])).toThrow(
      /trunc\.bin: size 4000 bytes is not a positive multiple of 3073/,
    );
  });

  it('rejects an unknown dataset name', async () => {
    await expect(fetchDataset('imagenet')).rejects.toThrow(/unknown dataset 'imagenet' \(known: cifar10, cifar100\)/);
  });
});

describe('wgnas data', () => {
  it('fetch through a mirror that serves the wrong file ends in one line, leaving nothing', async () => {
    const dir = join(work, 'cli1');
    mkdirSync(dir);
    const r = await wgnasInProcess(['data', 'fetch', 'cifar10', '--dir', dir, '--mirror', base, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    // The file is named wrong, --mirror as the likely cause; running again would fetch the same file.
    expect(r.err).toBe(
      `wgnas data: ${base}cifar-10-binary.tar.gz: the server sent the wrong file (${archive.length} bytes, expected 170052171); ` +
        `the download was removed; --mirror ${base} likely serves another file than the cifar10 release\n`,
    );
    expect(existsSync(join(dir, 'cifar10'))).toBe(false);
    expect(existsSync(join(dir, 'downloads', 'cifar-10-binary.tar.gz.partial'))).toBe(false);
  });

  it('Ctrl-C during fetch says to run it again, and the run again resumes the download', { timeout: 120_000 }, async () => {
    mode = 'stall'; // 100 bytes, then nothing
    const dir = join(work, 'cli-int');
    mkdirSync(dir);
    const partial = join(dir, 'downloads', 'cifar-10-binary.tar.gz.partial');
    const args = ['data', 'fetch', 'cifar10', '--dir', dir, '--mirror', base, '--quiet'];
    const stopped = await wgnasChild(args, {
      onStart: (c) =>
        void (async () => {
          while (c.exitCode === null && !(existsSync(partial) && readFileSync(partial).length === 100))
            await new Promise((r) => setTimeout(r, 20));
          c.kill('SIGINT');
        })(),
    });
    expect(stopped.signal, stopped.stderr).toBe('SIGINT');
    expect(stopped.stderr.trim().split('\n').at(-1)).toBe(
      `wgnas data: stopped by SIGINT; the download resumes: repeat the command to continue; 100 bytes kept in ${partial}`,
    );
    mode = 'ok';
    requests = [];
    // The official size is not this test archive's, so the run ends refusing it, after resuming.
    const again = await wgnasInProcess(args);
    expect(requests).toEqual([{ range: 'bytes=100-' }]);
    expect(again.err).toMatch(/the server sent the wrong file \(\d+ bytes, expected 170052171\).*run again to download it whole/);
  });

  it('what Ctrl-C says at each stage of a fetch', () => {
    const dir = join(work, 'hint', 'downloads');
    mkdirSync(dir, { recursive: true });
    const a = join(dir, 'x.tar.gz');
    expect(fetchHint(a, false)).toBe('repeat the command to continue (nothing was downloaded yet)');
    writeFileSync(`${a}.partial`, Buffer.alloc(3 * 2 ** 20));
    expect(fetchHint(a, false)).toBe(`the download resumes: repeat the command to continue; 3.0 MiB kept in ${a}.partial`);
    expect(fetchHint(a, true)).toBe(
      `the download resumes: repeat the command without --force to continue (--force starts the download over); 3.0 MiB kept in ${a}.partial`,
    );
    rmSync(`${a}.partial`);
    writeFileSync(a, 'whole');
    expect(fetchHint(a, false)).toBe(`repeat the command to continue: the archive downloaded to ${a} is used once it verifies`);
  });

  it('--mirror that is not a URL: one line naming --mirror, before any work', async () => {
    const dir = join(work, 'cli-mirror');
    mkdirSync(dir);
    for (const m of ['http://[::1', 'not a url', 'ftp://x/']) {
      const r = await wgnasInProcess(['data', 'fetch', 'cifar10', '--dir', dir, '--mirror', m, '--quiet']);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^wgnas data: --mirror must be an http\(s\) URL, got '/);
      expect(r.err).not.toMatch(/TypeError/);
    }
    expect(requests.length).toBe(0);
    expect(existsSync(join(dir, 'downloads'))).toBe(false);
  });

  it('a user cache that cannot be written (a file, /proc) is refused in one line naming its variable, before any request', async () => {
    const file = join(work, 'cache-file');
    writeFileSync(file, 'x');
    for (const [cache, msg] of [
      [file, /the user cache '.*cache-file\/data' \(\$WGNAS_CACHE_DIR\) cannot be used \(a part of the path is a file/],
      // Node's recursive mkdir loops forever under /proc: this hung.
      [
        '/proc/wgnas-cache',
        /the user cache '\/proc\/wgnas-cache\/data' \(\$WGNAS_CACHE_DIR\) is under \/proc or \/sys; give --dir DIR/,
      ],
    ] as const) {
      vi.stubEnv('WGNAS_CACHE_DIR', cache);
      try {
        const r = await wgnasInProcess(['data', 'fetch', 'cifar10', '--mirror', base, '--quiet']);
        expect(r.code).toBe(2);
        expect(r.err.trim().split('\n')).toHaveLength(1);
        expect(r.err).toMatch(msg);
      } finally {
        vi.unstubAllEnvs();
      }
    }
    expect(requests.length).toBe(0);
  });

  it('a host that cannot be reached: one line with the offline routes (an archive in DIR/downloads/, --mirror)', async () => {
    const dir = join(work, 'cli-offline');
    mkdirSync(dir);
    // Port 1 is refused before connecting, as an unknown host is (no network): not retried.
    const r = await wgnasInProcess(['data', 'fetch', 'cifar10', '--dir', dir, '--mirror', 'http://127.0.0.1:1/', '--quiet']);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      'wgnas data: http://127.0.0.1:1/cifar-10-binary.tar.gz: fetch failed (bad port); without a network: put ' +
        `cifar-10-binary.tar.gz in ${join(dir, 'downloads')}/ (its size and MD5 are checked), or give another --mirror URL that serves it (docs/data.md)\n`,
    );
    // Without --mirror the hint offers one (the official host is the one that failed).
    expect(offlineHint(join(dir, 'downloads', 'cifar-10-binary.tar.gz'), undefined)).toMatch(
      /, or give --mirror URL that serves it \(docs\/data\.md\)$/,
    );
  });

  it("a retry is said in a line prefixed as the command's other lines", { timeout: 60_000 }, async () => {
    mode = 'unavailable';
    unavailableFor = 1;
    const dir = join(work, 'cli-retry');
    mkdirSync(dir);
    const r = await wgnasCapturingStderr(['data', 'fetch', 'cifar10', '--dir', dir, '--mirror', base, '--quiet']);
    // The test archive is not the release's size: refused after the retry served it.
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `wgnas data: ${base}cifar-10-binary.tar.gz: HTTP 503 Service Unavailable; attempt 2 of 6 in 1 s, resuming from 0 bytes\n`,
    );
    expect(r.err).toMatch(/^wgnas data: .*the server sent the wrong file/);
  });

  it('fetch from a mirror that has no such file names the URL and the status', async () => {
    mode = '404';
    const dir = join(work, 'cli2');
    mkdirSync(dir);
    const r = await wgnasInProcess(['data', 'fetch', 'cifar100', '--dir', dir, '--mirror', base, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cifar-100-binary\.tar\.gz: HTTP 404/);
  });

  it('list --json reports a fetched dataset with its origin', async () => {
    const root = join(work, 'cli3');
    await fetchDataset(spec(), { root });
    const saved = process.env.WGNAS_DATA_DIR;
    process.env.WGNAS_DATA_DIR = root;
    try {
      const r = await wgnasInProcess(['data', 'list', '--json']);
      expect(r.code, r.err).toBe(0);
      const cifar = JSON.parse(r.out).find((d: { name: string }) => d.name === 'cifar10');
      expect(cifar).toMatchObject({ origin: '$WGNAS_DATA_DIR', complete: true });
      expect(cifar.files).toContain('data_batch_5.bin');
    } finally {
      if (saved === undefined) delete process.env.WGNAS_DATA_DIR;
      else process.env.WGNAS_DATA_DIR = saved;
    }
  });
});
