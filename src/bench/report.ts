/** Text/markdown tables, JSON and roofline points for a BenchReport. */
import type { Comparison } from './compare.js';
import type { BaselineName, BaselineResult, BenchReport } from './harness.js';
import type { RooflinePoint } from './roofline.js';

/** Three significant digits without exponent noise for the usual ranges. */
export function fmtNum(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a >= 0.001) return v.toPrecision(3);
  return a === 0 ? '0' : v.toExponential(2);
}

/** The column label of a baseline: what actually ran (e.g. 'gpu.js(webgpu)'), else its name. */
export function baselineLabel(r: Pick<BenchReport, 'labels'>, b: BaselineName): string {
  return r.labels?.[b] ?? b;
}

function ratio(b: BaselineResult | undefined): string {
  if (!b) return '-';
  if (b.status === 'ok') return `${b.estimate ? '~' : ''}${fmtNum(b.speedup)}x`;
  if (b.status === 'parity-failed') return 'PARITY';
  if (b.status === 'error') return 'error';
  return 'skip';
}

function timingText(source: string, device: 'gpu' | 'cpu' = 'gpu'): string {
  if (source === 'timestamp-query') return 'timestamp-query (GPU timestamps written before/after each repeat)';
  if (source === 'cpu-worker')
    return "op time inside the addon (the CPU worker's clock around each op, as oneDNN/XNNPACK's profile() around theirs; queueing and the JS round trip excluded)";
  if (source === 'wall-clock' && device === 'cpu') return 'wall clock (sync before and after the queued ops)';
  if (source === 'wall-clock') return 'wall clock (no timestamp-query: submit to onSubmittedWorkDone)';
  return `${source} (some timestamp samples fell back to the wall clock)`;
}

/** Where the report's peak came from, for the header; `cores`: the machine's (its threads may be more). */
export function peakOrigin(p: BenchReport['peak'], cores?: number): string {
  if (p.source === 'table') return `datasheet: ${p.name}`;
  const rounds = p.rounds ? `, best of ${p.rounds} round${p.rounds > 1 ? 's' : ''}` : '';
  const when =
    p.origin === 'cached'
      ? `; cached from ${p.measuredAt?.slice(0, 16).replace('T', ' ') ?? '?'}${rounds}, --recalibrate measures again`
      : p.origin === 'measured'
        ? `; measured now${rounds}, cached for later runs`
        : '';
  const raised = p.raisedFrom ? `; raised to rates this run reached${p.raiseCached ? ', saved for later runs' : ''}` : '';
  return `${p.name}${threadsText(p.threads, cores)}${when}${raised}`;
}

/**
 * A CPU peak's per-thread rates: what one thread reached and what all did together, and why when
 * they did not scale (a single-thread baseline near a many-thread peak is then no error): more
 * threads than the machine's `cores` take turns on them (at most `cores` x), else the cores were busy.
 */
export function threadsText(t: BenchReport['peak']['threads'], cores?: number): string {
  if (!t || t.count <= 1) return '';
  const g = (x: number) => fmtNum(x / 1e9);
  const scale = t.allThreadsFlopsPerS / t.oneThreadFlopsPerS;
  const over = cores !== undefined && cores >= 1 && t.count > cores;
  const cap = over ? cores : t.count;
  const busy = scale < 0.75 * cap ? 'the cores were shared or busy while measuring; --recalibrate on an idle machine' : '';
  const why = over
    ? `, not ${t.count}x: ${t.count} threads on ${cores} core${cores === 1 ? '' : 's'} take turns (oversubscribed: at most ${cores}x)${busy ? `; below that, ${busy}` : ''}`
    : busy
      ? `, not ${t.count}x: ${busy}`
      : '';
  return `; matmul ${g(t.oneThreadFlopsPerS)} GFLOP/s on 1 thread, ${g(t.allThreadsFlopsPerS)} on ${t.count} together (${scale.toFixed(2)}x one thread${why}), the peak is the higher`;
}

export function describeMachine(m: NonNullable<BenchReport['machine']>): string {
  return `${m.cpu}, ${m.logicalCores} logical cores, ${m.platform}, node ${m.node}`;
}

export function reportHeader(r: BenchReport): string {
  const peakSrc = peakOrigin(r.peak, r.machine?.logicalCores);
  const lines = [
    `wgnas bench${r.version ? ` ${r.version}` : ''} | ${r.device === 'cpu' ? 'device' : 'adapter'}: ${r.adapter.name}${r.adapter.isSoftware ? ' (software)' : ''} | ${r.date}`,
    ...(r.machine ? [`machine: ${describeMachine(r.machine)}`] : []),
    `timing: ${timingText(r.timing, r.device)}`,
    `peak: ${fmtNum(r.peak.gflops)} GFLOP/s f32, ${fmtNum(r.peak.gbps)} GB/s (${peakSrc})`,
    `ours: ${r.where.ours}`,
  ];
  const bl = r.options.baselines;
  const w = Math.max(4, ...bl.map((b) => baselineLabel(r, b).length));
  for (const b of bl) lines.push(`${`${baselineLabel(r, b)}:`.padEnd(w + 1)} ${r.where[b] ?? 'not run'}`);
  const budget = budgetPhrase(r.options.maxSeconds);
  const est = usesEstimates(r) ? '; ~: estimate, derived rather than timed (the note says how)' : '';
  lines.push(
    `shapes: ${r.options.shapes}, warm-up ${r.options.warmup}${r.options.warmupMs ? ` + ${r.options.warmupMs} ms sustained` : ''}, repeats ${r.options.repeats}${budget ? ` (${budget}: --max-seconds)` : ''}; ` +
      `%peak = % of the roofline bound at the kernel's intensity; vs X = our throughput / X's (>1: ours faster${est})`,
  );
  return lines.join('\n');
}

