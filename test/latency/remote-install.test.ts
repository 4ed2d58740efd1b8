/**
 * The profiler bundle's copy to a target (RemoteProfiler.install) when two runs install on one
 * target at once: each copies into a temporary of its own and renames it into place, so neither
 * removes nor renames the other's half-done copy. The ssh connection is replaced by this machine's
 * shell (the commands are the ones sent to the target) and scp by a copy that waits for the other
 * run's, so both copies are in flight together.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { RemoteProfiler } from '../../src/latency/remote-profiler.js';
import type { ExecResult } from '../../src/latency/ssh.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-remote-install-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ID = 'aarch64-test-0001';

function bundles(): string {
  const dir = join(tmp, 'bundles', 'aarch64', 'bundle');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'BUNDLE_ID'), `${ID}\n`);
  writeFileSync(join(dir, 'wgnas-profiler'), '#!/bin/sh\necho profiler\n');
  writeFileSync(join(dir, 'libbig.so'), Buffer.alloc(64 * 1024, 7));
  return join(tmp, 'bundles');
}

/** A profiler whose target is this machine's shell; copyDir waits at `gate` once it has copied. */
function localProfiler(targetDir: string, gate: () => Promise<void>): RemoteProfiler {
  const p = new RemoteProfiler({ target: 'ssh://target.invalid', targetDir, bundlesDir: bundles() });
  const sh = (command: string): ExecResult => {
    const r = spawnSync('sh', ['-c', command], { encoding: 'utf8', env: { ...process.env, WGNAS_TARGET_ARCH: 'aarch64' } });
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  };
  Object.assign(p.conn, {
    exec: (command: string) => Promise.resolve(sh(command)),
    copyDir: async (dir: string, remote: string) => {
      // scp -r of a directory onto a missing name creates it; onto an existing one, it copies into it.
      cpSync(dir, remote, { recursive: true });
      await gate();
      return { code: 0, signal: null, stdout: '', stderr: '' };
    },
  });
  return p;
}

it('two runs installing the bundle on one target at once both succeed, one complete copy in place, no temporaries', async () => {
  const target = join(tmp, 'target');
  let arrived = 0;
  let open: () => void = () => {};
  const both = new Promise<void>((r) => (open = r));
  const gate = () => {
    if (++arrived === 2) open();
    return both;
  };
  const [a, b] = await Promise.all([localProfiler(target, gate).install(), localProfiler(target, gate).install()]);
  expect([a.copied, b.copied]).toEqual([true, true]);
  expect(readdirSync(target)).toEqual([ID]);
  expect(readdirSync(join(target, ID)).sort()).toEqual(['BUNDLE_ID', 'libbig.so', 'wgnas-profiler']);
  expect(readFileSync(join(target, ID, 'libbig.so')).length).toBe(64 * 1024);
});

it("a killed copy's temporary is cleared by a later install once it is an hour old, a recent one is left", async () => {
  const target = join(tmp, 'target-left');
  const old = join(target, `${ID}.4242@gone-0000.tmp`);
  const recent = join(target, `${ID}.4243@busy-0000.tmp`);
  mkdirSync(old, { recursive: true });
  mkdirSync(recent, { recursive: true });
  const hourAgo = new Date(Date.now() - 2 * 3600_000);
  utimesSync(old, hourAgo, hourAgo);
  const r = await localProfiler(target, () => Promise.resolve()).install();
  expect(r.copied).toBe(true);
  expect(readdirSync(target).sort()).toEqual([ID, `${ID}.4243@busy-0000.tmp`]);
});
