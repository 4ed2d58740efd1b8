/**
 * Profiling targets and the way to them: `ssh://[user@]host[:port]` through the system's OpenSSH
 * client (ssh and scp: BatchMode, an optional identity file, host keys accepted on first use or
 * checked against a given known_hosts), so keys, agents and ~/.ssh/config work as they do for the
 * user. No SSH library: none is installed, and the OpenSSH client is on every machine that would
 * run one.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { UserFacingError } from '../util/errors.js';

/** A bad target or a target that cannot be used; the message is the one line the CLI prints. */
export class TargetError extends UserFacingError {
  override readonly name = 'TargetError';
}

export interface SshTarget {
  user?: string;
  /** Host name or address (IPv6 without brackets). */
  host: string;
  port?: number;
  /** The target without the user, as tables are stamped: ssh://host[:port]. */
  device: string;
}

/** Parses `ssh://[user@]host[:port]`; TargetError naming the problem otherwise. */
export function parseTarget(text: string): SshTarget {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'adb') {
    throw new TargetError(
      `target '${text}': adb targets are not supported: the profiler is built for glibc Linux, and Android needs a bionic (NDK) build of it and of oneDNN/XNNPACK`,
    );
  }
  if (scheme !== 'ssh') throw new TargetError(`target '${text}' must look like ssh://[user@]host[:port]`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TargetError(`target '${text}' is not a valid ssh://[user@]host[:port] address`);
  }
  if (url.password)
    throw new TargetError(`target '${text}': no passwords in the address (wgnas uses key authentication: --identity FILE)`);
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash)
    throw new TargetError(`target '${text}': expected ssh://[user@]host[:port], without a path or query`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new TargetError(`target '${text}' has no host`);
  const port = url.port ? Number(url.port) : undefined;
  const user = url.username ? decodeURIComponent(url.username) : undefined;
  if (user !== undefined && !/^[A-Za-z0-9._-]+$/.test(user))
    throw new TargetError(`target '${text}': user name '${user}' has characters wgnas does not pass to ssh`);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { user, host, port, device: `ssh://${hostPart}${port ? `:${port}` : ''}` };
}

export interface SshOptions {
  /** Private key file (ssh -i), used alone (IdentitiesOnly). */
  identity?: string;
  /** known_hosts file to check and extend (default: the user's). */
  knownHosts?: string;
  /** Seconds to wait for a connection. Default 10. */
  connectTimeoutS?: number;
}

export interface ExecResult {
  /** Exit code of the remote command, 255 for an ssh failure, null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Quotes a word for the target's POSIX shell. */
export { shellQuote } from '../util/shell.js';

/** The last line ssh (or the remote command) wrote to stderr: why it failed. */
export function lastLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.at(-1) ?? 'no message';
}

/**
 * What to do about the ssh failures a first connection meets most (the key refused, the host key
 * unknown or changed), appended to ssh's own last line; '' for others.
 */
export function sshFix(stderr: string, target: { user?: string; host: string; port?: number }): string {
  if (/Permission denied \(publickey/.test(stderr))
    return `; give the private key the target accepts for ${target.user ?? 'your user'} with --identity KEY (or the user it is for in ssh://USER@${target.host})`;
  if (/Host key verification failed/.test(stderr))
    return `; its host key is not in the known_hosts file (--known-hosts FILE, or your own) or has changed; check it and add it: ssh-keyscan${target.port ? ` -p ${target.port}` : ''} ${target.host} >> FILE`;
  return '';
}

/** One target reached through ssh / scp; every call opens its own connection. */
export class SshConnection {
  constructor(
    readonly target: SshTarget,
    private readonly o: SshOptions = {},
  ) {}

  private commonOptions(): string[] {
    const opts = [
      '-o',
      'BatchMode=yes',
      '-o',
      `ConnectTimeout=${this.o.connectTimeoutS ?? 10}`,
      // A dead connection is noticed within ~15 s even while a long op prints nothing.
      '-o',
      'ServerAliveInterval=5',
      '-o',
      'ServerAliveCountMax=3',
      '-o',
      'LogLevel=ERROR',
    ];
    if (this.o.knownHosts) opts.push('-o', `UserKnownHostsFile=${this.o.knownHosts}`, '-o', 'StrictHostKeyChecking=yes');
    else opts.push('-o', 'StrictHostKeyChecking=accept-new');
    if (this.o.identity) opts.push('-i', this.o.identity, '-o', 'IdentitiesOnly=yes');
    return opts;
  }

  private destination(): string {
    return this.target.user ? `${this.target.user}@${this.target.host}` : this.target.host;
  }

  /** Starts `command` (a POSIX shell command line) on the target; the caller owns the process. */
  spawn(command: string): ChildProcessWithoutNullStreams {
    const args = [
      ...this.commonOptions(),
      ...(this.target.port ? ['-p', String(this.target.port)] : []),
      '--',
      this.destination(),
      command,
    ];
    return spawn('ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /** Runs `command` on the target to the end, feeding it `input`. */
  exec(command: string, input = ''): Promise<ExecResult> {
    return collect(this.spawn(command), input);
  }

  /** Copies the local directory `dir` to `remotePath` on the target (which must not exist yet). */
  copyDir(dir: string, remotePath: string): Promise<ExecResult> {
    const host = this.target.host.includes(':') ? `[${this.target.host}]` : this.target.host;
    const dest = `${this.target.user ? `${this.target.user}@` : ''}${host}:${remotePath}`;
    const args = [
      ...this.commonOptions(),
      '-q',
      '-r',
      ...(this.target.port ? ['-P', String(this.target.port)] : []),
      '--',
      dir,
      dest,
    ];
    return collect(spawn('scp', args, { stdio: ['pipe', 'pipe', 'pipe'] }), '');
  }
}

function collect(child: ChildProcessWithoutNullStreams, input: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new TargetError(`the OpenSSH client (${e.path ?? 'ssh'}) is not installed: apt-get install openssh-client`)
          : e,
      ),
    );
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.on('error', () => {}); // the command may exit before reading its input
    child.stdin.end(input);
  });
}
