/**
 * A throwaway OpenSSH server for the target tests: sshd as the current user on 127.0.0.1, on free
 * ports, with its own host key, user key and config in a temporary directory (no system sshd
 * configuration is read or touched). Each named port is one "target": a `Match LocalPort` block
 * sets its session environment, e.g. WGNAS_TARGET_ARCH=aarch64 with WGNAS_TARGET_EMULATOR=qemu-aarch64-static
 * (the aarch64 profiler under qemu-user). Locally a missing sshd / qemu / bundle skips the tests;
 * under CI=true it is a failure.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';
export const QEMU = 'qemu-aarch64-static';
/** Where Debian's cross toolchain keeps the arm64 C library (qemu-user's -L prefix). */
export const ARM64_PREFIX = '/usr/aarch64-linux-gnu';

/** Whether the kernel runs aarch64 programs through qemu by itself (binfmt_misc). */
export function aarch64Binfmt(): boolean {
  try {
    return readFileSync('/proc/sys/fs/binfmt_misc/qemu-aarch64', 'utf8').startsWith('enabled');
  } catch {
    return false;
  }
}

export interface TestSshd {
  dir: string;
  user: string;
  identity: string;
  knownHosts: string;
  ports: Record<string, number>;
  url(name: string): string;
  /** SIGKILLs the server processes of every open connection (the listener stays); returns how many. */
  dropConnections(): number;
  stop(): void;
}

/** This machine's architecture as `uname -m` names it (what a target on 127.0.0.1 reports). */
export function hostArch(): string {
  return execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim();
}

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What the target tests need that is missing here ([] when everything is there). */
export function targetTestsMissing(bundlesDir: string): string[] {
  const missing: string[] = [];
  if (!existsSync(SSHD)) missing.push(`${SSHD} (apt-get install openssh-server)`);
  for (const c of ['ssh', 'scp', 'ssh-keygen']) if (!which(c)) missing.push(`${c} (apt-get install openssh-client)`);
  if (!which(QEMU)) missing.push(`${QEMU} (apt-get install qemu-user-static)`);
  if (!existsSync(join(ARM64_PREFIX, 'lib', 'ld-linux-aarch64.so.1')))
    missing.push(`${ARM64_PREFIX} (apt-get install g++-aarch64-linux-gnu)`);
  if (!existsSync(join(bundlesDir, 'aarch64', 'bundle', 'BUNDLE_ID')))
    missing.push('the aarch64 profiler bundle (scripts/build-target.sh aarch64)');
  const host = hostArch();
  if (host !== 'aarch64' && !existsSync(join(bundlesDir, host, 'bundle', 'BUNDLE_ID')))
    missing.push(`the ${host} profiler bundle (scripts/build-target.sh native)`);
  return missing;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export { freePort };

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection({ port, host: '127.0.0.1' }, () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port}: ${log()}`);
}

/** Starts sshd with one port per entry of `targets` (name -> session environment). */
export async function startSshd(targets: Record<string, Record<string, string>>): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'wgnas-sshd-'));
  const key = (name: string) =>
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `wgnas-test-${name}`, '-f', join(dir, name)]);
  key('host_key');
  key('user_key');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user_key.pub')));
  // sshd started by root needs its privilege-separation directory (systemd-tmpfiles makes it at boot).
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  const ports: Record<string, number> = {};
  for (const name of Object.keys(targets)) ports[name] = await freePort();
  const config = [
    ...Object.values(ports).map((p) => `Port ${p}`),
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The key files sit under the world-writable tmp directory.
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'Subsystem sftp internal-sftp',
    'LogLevel ERROR',
    ...Object.entries(targets).flatMap(([name, env]) =>
      Object.keys(env).length
        ? [
            `Match LocalPort ${ports[name]}`,
            `  SetEnv ${Object.entries(env)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')}`,
          ]
        : [],
    ),
  ];
  writeFileSync(join(dir, 'sshd_config'), config.join('\n') + '\n');
  const hostPub = readFileSync(join(dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  writeFileSync(
    join(dir, 'known_hosts'),
    Object.values(ports)
      .map((p) => `[127.0.0.1]:${p} ${hostPub}\n`)
      .join(''),
  );
  let log = '';
  const child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  for (const p of Object.values(ports)) await waitForPort(p, child, () => log);
  const user = userInfo().username;
  // The per-connection sshd processes: children of the listener (from /proc, no procps needed).
  const children = (): number[] =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === child.pid;
        } catch {
          return false; // gone meanwhile
        }
      })
      .map(Number);
  return {
    dir,
    user,
    identity: join(dir, 'user_key'),
    knownHosts: join(dir, 'known_hosts'),
    ports,
    url: (name) => `ssh://${user}@127.0.0.1:${ports[name]}`,
    dropConnections() {
      const pids = children();
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      return pids.length;
    },
    stop() {
      for (const pid of children()) process.kill(pid, 'SIGKILL');
      child.kill('SIGTERM');
    },
  };
}
