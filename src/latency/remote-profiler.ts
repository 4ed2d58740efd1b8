/**
 * Latency tables measured on a target CPU over ssh: the standalone profiler (native/target/,
 * bundled per architecture by scripts/build-target.sh) is copied to the target once per bundle,
 * run there with this run's settings, and streams one result line per op chain; each is appended
 * to the local table as it arrives. A dropped connection is re-opened (the keys already measured
 * are not sent again), up to `retries` times in a row without progress.
 *
 * A target's user environment may set WGNAS_TARGET_ARCH (reported instead of `uname -m`) and
 * WGNAS_TARGET_EMULATOR (a command the profiler runs under, e.g. qemu-aarch64-static): that is how
 * the tests run the aarch64 build under qemu-user behind an sshd on an x86 machine.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

import { isInstalledPackage, repoRoot } from '../data/paths.js';
import type { NativeOp } from '../native/binding.js';
import { tempHost } from '../util/durable.js';
import { keyToNativeOp } from './keys.js';
import type { LatencyEntry } from './lut.js';
import { flushStamp, type ProfileSettings } from './profiler.js';
import { lastLine, parseTarget, shellQuote, SshConnection, sshFix, TargetError, type SshOptions } from './ssh.js';
import { CPU_RESUME_FIELDS, type TableSource } from './table-writer.js';

/** The architectures scripts/build-target.sh builds, by the names `uname -m` gives them. */
const ARCH_ALIASES: Record<string, string> = { x86_64: 'x86_64', amd64: 'x86_64', aarch64: 'aarch64', arm64: 'aarch64' };
export const TARGET_ARCHS = ['x86_64', 'aarch64'] as const;

export interface RemoteProfileOptions extends SshOptions, ProfileSettings {
  /** ssh://[user@]host[:port] */
  target: string;
  /** Where bundles live on the target, relative to the login directory or absolute. Default .cache/wgnas. */
  targetDir?: string;
  /** Reconnections in a row without a new result before giving up. Default 3. */
  retries?: number;
  /** First reconnection delay (doubles each time, at most 10 s). Default 1000. */
  retryDelayMs?: number;
  /** Where the bundles are built (default build/target, or $WGNAS_TARGET_BUNDLES). */
  bundlesDir?: string;
  /** Notes for the user: copying, reconnecting. */
  onNote?: (message: string) => void;
}

/** The target's own stamp line (wgnas-profiler's first output line). */
export interface RemoteStamp {
  arch: string;
  cpu: string;
  logicalCores: number;
  physicalCores: number;
  availableCores: number;
  library: string;
  backend: string;
  threads: number;
  pinned: boolean;
  pinError?: string;
  flushBytes: number;
  repeats: number;
  warmup: number;
}

/** One measured op chain: the profiler's result line. */
export interface RemoteResult {
  count: number;
  mean: number;
  std: number;
  median: number;
  iqr: number;
  min: number;
  max: number;
}

export interface Chain {
  /** No whitespace (a table key, or any name). */
  id: string;
  ops: NativeOp[];
}

export function remoteResultToEntry(r: RemoteResult): LatencyEntry {
  return { count: r.count, mean: r.mean, var: r.std * r.std, median: r.median, iqr: r.iqr };
}

