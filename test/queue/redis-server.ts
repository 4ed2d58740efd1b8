/**
 * A private redis-server for a test file: on 127.0.0.1, a free port, no persistence, killed after
 * (never the system's service). Without the binary the tests skip locally; under CI=true that is a
 * failure (.ci/run installs it).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export function haveRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true')
      throw new Error('redis-server is not installed: the queue tests need it (.ci/run installs it)');
    console.warn('queue tests skipped: no redis-server on PATH');
    return false;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  private proc: ChildProcess | null = null;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisServer> {
    const r = new RedisServer(await freePort());
    await r.up();
    return r;
  }

  /** Starts the server (again, on the same port) and waits until it accepts connections. */
  async up(): Promise<void> {
    const p = spawn('redis-server', ['--port', String(this.port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = p;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`redis-server did not start: ${log}`)), 15_000);
      const on = (d: Buffer) => {
        log += String(d);
        if (log.includes('Ready to accept connections')) {
          clearTimeout(t);
          resolve();
        }
      };
      p.stdout!.on('data', on);
      p.stderr!.on('data', on);
      p.on('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`redis-server exited (${code}): ${log}`));
      });
    });
    p.stdout!.resume();
    p.stderr!.resume();
  }

  /** Kills the server (its data is gone: nothing is persisted). */
  async down(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.on('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }
}