/** The time budgets of a report (1.5) in words; '' for a report before them. */
function budgetPhrase(m: BenchReport['options']['maxSeconds']): string {
  if (!m) return '';
  const s = (x: number) => `${fmtNum(x)} s`;
  return m.ours === m.cpuBaselines
    ? `each measurement at most ${s(m.ours)}`
    : `at most ${s(m.ours)} a measurement of ours or a GPU baseline, ${s(m.cpuBaselines)} of a CPU baseline`;
}

/** Whether any baseline time of the report is derived (its ratio printed with ~). */
function usesEstimates(r: BenchReport): boolean {
  return r.results.some((x) => Object.values(x.baselines).some((b) => b?.status === 'ok' && b.estimate));
}

function render(header: string[], rows: string[][], markdown: boolean, rightFrom: number): string {
  if (markdown) {
    const sep = header.map((_, i) => (i >= rightFrom ? '---:' : '---'));
    return [header, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n') + '\n';
  }
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i >= rightFrom ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

/** kernel, shape, median/p10/p90 ms, GFLOP/s, GB/s, %peak, vs each baseline. */
export function formatTable(r: BenchReport, opts: { markdown?: boolean } = {}): string {
  const bl = r.options.baselines;
  // Shown when the time budget cut some of ours short of --repeats: samples taken / asked.
  const cut = r.results.some((x) => x.ours?.budgetCut);
  const header = [
    'kernel',
    'shape',
    'median ms',
    'p10 ms',
    'p90 ms',
    ...(cut ? ['samples'] : []),
    'GFLOP/s',
    'GB/s',
    '%peak',
    ...bl.map((b) => `vs ${baselineLabel(r, b)}`),
  ];
  const rows = r.results.map((x) => {
    if (!x.ours)
      return [
        x.kernel,
        x.label,
        x.error ? `failed: ${x.error.slice(0, 60)}` : '-',
        '',
        '',
        ...(cut ? [''] : []),
        '',
        '',
        '',
        ...bl.map(() => ''),
      ];
    const o = x.ours;
    return [
      x.kernel,
      x.label,
      fmtNum(o.medianMs),
      fmtNum(o.p10Ms),
      fmtNum(o.p90Ms),
      ...(cut ? [o.budgetCut ? `${o.samples}/${r.options.repeats}` : `${o.samples}`] : []),
      fmtNum(o.gflops),
      fmtNum(o.gbps),
      fmtNum(o.pctPeak),
      ...bl.map((b) => ratio(x.baselines[b])),
    ];
  });
  return render(header, rows, opts.markdown ?? false, 2);
}

/** GFLOP/s and GB/s of ours and each baseline side by side. */
export function formatSideBySide(r: BenchReport, opts: { markdown?: boolean } = {}): string {
  const series: Array<'ours' | BaselineName> = ['ours', ...r.options.baselines];
  const name = (s: 'ours' | BaselineName) => (s === 'ours' ? s : baselineLabel(r, s));
  const header = ['kernel', 'shape', ...series.map((s) => `GFLOP/s ${name(s)}`), ...series.map((s) => `GB/s ${name(s)}`)];
  const get = (x: BenchReport['results'][number], s: 'ours' | BaselineName) => (s === 'ours' ? x.ours : x.baselines[s]);
  const rows = r.results.map((x) => [
    x.kernel,
    x.label,
    ...series.map((s) => fmtNum(get(x, s)?.gflops)),
    ...series.map((s) => fmtNum(get(x, s)?.gbps)),
  ]);
  return render(header, rows, opts.markdown ?? false, 2);
}

/** bench --compare: our median before (the earlier report) and now, per kernel and shape. */
export function formatCompare(c: Comparison, before: BenchReport, file: string, opts: { markdown?: boolean } = {}): string {
  const by = before.version ? `, wgnas ${before.version}` : '';
  const lines = [`compared with ${file} (${before.date ?? 'undated'}${by}); change = before / now (>1: faster now)`];
  if (c.differences.length) lines.push(`note: the runs differ in ${c.differences.join('; ')}`);
  const header = ['kernel', 'shape', 'before ms', 'now ms', 'change', 'p10-p90 overlap'];
  const rows = c.rows.map((r) => [
    r.kernel,
    r.label,
    fmtNum(r.beforeMs),
    fmtNum(r.nowMs),
    `${fmtNum(r.speedup)}x`,
    r.overlap ? 'yes' : 'no',
  ]);
  const table = rows.length
    ? render(header, rows, opts.markdown ?? false, 2)
    : `no kernel and shape of this run is timed in ${file}\n`;
  const rest = c.unmatched.length && rows.length ? `note: not in ${file}: ${c.unmatched.join(', ')}\n` : '';
  return `${lines.join('\n')}\n\n${table}${rest}`;
}

/**
 * Notes for baselines: how one was mapped (e.g. oneDNN's equivalent op chain) and why one produced
 * no numbers (skips, parity failures, errors). The same reason is said once, naming the kernels (the
 * rows, for a failure) it concerns, or "every row" when it is all the rows the baseline appears in.
 */
export function formatNotes(r: BenchReport): string {
  const rowsOf = new Map<string, number>();
  const groups = new Map<string, { head: string; ok: boolean; what: string; items: string[] }>();
  for (const x of r.results) {
    for (const [name, b] of Object.entries(x.baselines)) {
      if (!b) continue;
      const label = b.label ?? name;
      rowsOf.set(label, (rowsOf.get(label) ?? 0) + 1);
      if (!b.note) continue;
      const ok = b.status === 'ok';
      const key = `${label}\0${b.status}\0${b.note}`;
      const g = groups.get(key) ?? { head: label, ok, what: ok ? b.note : `${b.status}: ${b.note}`, items: [] };
      groups.set(key, g);
      const item = ok ? x.kernel : `${x.kernel} ${x.label}`;
      if (!g.items.includes(item)) g.items.push(item);
    }
  }
  const lines = [...groups.values()].map((g) => {
    const all = !g.ok && g.items.length > 1 && g.items.length === rowsOf.get(g.head);
    return `note: ${g.head} ${all ? `(every row, ${g.items.length})` : g.items.join(', ')}: ${g.what}`;
  });
  lines.push(...budgetCutNotes(r));
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** Which measurements the time budget stopped short of --repeats: ours (the samples column) and per baseline. */
function budgetCutNotes(r: BenchReport): string[] {
  const cutOf = new Map<string, string[]>();
  const add = (who: string, x: BenchReport['results'][number], samples: number) =>
    cutOf.set(who, [...(cutOf.get(who) ?? []), `${x.kernel} ${x.label} (${samples} samples)`]);
  for (const x of r.results) {
    if (x.ours?.budgetCut) add('ours', x, x.ours.samples);
    for (const [name, b] of Object.entries(x.baselines))
      if (b?.status === 'ok' && b.budgetCut) add(b.label ?? name, x, b.samples ?? 0);
  }
  const budget = budgetPhrase(r.options.maxSeconds);
  return [...cutOf].map(
    ([who, items]) =>
      `note: ${who} ${items.join(', ')}: fewer samples than --repeats ${r.options.repeats}, stopped by the time budget (${budget ? `${budget}; ` : ''}a larger --max-seconds takes them all)`,
  );
}

/**
 * On --device cpu, when ours and the oneDNN / XNNPACK baselines run on different thread counts: the
 * ratios then compare N threads with M, and a one-thread baseline near the peak is one core's rate.
 */
export function threadsNote(
  r: Pick<BenchReport, 'device' | 'labels'>,
  oursThreads: number | null,
  nativeThreads: number,
): string {
  if (r.device !== 'cpu' || oursThreads === null || oursThreads === nativeThreads) return '';
  const native = (['onednn', 'xnnpack'] as const).filter((b) => r.labels[b]).map((b) => r.labels[b]!);
  if (!native.length) return '';
  const n = (t: number) => `${t} thread${t > 1 ? 's' : ''}`;
  return `note: ours ran on ${n(oursThreads)} (--cpu-threads), ${native.join(' and ')} on ${n(nativeThreads)} (--native-threads): the vs columns compare ${n(oursThreads)} with ${nativeThreads}; --native-threads ${oursThreads} compares like with like\n`;
}

/**
 * Whether a baseline runs on the device whose roofline the report has: under a GPU's roofline only
 * tfjs-webgpu (the same Dawn device); under the CPU backend's, everything but the GPU libraries.
 */
function onRoofDevice(device: BenchReport['device'], baseline: string): boolean {
  const gpuSide = baseline === 'tfjs-webgpu' || baseline === 'gpujs';
  return device === 'cpu' ? !gpuSide : baseline === 'tfjs-webgpu'; // reports before 'device' were all GPU
}

export function rooflinePoints(r: BenchReport): RooflinePoint[] {
  const pts: RooflinePoint[] = [];
  for (const x of r.results) {
    if (x.ours) pts.push({ kernel: x.kernel, label: x.label, series: 'ours', intensity: x.intensity, gflops: x.ours.gflops });
    for (const [name, b] of Object.entries(x.baselines)) {
      if (b?.status === 'ok' && b.gflops !== undefined) {
        pts.push({
          kernel: x.kernel,
          label: x.label,
          series: b.label ?? name,
          intensity: x.intensity,
          gflops: b.gflops,
          otherDevice: !onRoofDevice(r.device, name),
        });
      }
    }
  }
  return pts;
}
