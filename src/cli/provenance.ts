/**
 * The provenance every command's result files carry: what a reader needs to run it again (the
 * command line and every setting, the seed), and what the flags do not say (the code, the device
 * and its threads, the precision, the images, the date). Additive: readers ignore it, and files
 * written before have none. A resume after a code update continues with a note naming both code
 * versions (not a refusal: the new code's rows may differ at float rounding); the file then keeps
 * the earlier runs' records too.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend, DeviceKind } from '../backend/index.js';
import { repoRoot } from '../data/paths.js';
import type { RowStream } from '../data/row-stream.js';
import { loadNative } from '../native/binding.js';
import { CHECKPOINT_PROVENANCE } from '../nn/checkpoint.js';
import { codeVersion } from '../queue/code-version.js';
import { redactUrl } from '../queue/settings.js';
import { writeFileAtomic } from '../util/durable.js';
import { packageVersion, type RunContext } from './run.js';

export interface Provenance {
  /** The package version. */
  wgnas: string;
  /** codeVersion(): the version and a hash of the code and shaders that compute. */
  codeVersion: string;
  /** The checkout's commit, where the code runs from a git checkout. */
  gitCommit?: string;
  /** The command line as given. */
  command: string;
  /** Every option's value, defaults included (what the command line left out too). */
  settings: Record<string, unknown>;
  seed: number | null;
  device: DeviceKind;
  /** What ran the ops (absent for a queue's workers: theirs). */
  deviceName?: string;
  /**
   * The CPU backend's threads (results depend on the count: oneDNN splits its reductions by
   * thread); "each worker's own" for a queue; null on the GPU.
   */
  cpuThreads: number | string | null;
  precision: 'f32' | 'f16';
  /** The CPU (model) and oneDNN of the CPU backend. */
  cpu?: string;
  onednn?: string;
  /** The fingerprint of the images read and where they came from (null: none read). */
  data: string | null;
  node: string;
  /** When the run started (ISO). */
  date: string;
  /** The runs a resumed one continued, oldest first. */
  earlier?: Provenance[];
}

export interface ProvenanceOf {
  device: DeviceKind;
  /** The open backend (its device name and threads), or null before it opens / for a queue. */
  backend?: Backend | null;
  threads: number | string | null;
  f16: boolean;
  data?: string | null;
  seed?: number | null;
}

/** A command-line word as a shell reads it back. */
const shellWord = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

let commit: string | null | undefined;

/** The git commit of a development checkout (an installed package's enclosing repository is not wgnas's). */
function gitCommit(): string | null {
  if (commit !== undefined) return commit;
  const root = repoRoot();
  commit = null;
  if (!existsSync(join(root, '.git'))) return commit;
  try {
    commit =
      execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() ||
      null;
  } catch {
    // No git on the machine: the code version alone identifies the code.
  }
  return commit;
}

/** The CPU model and oneDNN version of the addon, where it loads. */
function cpuOf(): { cpu?: string; onednn?: string } {
  try {
    const native = loadNative();
    const dnnl = native.backends().find((b) => b.name === 'onednn' && b.available);
    return { cpu: native.cpuInfo().model, ...(dnnl?.version ? { onednn: dnnl.version } : {}) };
  } catch {
    return {};
  }
}

/** The command line with --redis's password redacted (`--redis URL` and `--redis=URL`): result files are shared. */
function redactArgv(argv: readonly string[]): string[] {
  return argv.map((w, i) =>
    w.startsWith('--redis=') ? `--redis=${redactUrl(w.slice('--redis='.length))}` : argv[i - 1] === '--redis' ? redactUrl(w) : w,
  );
}