/** A chain as the profiler reads it: `ID type=conv,inH=32,...;type=...`. */
export function chainLine(c: Chain): string {
  if (!/^\S+$/.test(c.id)) throw new TargetError(`chain id '${c.id}' must be one word`);
  const op = (o: NativeOp) =>
    Object.entries(o)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'boolean' ? Number(v) : v}`)
      .join(',');
  return `${c.id} ${c.ops.map(op).join(';')}`;
}

export function bundlesRoot(o: Pick<RemoteProfileOptions, 'bundlesDir'> = {}): string {
  return resolve(o.bundlesDir ?? process.env.WGNAS_TARGET_BUNDLES ?? join(repoRoot(), 'build', 'target'));
}

/** The built bundle for `arch`: its directory and id; TargetError saying how to build it. */
export function findBundle(arch: string, o: Pick<RemoteProfileOptions, 'bundlesDir'> = {}): { dir: string; id: string } {
  const dir = join(bundlesRoot(o), arch, 'bundle');
  const idFile = join(dir, 'BUNDLE_ID');
  if (!existsSync(idFile)) {
    // An installed package ships no build scripts: the bundle is built in a checkout of the same version.
    const how = isInstalledPackage()
      ? `build it in a wgnas checkout (scripts/build-target.sh ${arch}) and set WGNAS_TARGET_BUNDLES to its build/target`
      : `run scripts/build-target.sh ${arch}`;
    throw new TargetError(`no ${arch} profiler is built (${dir}): ${how}`);
  }
  return { dir, id: readFileSync(idFile, 'utf8').trim() };
}

/** Why the profiler could not start on the target, from its shell's and loader's words; null if none of them. */
const debianArch = (arch: string): string => (arch === 'aarch64' ? 'arm64' : arch === 'x86_64' ? 'amd64' : arch);

/** Where Debian's cross C library of `arch` lives (libc6-<arch>-cross): qemu-user's sysroot. */
export const crossSysroot = (arch: string): string => `/usr/${arch}-linux-gnu`;

/**
 * Shell run on the target before the profiler: under an emulator (WGNAS_TARGET_EMULATOR) without
 * QEMU_LD_PREFIX, qemu-user looks for the target's loader in / (absent on an x86 machine), so the
 * cross C library's sysroot is taken when it is there.
 */
export function emulatorPrefix(arch: string): string {
  const root = shellQuote(crossSysroot(arch));
  return `{ [ -z "\${WGNAS_TARGET_EMULATOR:-}" ] || [ -n "\${QEMU_LD_PREFIX:-}" ] || [ ! -d ${root} ] || export QEMU_LD_PREFIX=${root}; } && `;
}

export function startFailure(stderr: string, arch: string, where: string): string | null {
  const lib = /error while loading shared libraries: ([^:]+): cannot open shared object file/.exec(stderr);
  if (lib) {
    return `the ${arch} profiler cannot start on the target: ${lib[1]} is missing there (its copy in ${where} is damaged: delete that directory on the target to copy it again)`;
  }
  const ver = /version `(GLIBC_[0-9.]+)' not found/.exec(stderr);
  if (ver)
    return `the ${arch} profiler cannot start on the target: its C library is older than the profiler needs (${ver[1]}); use a target with glibc 2.34 or later`;
  const loader = /Could not open '([^']*ld-linux[^']*)'/.exec(stderr) ?? /: ([^\s:]*ld-linux[^\s:]*): No such file/.exec(stderr);
  if (loader && /qemu/.test(stderr))
    return `the ${arch} profiler cannot start under qemu-user on the target: no ${arch} loader (${loader[1]}); install the ${arch} C library there (apt-get install libc6-${debianArch(arch)}-cross: ${crossSysroot(arch)} is then used) or set QEMU_LD_PREFIX=SYSROOT in its login environment (sshd SetEnv)`;
  if (loader)
    return `the ${arch} profiler cannot start on the target: the C library's loader ${loader[1]} is missing there (the profiler needs glibc Linux, not musl or Android)`;
  if (/Exec format error|cannot execute binary file/.test(stderr)) {
    return `the ${arch} profiler does not run on the target (Exec format error): the target is not ${arch}, although it reports it`;
  }
  return null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A profiler session with one target: install, stamp, and streamed measurement with reconnects. */
export class RemoteProfiler {
  readonly conn: SshConnection;
  private readonly dir: string;
  private bundle: { id: string; arch: string } | null = null;
  private firstStamp: RemoteStamp | null = null;

  constructor(private readonly o: RemoteProfileOptions) {
    const target = parseTarget(o.target);
    this.conn = new SshConnection(target, o);
    this.dir = o.targetDir ?? '.cache/wgnas';
    if (!/^[A-Za-z0-9._/-]+$/.test(this.dir) || this.dir.split('/').includes('..')) {
      throw new TargetError(
        `--target-dir '${this.dir}' must be a plain path (letters, digits, . _ - /, no '..'), relative to the target's login directory or absolute`,
      );
    }
  }

  get device(): string {
    return this.conn.target.device;
  }

  private fail(why: string): never {
    throw new TargetError(`target ${this.o.target}: ${why}`);
  }

  private sshFailure(res: { stderr: string }, doing: string): never {
    const fix = sshFix(res.stderr, this.conn.target);
    const line = lastLine(res.stderr);
    this.fail(`cannot ${doing}: ${fix ? line.replace(/\.$/, '') : line}${fix}`);
  }

  private profilerArgs(): string[] {
    const f = this.o.flushBytes ?? 'auto';
    const args = [
      '--backend',
      this.o.backend ?? 'onednn',
      '--threads',
      String(this.o.threads ?? 1),
      '--repeats',
      String(this.o.repeats ?? 30),
    ];
    args.push('--warmup', String(this.o.warmup ?? 5), '--max-time-ms', String(this.o.maxTimeMs ?? 0), '--flush-bytes', String(f));
    if (this.o.pin === false) args.push('--no-pin');
    return args;
  }

  private runCommand(extra: string[]): string {
    const where = `${this.dir}/${this.bundle!.id}`;
    return `cd ${shellQuote(where)} && ${emulatorPrefix(this.bundle!.arch)}exec \${WGNAS_TARGET_EMULATOR:-} ./wgnas-profiler ${[...this.profilerArgs(), ...extra].map(shellQuote).join(' ')}`;
  }

  /** Finds the target's architecture and copies the matching bundle there unless it is already there. */
  async install(): Promise<{ arch: string; id: string; copied: boolean }> {
    const probe = await this.conn.exec(
      `printf '%s\\n' "\${WGNAS_TARGET_ARCH:-$(uname -m)}"; ls -1 ${shellQuote(this.dir)} 2>/dev/null; true`,
    );
    if (probe.code !== 0) this.sshFailure(probe, 'reach it');
    const [reported, ...present] = probe.stdout.split('\n').map((l) => l.trim());
    const arch = ARCH_ALIASES[reported];
    if (!arch)
      this.fail(
        `it reports architecture '${reported.slice(0, 40)}', and wgnas builds its profiler for ${TARGET_ARCHS.join(' and ')} only`,
      );
    const b = findBundle(arch, this.o);
    this.bundle = { id: b.id, arch };
    if (present.includes(b.id)) return { arch, id: b.id, copied: false };
    this.o.onNote?.(`copying the ${arch} profiler (${b.id}) to ${this.device}:${this.dir}`);
    // A name of this copy's own: two runs installing on one target at once (two profile --target
    // runs, or a --procs pair) must not remove or rename each other's half-done copy. Copies killed
    // over an hour ago are cleared.
    const tmpName = `${b.id}.${process.pid}@${tempHost()}-${randomBytes(4).toString('hex')}.tmp`;
    const tmp = `${this.dir}/${tmpName}`;
    const final = `${this.dir}/${b.id}`;
    const prep = await this.conn.exec(
      `mkdir -p ${shellQuote(this.dir)} && { find ${shellQuote(this.dir)} -maxdepth 1 -name ${shellQuote(`${b.id}.*.tmp`)} -mmin +60 -exec rm -rf {} + 2>/dev/null; true; }`,
    );
    if (prep.code !== 0) this.sshFailure(prep, `create ${this.dir} there`);
    const cp = await this.conn.copyDir(b.dir, tmp);
    if (cp.code !== 0) this.sshFailure(cp, `copy the profiler there`);
    // The rename makes the copy visible only once it is complete. Another run's copy in place first
    // is as good (the same bundle id): this one goes; one that won the race meanwhile got this one
    // moved inside it, removed there.
    const mv = await this.conn.exec(
      `chmod +x ${shellQuote(`${tmp}/wgnas-profiler`)} && if [ -e ${shellQuote(final)} ]; then rm -rf ${shellQuote(tmp)}; ` +
        `else mv ${shellQuote(tmp)} ${shellQuote(final)} && rm -rf ${shellQuote(`${final}/${tmpName}`)}; fi`,
    );
    if (mv.code !== 0) this.sshFailure(mv, 'install the profiler there');
    return { arch, id: b.id, copied: true };
  }

  private checkStart(res: { code: number | null; stderr: string }): void {
    const why = startFailure(res.stderr, this.bundle!.arch, `${this.dir}/${this.bundle!.id}`);
    if (why) this.fail(why);
    if (res.code === 127) this.fail(`cannot start the profiler there: ${lastLine(res.stderr)}`);
  }

  /** Installs if needed, then asks the profiler for the target's stamp (CPU, library, pinning). */
  async stamp(): Promise<RemoteStamp> {
    if (!this.bundle) await this.install();
    const res = await this.conn.exec(this.runCommand(['--info']));
    this.checkStart(res);
    const first = res.stdout.split('\n')[0];
    if (res.code !== 0 || !first.startsWith('{')) {
      if (res.code === 255 && !res.stdout) this.sshFailure(res, 'reach it');
      this.fail(`the profiler failed there (exit ${res.code}): ${lastLine(res.stderr)}`);
    }
    this.firstStamp = parseStamp(first);
    return this.firstStamp;
  }

  /**
   * Measures `chains` on the target, calling `put` as each result arrives. A dropped connection is
   * re-opened and the chains not yet measured are sent again; a failure of the profiler itself, or
   * `retries` reconnections in a row without a result, ends it with a TargetError.
   */
  async measure(chains: Chain[], put: (id: string, r: RemoteResult) => void): Promise<void> {
    if (!this.firstStamp) await this.stamp();
    const lines = new Map(chains.map((c) => [c.id, chainLine(c)]));
    const retries = this.o.retries ?? 3;
    let failures = 0;
    while (lines.size > 0) {
      const before = lines.size;
      const outcome = await this.runOnce([...lines.values()].join('\n') + '\n', (id, r) => {
        if (!lines.delete(id)) return; // a chain already measured (or not asked for)
        put(id, r);
      });
      if (outcome.ok) {
        if (lines.size > 0)
          this.fail(`the profiler finished without measuring ${lines.size} chain(s), the first ${[...lines.keys()][0]}`);
        return;
      }
      failures = lines.size < before ? 1 : failures + 1;
      if (failures > retries) {
        this.fail(
          `lost the connection and could not continue after ${retries} reconnection(s) (${outcome.why}); ${lines.size} op(s) left: run again with --resume`,
        );
      }
      const delay = Math.min(10_000, (this.o.retryDelayMs ?? 1000) * 2 ** (failures - 1));
      this.o.onNote?.(
        `connection to ${this.device} lost (${outcome.why}): reconnecting in ${(delay / 1000).toFixed(1)} s (${failures}/${retries}), ${lines.size} op(s) left`,
      );
      await sleep(delay);
    }
  }

  /** One connection: ok when the profiler read everything and said done; else why it broke. */
  private runOnce(input: string, put: (id: string, r: RemoteResult) => void): Promise<{ ok: true } | { ok: false; why: string }> {
    const child = this.conn.spawn(this.runCommand(['-']));
    let stderr = '';
    let done = false;
    let error: string | null = null;
    let stampChecked = false;
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      if (!line.startsWith('{') || error) return;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return; // a line cut by the drop
      }
      if (msg.event === 'stamp') {
        const s = parseStamp(line);
        const f = this.firstStamp!;
        if (s.cpu !== f.cpu || s.library !== f.library || s.arch !== f.arch) {
          error = `after reconnecting, the target reports another device (${s.arch} ${s.cpu}, ${s.library}; was ${f.arch} ${f.cpu}, ${f.library})`;
          child.kill();
        }
        stampChecked = true;
      } else if (msg.event === 'result' && stampChecked) {
        put(String(msg.id), msg as unknown as RemoteResult);
      } else if (msg.event === 'error') {
        error = `the profiler failed on ${String(msg.id)}: ${String(msg.message)}`;
      } else if (msg.event === 'done') {
        done = true;
      }
    });
    return new Promise((resolvePromise, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        rl.close();
        try {
          if (error) this.fail(error);
          this.checkStart({ code, stderr });
          if (done && code === 0) return resolvePromise({ ok: true });
          if (code !== 255 && code !== null && code !== 0)
            this.fail(`the profiler failed there (exit ${code}): ${lastLine(stderr)}`);
          resolvePromise({ ok: false, why: signal ? `ssh ended by ${signal}` : lastLine(stderr) });
        } catch (e) {
          reject(e);
        }
      });
    });
  }
}

