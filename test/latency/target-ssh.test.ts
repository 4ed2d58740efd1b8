/**
 * `wgnas profile --target ssh://...` against a throwaway sshd on 127.0.0.1 (test/helpers/sshd.ts):
 * the aarch64 profiler bundle runs under qemu-user behind it (latency under emulation means
 * nothing: the pipeline is what is tested). A table built over ssh has the keys of a local one and
 * the target's stamp; the natively built profiler (scripts/build-target.sh native) stamps a table with
 * this machine's CPU, under either library; a connection killed mid-run is re-opened and the run completes; --resume
 * continues a target's table and refuses another device's; unreachable hosts, unknown or wrong
 * architectures, a library missing on the target, a refused key and an unknown host key each give
 * one line (the last two with their fix). Locally, a missing sshd,
 * qemu or bundle skips these tests; under CI=true it is a failure.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readLatencyTable } from '../../src/latency/lut.js';
import { bundlesRoot, chainLine, remoteTableSource, startFailure } from '../../src/latency/remote-profiler.js';
import { proxylessSpace, spaceKeys } from '../../src/latency/space.js';
import { parseTarget, sshFix, TargetError } from '../../src/latency/ssh.js';
import { buildTable } from '../../src/latency/table-writer.js';
import { wgnasInProcess } from '../helpers/cli.js';
import {
  aarch64Binfmt,
  ARM64_PREFIX,
  freePort,
  hostArch,
  QEMU,
  startSshd,
  targetTestsMissing,
  type TestSshd,
} from '../helpers/sshd.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-target-'));
const EMULATED = { WGNAS_TARGET_ARCH: 'aarch64', WGNAS_TARGET_EMULATOR: QEMU, QEMU_LD_PREFIX: ARM64_PREFIX };
let sshd: TestSshd | null = null;

beforeAll(async () => {
  const missing = targetTestsMissing(bundlesRoot());
  if (missing.length > 0) {
    if (process.env.CI === 'true') throw new Error(`target tests need: ${missing.join('; ')}`);
    console.warn(`target tests skipped: missing ${missing.join('; ')}`);
    return;
  }
  sshd = await startSshd({
    arm: EMULATED,
    // The documented login (no QEMU_LD_PREFIX): the cross C library's sysroot is found by itself.
    armPlain: { WGNAS_TARGET_ARCH: 'aarch64', WGNAS_TARGET_EMULATOR: QEMU },
    armNoRoot: { ...EMULATED, QEMU_LD_PREFIX: '/nonexistent-sysroot' },
    // Reports aarch64 but runs it natively: the kernel refuses the binary.
    armless: { WGNAS_TARGET_ARCH: 'aarch64' },
    riscv: { WGNAS_TARGET_ARCH: 'riscv64' },
    damaged: EMULATED,
    // This machine as it is: the natively built profiler.
    native: {},
  });
});
afterAll(() => sshd?.stop());

const KEYS = spaceKeys(proxylessSpace({ inputSize: 16 })).slice(0, 4);
const fastN = (limit: number) => [
  '--resolution',
  '16',
  '--limit',
  String(limit),
  '--repeats',
  '2',
  '--warmup',
  '0',
  '--max-time-ms',
  '50',
  '--quiet',
];
const fast = fastN(4);
const targetArgs = (name: string, dir = join(tmp, `remote-${name}`)) => [
  '--target',
  sshd!.url(name),
  '--identity',
  sshd!.identity,
  '--known-hosts',
  sshd!.knownHosts,
  '--target-dir',
  dir,
];

describe('targets: parsing and messages (no server)', () => {
  it('parses ssh:// addresses and refuses others in one line', () => {
    expect(parseTarget('ssh://pi@raspberry:2222')).toEqual({
      user: 'pi',
      host: 'raspberry',
      port: 2222,
      device: 'ssh://raspberry:2222',
    });
    expect(parseTarget('ssh://[::1]:22').device).toBe('ssh://[::1]:22');
    expect(() => parseTarget('ssh://u:pw@h')).toThrow(/no passwords/);
    expect(() => parseTarget('adb://emulator-5554')).toThrow(/adb targets are not supported/);
    expect(() => parseTarget('http://h')).toThrow(TargetError);
  });

  it('names the fix for a refused key or an unknown host key, nothing for other failures', () => {
    const t = parseTarget('ssh://pi@raspberry:2222');
    expect(sshFix('Warning: ...\npi@raspberry: Permission denied (publickey).\n', t)).toBe(
      '; give the private key the target accepts for pi with --identity KEY (or the user it is for in ssh://USER@raspberry)',
    );
    expect(sshFix('Host key verification failed.\n', t)).toBe(
      '; its host key is not in the known_hosts file (--known-hosts FILE, or your own) or has changed; check it and add it: ssh-keyscan -p 2222 raspberry >> FILE',
    );
    expect(sshFix('Host key verification failed.', parseTarget('ssh://h'))).toMatch(/ssh-keyscan h >> FILE$/);
    expect(sshFix('ssh: connect to host h port 22: Connection refused', t)).toBe('');
  });

  it('writes op chains as the profiler reads them and names why a start failed', () => {
    expect(
      chainLine({
        id: 'k',
        ops: [
          { type: 'mbconv', inH: 8, inC: 8, outC: 8, expand: 3, kernel: 5, idskip: true },
          { type: 'logits', inH: 8, inC: 8, outC: 10 },
        ],
      }),
    ).toBe('k type=mbconv,inH=8,inC=8,outC=8,expand=3,kernel=5,idskip=1;type=logits,inH=8,inC=8,outC=10');
    expect(
      startFailure(
        './wgnas-profiler: error while loading shared libraries: libdnnl.so.2: cannot open shared object file: No such file or directory',
        'aarch64',
        'd',
      ),
    ).toMatch(/libdnnl\.so\.2 is missing there/);
    // Under qemu-user: the fix (the cross C library, or QEMU_LD_PREFIX), not "glibc, not musl".
    expect(
      startFailure("qemu-aarch64-static: Could not open '/lib/ld-linux-aarch64.so.1': No such file or directory", 'aarch64', 'd'),
    ).toBe(
      'the aarch64 profiler cannot start under qemu-user on the target: no aarch64 loader (/lib/ld-linux-aarch64.so.1); ' +
        'install the aarch64 C library there (apt-get install libc6-arm64-cross: /usr/aarch64-linux-gnu is then used) ' +
        'or set QEMU_LD_PREFIX=SYSROOT in its login environment (sshd SetEnv)',
    );
    expect(startFailure('./wgnas-profiler: /lib/ld-linux-aarch64.so.1: No such file or directory', 'aarch64', 'd')).toMatch(
      /loader \/lib\/ld-linux-aarch64\.so\.1 is missing there \(the profiler needs glibc Linux/,
    );
    expect(
      startFailure("./wgnas-profiler: /lib/aarch64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found", 'aarch64', 'd'),
    ).toMatch(/older than the profiler needs \(GLIBC_2\.34\)/);
    expect(startFailure('sh: 1: exec: ./wgnas-profiler: Exec format error', 'aarch64', 'd')).toMatch(
      /not aarch64, although it reports it/,
    );
    expect(startFailure('some other failure', 'aarch64', 'd')).toBeNull();
  });
});

describe('profile --target over ssh (aarch64 under qemu-user)', () => {
  it('builds a table with the keys of a local one, stamped with the target, and resumes it', async ({ skip }) => {
    if (!sshd) return skip();
    const local = join(tmp, 'local.yaml');
    const remote = join(tmp, 'remote.yaml');
    expect((await wgnasInProcess(['profile', '--out', local, ...fast])).code).toBe(0);
    // First half, then the rest with --resume (the bundle is copied once).
    const first = await wgnasInProcess(['profile', '--out', remote, ...fastN(2), ...targetArgs('arm')]);
    expect(first.err).toMatch(/note: copying the aarch64 profiler/);
    expect(first.code).toBe(0);
    const rest = await wgnasInProcess(['profile', '--out', remote, ...fast, '--resume', ...targetArgs('arm')]);
    expect(rest.err).not.toMatch(/copying/);
    expect(rest.out).toMatch(/4 entries \(2 measured, 2 reused\)/);
    const [l, r] = [readLatencyTable(local), readLatencyTable(remote)];
    expect([...r.entries.keys()].sort()).toEqual([...l.entries.keys()].sort());
    expect([...r.entries.keys()]).toEqual(KEYS);
    for (const e of r.entries.values()) expect(e.count).toBeGreaterThanOrEqual(2);
    expect(r.meta.target).toBe(`ssh://127.0.0.1:${sshd.ports.arm}`);
    expect(r.meta.arch).toBe('aarch64');
    expect(r.meta.library).toMatch(/^oneDNN \d+\.\d+\.\d+ \(OpenMP\)$/);
    expect(r.meta.space).toBe('proxyless');
    expect(l.meta.target).toBeUndefined();
    // A table never mixes devices: the local one is not extended from the target, nor the other way.
    const mixed = await wgnasInProcess(['profile', '--out', local, ...fast, '--resume', ...targetArgs('arm')]);
    expect(mixed.code).toBe(2);
    expect(mixed.err).toMatch(
      /^wgnas profile: cannot resume .*local\.yaml: it was measured with target none \(this machine\), this run has 'ssh:\/\/127\.0\.0\.1:\d+'/,
    );
    expect(mixed.err.trim().split('\n')).toHaveLength(1);
    const back = await wgnasInProcess(['profile', '--out', remote, ...fast, '--resume']);
    expect(back.code).toBe(2);
    expect(back.err).toMatch(/it was measured with target 'ssh:\/\/127\.0\.0\.1:\d+', this run has none/);
  });

  it('an emulated login as documented (no QEMU_LD_PREFIX) runs; a sysroot without the loader names the fix', async ({ skip }) => {
    if (!sshd) return skip();
    const out = join(tmp, 'plain.yaml');
    const r = await wgnasInProcess(['profile', '--out', out, ...fastN(1), ...targetArgs('armPlain')]);
    expect(r.code, r.err).toBe(0);
    const t = readLatencyTable(out);
    expect([...t.entries.keys()]).toEqual(KEYS.slice(0, 1));
    expect(t.meta.arch).toBe('aarch64');
    const bad = await wgnasInProcess(['profile', '--out', join(tmp, 'noroot.yaml'), ...fastN(1), ...targetArgs('armNoRoot')]);
    expect(bad.code).toBe(1);
    // One error line (after the note that the profiler was copied), whole.
    const last = bad.err.trim().split('\n').at(-1)!;
    expect(last).toMatch(/^wgnas profile: .*cannot start under qemu-user on the target: no aarch64 loader .*\(sshd SetEnv\)$/);
  });

  it("the natively built profiler over ssh: this machine's keys and CPU stamp, with either library", async ({ skip }) => {
    if (!sshd) return skip();
    const local = join(tmp, 'native-local.yaml');
    expect((await wgnasInProcess(['profile', '--out', local, ...fastN(2), '--backend', 'xnnpack'])).code).toBe(0);
    const l = readLatencyTable(local);
    for (const backend of ['onednn', 'xnnpack']) {
      const out = join(tmp, `native-${backend}.yaml`);
      const r = await wgnasInProcess(['profile', '--out', out, ...fastN(2), '--backend', backend, ...targetArgs('native')]);
      expect(r.code, r.err).toBe(0);
      const t = readLatencyTable(out);
      expect([...t.entries.keys()]).toEqual(KEYS.slice(0, 2));
      for (const e of t.entries.values()) expect(e.mean).toBeGreaterThan(0);
      expect(t.meta.arch).toBe(hostArch());
      expect(t.meta.cpu).toBe(l.meta.cpu);
      expect(t.meta.cores).toBe(l.meta.cores);
      expect(t.meta.backend).toBe(backend);
      if (backend === 'xnnpack') expect(t.meta.library).toBe(l.meta.library);
      else expect(t.meta.library).toMatch(/^oneDNN \d+\.\d+\.\d+/);
    }
  });

  it('re-opens a connection killed mid-run and measures every key once', async ({ skip }) => {
    if (!sshd) return skip();
    const out = join(tmp, 'dropped.yaml');
    const notes: string[] = [];
    let dropped = 0;
    const source = remoteTableSource(KEYS, {
      target: sshd.url('arm'),
      identity: sshd.identity,
      knownHosts: sshd.knownHosts,
      targetDir: join(tmp, 'remote-arm'),
      // Slow enough under qemu that the connection is still open when the second result arrives.
      repeats: 40,
      warmup: 0,
      retryDelayMs: 100,
      onNote: (m) => notes.push(m),
    });
    const res = await buildTable(
      {
        keys: KEYS,
        out,
        onProgress: (done) => {
          if (done >= 2 && done < KEYS.length && dropped === 0) dropped = sshd!.dropConnections();
        },
      },
      source,
    );
    expect(dropped).toBeGreaterThan(0);
    expect(notes.some((n) => /connection to ssh:\/\/127\.0\.0\.1:\d+ lost .* reconnecting/.test(n))).toBe(true);
    expect(res.measured).toBe(KEYS.length);
    expect([...readLatencyTable(out).entries.keys()]).toEqual(KEYS);
  });

  it('bad targets: one line each, nothing written', async ({ skip }) => {
    if (!sshd) return skip();
    const expectOneLine = async (args: string[], code: number, pattern: RegExp, name: string) => {
      const out = join(tmp, `${name}.yaml`);
      const r = await wgnasInProcess(['profile', '--out', out, ...fast, ...args]);
      expect(r.err).toMatch(pattern);
      expect(r.err.trim().split('\n'), r.err).toHaveLength(1);
      expect(r.code).toBe(code);
      expect(readdirSync(tmp)).not.toContain(`${name}.yaml`);
    };
    const closed = await freePort();
    const common = ['--identity', sshd.identity, '--known-hosts', sshd.knownHosts];
    await expectOneLine(
      ['--target', `ssh://${sshd.user}@127.0.0.1:${closed}`, ...common],
      1,
      /^wgnas profile: .*cannot reach it: .*Connection refused/,
      'unreachable',
    );
    // A key the target refuses, a host key not in --known-hosts: ssh's line and the fix.
    const emptyKnown = join(tmp, 'known_hosts_empty');
    writeFileSync(emptyKnown, '');
    const url = sshd.url('native');
    await expectOneLine(
      ['--target', url, '--identity', emptyKnown, '--known-hosts', sshd.knownHosts],
      1,
      /cannot reach it: .*Permission denied \(publickey\); give the private key the target accepts for .* with --identity KEY/,
      'badkey',
    );
    await expectOneLine(
      ['--target', url, '--identity', sshd.identity, '--known-hosts', emptyKnown],
      1,
      new RegExp(
        `cannot reach it: Host key verification failed; .*ssh-keyscan -p ${sshd.ports.native} 127\\.0\\.0\\.1 >> FILE$`,
        'm',
      ),
      'hostkey',
    );
    await expectOneLine(
      targetArgs('riscv'),
      1,
      /reports architecture 'riscv64', and wgnas builds its profiler for x86_64 and aarch64 only/,
      'riscv',
    );
    // Reports aarch64 without an emulator: the kernel refuses the program, or (binfmt_misc with
    // qemu registered) qemu finds no aarch64 C library: a library missing on the target.
    const armless = aarch64Binfmt()
      ? /the C library's loader \/lib\/ld-linux-aarch64\.so\.1 is missing there/
      : /the aarch64 profiler does not run on the target \(Exec format error\)/;
    await expectOneLine(targetArgs('armless', join(tmp, 'remote-arm')), 1, armless, 'armless');
    // A library missing on the target: its copy of the bundle lost libdnnl.so.2.
    const dir = join(tmp, 'remote-damaged');
    expect(
      (await wgnasInProcess(['profile', '--out', join(tmp, 'ok.yaml'), ...fastN(1), ...targetArgs('damaged', dir)])).code,
    ).toBe(0);
    const installed = readdirSync(dir).filter((d) => d.startsWith('aarch64-'));
    rmSync(join(dir, installed[0], 'lib', 'libdnnl.so.2'));
    await expectOneLine(
      targetArgs('damaged', dir),
      1,
      /the aarch64 profiler cannot start on the target: libdnnl\.so\.2 is missing there/,
      'damaged',
    );
    // No bundle built for the target's architecture.
    const empty = join(tmp, 'no-bundles');
    mkdirSync(empty);
    process.env.WGNAS_TARGET_BUNDLES = empty;
    try {
      await expectOneLine(
        targetArgs('arm', join(tmp, 'remote-nobundle')),
        1,
        /no aarch64 profiler is built .*: run scripts\/build-target\.sh aarch64/,
        'nobundle',
      );
    } finally {
      delete process.env.WGNAS_TARGET_BUNDLES;
    }
    await expectOneLine(['--target', 'adb://emulator-5554'], 2, /--target.*adb:\/\/ targets are not supported/, 'adb');
    await expectOneLine(
      ['--identity', sshd.identity],
      2,
      /--identity, --known-hosts, --target-dir and --retries set up --target/,
      'noident',
    );
    await expectOneLine(['--device', 'gpu', ...targetArgs('arm')], 2, /--target applies only with --device cpu/, 'gputarget');
  });
});