/** This run's provenance: `values` the command's parsed options, `ctx` its command line. */
export function provenanceOf(ctx: Pick<RunContext, 'command' | 'argv'>, values: object, o: ProvenanceOf): Provenance {
  const settings = JSON.parse(JSON.stringify(values)) as Record<string, unknown>;
  if (typeof settings.redis === 'string') settings.redis = redactUrl(settings.redis);
  const args = redactArgv(ctx.argv ?? []);
  const git = gitCommit();
  const seed = o.seed !== undefined ? o.seed : typeof settings.seed === 'number' ? settings.seed : null;
  return {
    wgnas: packageVersion(),
    codeVersion: codeVersion(),
    ...(git ? { gitCommit: git } : {}),
    command: ['wgnas', ctx.command, ...args].map(shellWord).join(' '),
    settings,
    seed,
    device: o.device,
    ...(o.backend ? { deviceName: o.backend.deviceName } : {}),
    cpuThreads: o.backend?.device === 'cpu' ? o.backend.threads : o.threads,
    precision: o.f16 ? 'f16' : 'f32',
    ...(o.device === 'cpu' ? cpuOf() : {}),
    data: o.data ?? null,
    node: process.version,
    date: new Date().toISOString(),
  };
}

/** A recorded provenance as far as a resume reads it (a hand-edited one is only not carried forward). */
function readRecorded(saved: unknown): Provenance | null {
  const p = saved as Partial<Provenance> | null | undefined;
  return p && typeof p === 'object' && typeof p.codeVersion === 'string' ? (p as Provenance) : null;
}

/**
 * The provenance a resumed run records: its own, with the runs it continues (`saved`, what the file
 * recorded) as `earlier`; and the note when the code changed in between ('' otherwise, and for a
 * file written before provenance was recorded). `where`: the file or directory, for the note.
 */
export function resumedProvenance(saved: unknown, now: Provenance, where: string): { record: Provenance; note: string } {
  const was = readRecorded(saved);
  if (!was) return { record: now, note: '' };
  const { earlier = [], ...own } = was;
  const record = { ...now, earlier: [...earlier, own] };
  const note =
    was.codeVersion === now.codeVersion
      ? ''
      : `note: --resume: ${where} was written by wgnas ${was.codeVersion}, this is ${now.codeVersion}: its results come from both (the file's provenance records each)\n`;
  return { record, note };
}

/** A checkpoint directory's provenance: DIR/provenance.json, beside the checkpoints (their cleaning leaves it). */
export const checkpointProvenancePath = (dir: string): string => join(dir, CHECKPOINT_PROVENANCE);

/**
 * The provenance of a run on checkpoint DIR: on --resume the runs recorded in DIR/provenance.json
 * become `earlier` (and a code update is noted on io's stderr). Not written here: the run writes it
 * (writeCheckpointProvenance) once it goes ahead, so a refused --resume or a failed --force run
 * leaves the recorded history as it was.
 */
export function checkpointProvenance(dir: string, resume: boolean, now: Provenance, io: RunContext['io']): Provenance {
  const file = checkpointProvenancePath(dir);
  let saved: unknown;
  if (resume && existsSync(file)) {
    try {
      saved = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      saved = undefined; // unreadable: not carried forward (it decides nothing)
    }
  }
  const { record, note } = resumedProvenance(saved, now, dir);
  if (note) io.err(note);
  return record;
}

/** Writes `record` to DIR/provenance.json (the run holds DIR's lock): once --force discarded and a resume restored. */
export function writeCheckpointProvenance(dir: string, record: Provenance): void {
  writeFileAtomic(checkpointProvenancePath(dir), JSON.stringify(record, null, 1) + '\n');
}

/** `record` with the open backend's device name and threads (known once it opens). */
export function withBackend(record: Provenance, backend: Backend): Provenance {
  return {
    ...record,
    deviceName: backend.deviceName,
    cpuThreads: backend.device === 'cpu' ? backend.threads : record.cpuThreads,
  };
}

/**
 * Records `now` in a row stream's settings file (score --out, search --evaluated): on a resume the
 * file's earlier runs become `earlier` and a code update is noted on io's stderr. Returns the
 * record, to record again once the backend opens (withBackend).
 */
export function streamProvenance(stream: RowStream, now: Provenance, io: RunContext['io']): Provenance {
  const { record, note } = resumedProvenance(stream.savedProvenance, now, stream.path);
  if (note) io.err(note);
  stream.recordProvenance(record);
  return record;
}