function parseStamp(line: string): RemoteStamp {
  try {
    const s = JSON.parse(line) as RemoteStamp & { event?: string };
    if (s.event !== 'stamp' || typeof s.cpu !== 'string' || typeof s.library !== 'string') throw new Error('not a stamp');
    return s;
  } catch {
    throw new TargetError(`the target's profiler answered '${line.slice(0, 80)}' instead of its stamp`);
  }
}

/** The table stamp of a remote run: the CPU fields of a local table, plus the target and its architecture. */
export function remoteTableStamp(s: RemoteStamp, device: string, maxTimeMs = 0): Record<string, string> {
  return {
    target: device,
    arch: s.arch,
    cpu: s.cpu,
    cores: `${s.logicalCores} logical, ${s.physicalCores || '?'} physical, ${s.availableCores} available`,
    library: s.library,
    backend: s.backend,
    threads: String(s.threads),
    pinned: s.pinned ? 'yes' : `no (${s.pinError ?? 'disabled'})`,
    repeats: String(s.repeats),
    warmup: String(s.warmup),
    'max-time-ms': String(maxTimeMs),
    'cache-flush': flushStamp(s.flushBytes),
  };
}

/** A table source measuring on a target over ssh. Validates every key before connecting. */
export function remoteTableSource(keys: readonly string[], o: RemoteProfileOptions): TableSource {
  const ops = new Map<string, NativeOp>(keys.map((k) => [k, keyToNativeOp(k)]));
  const remote = new RemoteProfiler(o);
  return {
    resumeFields: [...CPU_RESUME_FIELDS, 'arch'],
    async stamp() {
      return remoteTableStamp(await remote.stamp(), remote.device, o.maxTimeMs ?? 0);
    },
    async measure(todo, put) {
      await remote.measure(
        todo.map((k) => ({ id: k, ops: [ops.get(k)!] })),
        (id, r) => put(id, remoteResultToEntry(r)),
      );
    },
  };
}
