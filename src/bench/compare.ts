/**
 * This run against an earlier `wgnas bench --json` report (bench --compare): our median per kernel and
 * shape, before and now, and what differs between the two runs' settings, so a change is not read
 * into two different machines or sweeps.
 */
import { UserFacingError } from '../util/errors.js';
import { BENCH_SCHEMA_VERSION, type BenchReport } from './harness.js';

export interface CompareRow {
  kernel: string;
  label: string;
  beforeMs: number;
  nowMs: number;
  /** beforeMs / nowMs: > 1 means faster now. */
  speedup: number;
  /** Whether the two runs' p10..p90 ranges overlap (then the change is within their spread). */
  overlap: boolean;
}

export interface Comparison {
  rows: CompareRow[];
  /** kernel/shape of this run with no timing in the earlier report. */
  unmatched: string[];
  /** Settings that differ between the runs, as 'what: before -> now'. */
  differences: string[];
}

/** An earlier report from its JSON text; what is wrong names `path`. */
export function parseBenchReport(text: string, path: string): BenchReport {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserFacingError(`--compare ${path} is not valid JSON: ${(e as Error).message}`);
  }
  const r = json as Partial<BenchReport> | null;
  if (r?.tool !== 'wgnas bench' || !Array.isArray(r.results))
    throw new UserFacingError(`--compare ${path} is not a report of wgnas bench --json (no "tool": "wgnas bench" with results)`);
  // Another major version may mean other things under the same names: refused, not misread.
  const version = r.schemaVersion ?? '1.0';
  const major = (v: unknown) => (typeof v === 'string' && /^\d+\.\d+$/.test(v) ? v.split('.')[0] : null);
  if (major(version) !== major(BENCH_SCHEMA_VERSION))
    throw new UserFacingError(
      `--compare ${path}: a bench report of schema version ${JSON.stringify(version)}; this wgnas reads ${major(BENCH_SCHEMA_VERSION)}.x (compare it with the wgnas that wrote it)`,
    );
  return r as BenchReport;
}

const key = (x: { kernel: string; label: string }) => `${x.kernel} ${x.label}`;

export function compareReports(before: BenchReport, now: BenchReport): Comparison {
  const old = new Map(before.results.filter((x) => x.ours && Number.isFinite(x.ours.medianMs)).map((x) => [key(x), x.ours!]));
  const rows: CompareRow[] = [];
  const unmatched: string[] = [];
  for (const x of now.results) {
    const b = old.get(key(x));
    if (!x.ours || !b) {
      unmatched.push(key(x));
      continue;
    }
    const n = x.ours;
    rows.push({
      kernel: x.kernel,
      label: x.label,
      beforeMs: b.medianMs,
      nowMs: n.medianMs,
      speedup: b.medianMs / n.medianMs,
      overlap: b.p10Ms <= n.p90Ms && n.p10Ms <= b.p90Ms,
    });
  }
  const differences: string[] = [];
  const differs = (what: string, a: unknown, b: unknown) => {
    if (a !== b) differences.push(`${what}: ${String(a)} -> ${String(b)}`);
  };
  // A report before 1.4 has no machine: not a difference.
  const host = (m: BenchReport['machine']) => m && `${m.cpu} (${m.logicalCores} logical cores)`;
  if (before.machine && now.machine) differs('machine', host(before.machine), host(now.machine));
  differs('device', before.device ?? 'gpu', now.device ?? 'gpu');
  // What ran ours: an adapter on the GPU, the CPU backend on the CPU; named by each run's own device.
  const ranOn = (d: BenchReport['device']) => (d === 'cpu' ? 'CPU backend' : 'adapter');
  const [was, is] = [ranOn(before.device), ranOn(now.device)];
  differs(was === is ? is : `${was} -> ${is}`, before.adapter?.name, now.adapter.name);
  differs('timing', before.timing, now.timing);
  differs('shapes', before.options?.shapes, now.options.shapes);
  differs('repeats', before.options?.repeats, now.options.repeats);
  differs('warm-up', before.options?.warmup, now.options.warmup);
  differs('sustained warm-up ms', before.options?.warmupMs ?? 0, now.options.warmupMs ?? 0);
  return { rows, unmatched, differences };
}
