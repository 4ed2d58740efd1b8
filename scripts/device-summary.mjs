#!/usr/bin/env node
// Summarises a device-suite output folder into summary.md (plain Node, no dependencies, so it runs on
// the bare GPU machine too):  node scripts/device-summary.mjs DIR
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir || !existsSync(dir)) {
  process.stderr.write(`usage: device-summary.mjs DIR (the suite's output folder)${dir ? `; not found: ${dir}` : ''}\n`);
  process.exit(2);
}
const read = (f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : null);
const json = (f) => {
  const t = read(f);
  try {
    return t ? JSON.parse(t) : null;
  } catch {
    return null;
  }
};
/** Minimal CSV reader for the score files (quoted fields, no embedded newlines). */
function csv(text) {
  const rows = text
    .trim()
    .split('\n')
    .map((line) => {
      const out = [];
      let cur = '';
      let q = false;
      for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (q) {
          if (c === '"' && line[i + 1] === '"') {
            cur += '"';
            i++;
          } else if (c === '"') q = false;
          else cur += c;
        } else if (c === '"') q = true;
        else if (c === ',') {
          out.push(cur);
          cur = '';
        } else cur += c;
      }
      out.push(cur);
      return out;
    });
  const [h, ...body] = rows;
  // A row with another field count is a line cut short (a killed writer): left out, not misread.
  return body.filter((r) => r.length === h.length).map((r) => Object.fromEntries(h.map((k, i) => [k, r[i]])));
}
function kendall(a, b) {
  let c = 0,
    d = 0,
    ta = 0,
    tb = 0;
  for (let i = 0; i < a.length; i++)
    for (let j = i + 1; j < a.length; j++) {
      // Compared, not subtracted: two -Infinity scores (WRCor of a dead cell) are a tie, not NaN.
      const x = a[i] < a[j] ? -1 : a[i] > a[j] ? 1 : 0,
        y = b[i] < b[j] ? -1 : b[i] > b[j] ? 1 : 0;
      if (x === 0 && y === 0) continue;
      if (x === 0) ta++;
      else if (y === 0) tb++;
      else if (x === y) c++;
      else d++;
    }
  return (c - d) / Math.sqrt((c + d + ta) * (c + d + tb));
}
/** A score cell as a number; an empty cell (a failed or missing score) is NaN, not Number('') = 0. */
const num = (v) => (v === undefined || String(v).trim() === '' ? NaN : Number(v));
/** Grouped/stacked vs one-at-a-time WRCor: above this relative difference the summary says FAIL. */
const PARITY_RTOL = 1e-4;
/**
 * The relative difference of two scores: 0 where they are equal (two -Infinity scores of a dead
 * cell included), Infinity where only one is finite, NaN where either is missing.
 */
function relDiff(x, y) {
  if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
  if (x === y) return 0;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return Infinity;
  return Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y));
}
const log = read('suite.log') ?? '';
/** Wall seconds of a step from suite.log (any exit code: a partial run counts too). */
const stepSeconds = (name) => Number((log.match(new RegExp(`end ${name} rc=\\d+ in (\\d+)s`)) ?? [])[1] ?? NaN);
const stepRc = (name) => Number((log.match(new RegExp(`end ${name} rc=(\\d+)`)) ?? [])[1] ?? NaN);
/** The cells of score-procs: score-all's, or its own selection (logs before 2026-12-06 14:00 do not say). */
function procsCells(text) {
  const all = (text.match(/ cells=\[([^\]]*)\]/) ?? [])[1];
  const own = (text.match(/ procs-cells=\[([^\]]*)\]/) ?? [])[1];
  if (own === undefined) return 'cells not logged';
  return own === all ? 'the same cells' : `${own}, other cells than score-all's`;
}
const fmt = (v, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const lines = [];
/** Runs one part of the summary; a file it cannot read (a step cut mid-write, an older format) costs that part only. */
function section(name, fn) {
  try {
    fn();
  } catch (e) {
    lines.push(`(${name}: not summarised: ${e instanceof Error ? e.message : e})`, '');
  }
}
const info = json('info.json');
const unsafe = json('info-unsafe.json');
const smi = read('nvidia-smi.csv');
lines.push(`# Device suite — ${info?.adapter?.description ?? 'unknown adapter'} — ${new Date().toISOString().slice(0, 10)}`, '');
if (smi) lines.push('```', smi.trim(), '```', '');
section('adapter', () => {
  if (info) {
    lines.push(
      `- adapter: ${info.adapter.vendor} / ${info.adapter.architecture} / ${info.adapter.description}${info.adapter.isSoftware ? ' (software)' : ''}`,
    );
    lines.push(`- features requested: ${info.adapter.features.join(', ')}`);
    if (info.adapter.adapterFeatures) lines.push(`- adapter features: ${info.adapter.adapterFeatures.join(', ')}`);
    if (unsafe?.adapter?.adapterFeatures) {
      const extra = unsafe.adapter.adapterFeatures.filter((f) => !(info.adapter.adapterFeatures ?? []).includes(f));
      lines.push(
        `- with allow_unsafe_apis,vulkan_enable_f16_on_nvidia,use_vulkan_memory_model: ${extra.length ? `+ ${extra.join(', ')}` : 'no extra features'}`,
      );
    }
    const cfgs = unsafe?.adapter?.subgroupMatrixConfigs;
    if (cfgs?.length)
      lines.push(
        `- subgroup-matrix configurations: ${cfgs.map((c) => `${c.componentType}->${c.resultComponentType} ${c.M}x${c.N}x${c.K}`).join(', ')}`,
      );
    const l = info.adapter.limits ?? {};
    lines.push(
      `- limits: maxBufferSize ${l.maxBufferSize}, maxStorageBufferBindingSize ${l.maxStorageBufferBindingSize}, maxComputeWorkgroupStorageSize ${l.maxComputeWorkgroupStorageSize}`,
    );
    lines.push('');
  }
});
const tuned = read('autotune.log');
section('autotune', () => {
  if (tuned) {
    const best = tuned.match(/best matmul tile .*/);
    if (best) lines.push(`Autotune: ${best[0]}`, '');
  }
});

// ---- scoring -----------------------------------------------------------------------------------
const scoreFiles = [
  ['score-all.csv', 'score-all'],
  ['score-stacked.csv', 'score-stacked'],
  ['score-group1.csv', 'score-1'],
  ['score-procs.csv', 'score-procs'],
].filter(([f]) => read(f));
const byFile = {};
/**
 * A score file's rows under the current WRCor names (WRCor definition 3: wrcor 2^module, wrcor_stage
 * 2^stage), as correlate reads them (src/cli/score-files.ts wrcorRenames). A file of definition 2
 * (a wrcor_module column) holds wrcor 2^stage and wrcor_module 2^module; one of definition 1
 * (neither column) wrcor 2^stage only: its wrcor is wrcor_stage. In both, wrcor_act and wrcor_grad
 * weigh 2^stage: wrcor_stage_act and wrcor_stage_grad.
 */
function currentNames(rows) {
  const cols = rows.length ? Object.keys(rows[0]) : [];
  if (!cols.includes('wrcor') || cols.includes('wrcor_stage')) return rows;
  const v2 = cols.includes('wrcor_module');
  const renamed = (from, to) => (cols.includes(from) ? { [to]: from } : {});
  const moves = {
    wrcor_stage: 'wrcor',
    ...renamed('wrcor_act', 'wrcor_stage_act'),
    ...renamed('wrcor_grad', 'wrcor_stage_grad'),
    ...(v2 ? { wrcor: 'wrcor_module' } : {}),
  };
  const gone = new Set(['wrcor', 'wrcor_act', 'wrcor_grad', 'wrcor_module']);
  return rows.map((row) => {
    const r = Object.fromEntries(Object.entries(row).filter(([k]) => !gone.has(k)));
    for (const [to, from] of Object.entries(moves)) r[to] = row[from];
    return r;
  });
}
section('scoring', () => {
  if (scoreFiles.length) {
    lines.push(
      '| scoring (WRCor, full NB201 network) | cells | sum of per-cell time s | step wall s | cells/s (wall) | Kendall tau vs CIFAR-10 val acc | wrcor_stage tau |',
      '|---|---:|---:|---:|---:|---:|---:|',
    );
    for (const [f, stepName] of scoreFiles) {
      const text = read(f).trim();
      const rows = currentNames(text.includes('\n') ? csv(text) : []);
      byFile[f] = rows;
      const t = rows.reduce((s, r) => s + Number(r.time_ms), 0) / 1e3;
      const wall = stepSeconds(stepName);
      // Kendall tau of a score column against the accuracy (NaN under 3 cells with both).
      const tauOf = (col) => {
        const withAcc = rows.filter((r) => Number.isFinite(num(r.val_acc)) && !Number.isNaN(num(r[col])));
        return withAcc.length > 2
          ? kendall(
              withAcc.map((r) => num(r[col])),
              withAcc.map((r) => num(r.val_acc)),
            )
          : NaN;
      };
      // A column a file does not have (wrcor in one of WRCor definition 1) leaves its cell empty.
      const has = (col) => rows.length && col in rows[0];
      const tau = rows.length && !has('wrcor') ? '' : fmt(tauOf('wrcor'), 3);
      const stageTau = has('wrcor_stage') ? fmt(tauOf('wrcor_stage'), 3) : '';
      // --all scores the cells in the space's index order: a run cut by its limit holds a prefix.
      const allCells = /cells=\[[^\]]*--all\b/.test(log) && stepName !== 'score-procs';
      const cut =
        stepRc(stepName) !== 124
          ? ''
          : allCells
            ? ` (cut by the time limit: the first ${rows.length} cells in index order, not a random sample)`
            : ' (cut by the time limit)';
      const what =
        stepName === 'score-all'
          ? `all cells, --group ${(log.match(/ group=(\S+)/) ?? [])[1] ?? '?'}${cut}`
          : stepName === 'score-procs'
            ? `--procs ${(log.match(/ procs=(\S+)/) ?? [])[1] ?? '?'}, ${procsCells(log)}${cut}`
            : stepName === 'score-stacked'
              ? `--group ${(log.match(/ stacked-group=(\S+)/) ?? [])[1] ?? '?'} --group-mode stacked, the same cells${cut}`
              : '--group 1 (parity)';
      lines.push(
        `| ${what} | ${rows.length} | ${fmt(t, 1)} | ${fmt(wall, 0)} | ${fmt(rows.length / wall)} | ${tau} | ${stageTau} |`,
      );
    }
    const a = byFile['score-group1.csv'];
    const b = byFile['score-all.csv'];
    /**
     * The largest relative difference of `rows`' WRCor and wrcor_stage (those both files have;
     * WRCor where neither has a row) from b's on the cells both scored (a cell empty on either side
     * is left out and counted as missing), how many, and the verdict.
     */
    const wrcorDiff = (rows) => {
      const both = (c) => rows.length && b.length && c in rows[0] && c in b[0];
      const cols = ['wrcor', 'wrcor_stage'].filter(both);
      if (!cols.length) cols.push('wrcor');
      const m = new Map(b.map((r) => [r.arch, r]));
      let worst = 0,
        n = 0,
        missing = 0;
      for (const r of rows)
        if (m.has(r.arch)) {
          const ds = cols.map((c) => relDiff(num(r[c]), num(m.get(r.arch)[c])));
          if (ds.some(Number.isNaN)) missing++;
          else {
            n++;
            worst = Math.max(worst, ...ds);
          }
        }
      const gone = missing ? ` (${missing} without a score on one side, left out)` : '';
      const verdict = !n
        ? 'FAIL: nothing to compare'
        : worst <= PARITY_RTOL
          ? `ok (threshold ${PARITY_RTOL} relative)`
          : `FAIL (threshold ${PARITY_RTOL} relative)`;
      const what = cols.map((c) => (c === 'wrcor' ? 'WRCor' : c)).join(' and ');
      return `${what} on the ${n} common cells${gone}: largest relative difference ${worst.toExponential(2)}: ${verdict}.`;
    };
    if (a && b) lines.push('', `Grouped vs ungrouped ${wrcorDiff(a)}`);
    const st = byFile['score-stacked.csv'];
    if (st && b) lines.push('', `Stacked vs separate groups' ${wrcorDiff(st)}`);
    lines.push('');
  }
});

// ---- where a grouped WRCor cell's time goes (score --kernel-profile) -----------------------------
const kp = json('kernel-profile.json');
section('kernel profile', () => {
  if (kp?.profile) {
    const p = kp.profile;
    const a = kp.perArch;
    const busy = p.wallMs > 0 ? (100 * p.deviceMs) / p.wallMs : NaN;
    lines.push(
      `## Where a WRCor cell's time goes (${kp.archs} cell${kp.archs === 1 ? '' : 's'} after ${kp.settings?.warmupArchs ?? 0} warm-up, group ${kp.settings?.group}, batch ${kp.settings?.batch}; ${p.clock})`,
      '',
      `Per cell: wall ${fmt(a.wallMs)} ms, GPU busy ${fmt(a.deviceMs)} ms (${fmt(busy, 0)}% of wall), host recording ${fmt(a.hostMs)} ms, ${fmt(a.ops, 1)} dispatches (${fmt((1000 * a.wallMs) / a.ops, 1)} us of wall each); ${p.submits} submits, ${p.hostWaits} host waits in all. Each dispatch ran in its own timestamped pass, so the wall time is somewhat above an unprofiled run's.`,
      '',
      '| kernel | dispatches per cell | GPU ms per cell | share of GPU time | GPU us per dispatch | host us per dispatch |',
      '|---|---:|---:|---:|---:|---:|',
    );
    for (const k of p.kernels.slice(0, 15)) {
      const n = Math.max(1, kp.archs);
      lines.push(
        `| ${k.kernel} | ${fmt(k.count / n, 1)} | ${fmt(k.deviceMs / n, 3)} | ${fmt((100 * k.deviceMs) / Math.max(1e-9, p.deviceMs), 1)}% | ${fmt((1000 * k.deviceMs) / k.count, 1)} | ${fmt((1000 * (k.hostMs ?? NaN)) / k.count, 1)} |`,
      );
    }
    lines.push('');
  }
});

// ---- kernels -----------------------------------------------------------------------------------
const bench = json('bench.json');
const gf = (r) => r?.ours?.gflops ?? NaN;
section('bench', () => {
  if (bench) {
    const peak = bench.peak?.gflops;
    const big = bench.results.filter(
      (r) =>
        r.kernel === 'matmul' && r.shape.batch === 1 && r.shape.M >= 4096 && r.shape.M === r.shape.N && r.shape.N === r.shape.K,
    );
    if (big.length && peak) {
      lines.push(`f32 matmul against the adapter's f32 peak (${fmt(peak / 1e3, 1)} TFLOP/s, ${bench.peak.source}):`, '');
      for (const r of big)
        lines.push(
          `- ${r.label}: ${fmt(gf(r) / 1e3, 2)} TFLOP/s = ${fmt((100 * gf(r)) / peak, 1)} % of peak${r.config?.tile ? ` (tile ${r.config.tile})` : ''}`,
        );
      lines.push('');
    }
  }
});
const f16 = json('bench-f16.json');
section('bench-f16', () => {
  if (f16) {
    const f32 = new Map(f16.results.filter((r) => r.kernel === 'matmul').map((r) => [r.label, r]));
    const rows = f16.results.filter((r) => r.kernel !== 'matmul');
    if (rows.length) {
      lines.push(
        '| f16 operands, f32 accumulation (sgmat: tensor cores) | shape | TFLOP/s | vs our f32 matmul | vs tfjs-webgpu (f32) |',
        '|---|---|---:|---:|---:|',
      );
      for (const r of rows) {
        const base = r.kernel.startsWith('matmul') ? f32.get(r.label) : null;
        const tf = r.baselines?.['tfjs-webgpu']?.speedup;
        lines.push(
          `| ${r.kernel} | ${r.label} | ${r.error ? `error: ${r.error}` : fmt(gf(r) / 1e3, 3)} | ${base ? `${fmt(gf(r) / gf(base))}x` : ''} | ${Number.isFinite(tf) ? `${fmt(tf)}x` : ''} |`,
        );
      }
      lines.push('');
    }
  }
});
// The convolution cores A/B (WGNAS_CONV_CORE=program / legacy), shape by shape.
const convAb = { program: json('bench-conv-program.json'), legacy: json('bench-conv-legacy.json') };
section('conv A/B', () => {
  if (convAb.program || convAb.legacy) {
    const key = (r) => `${r.kernel} ${r.label}`;
    const legacy = new Map((convAb.legacy?.results ?? []).map((r) => [key(r), r]));
    const cell = (r) => (!r ? 'n/a' : r.error ? `error: ${r.error}` : fmt(gf(r) / 1e3, 3));
    lines.push('| conv core A/B | shape | program TFLOP/s | legacy TFLOP/s | program / legacy |', '|---|---|---:|---:|---:|');
    const rows = convAb.program?.results ?? convAb.legacy.results;
    for (const r of rows) {
      const p = convAb.program ? r : null;
      const l = legacy.get(key(r));
      lines.push(
        `| ${r.kernel} | ${r.label} | ${cell(p)} | ${cell(l)} | ${p && l && !p.error && !l.error ? `${fmt(gf(p) / gf(l))}x` : ''} |`,
      );
    }
    lines.push('');
  }
});
// Batch norm's A/B (bench-bn-*): the statistics width (WGNAS_BN_WG=64: the plan before GPUs got
// 256; what software adapters keep) and, at 256, the dispatch plan (WGNAS_BN_PLAN: auto, the default;
// single: one kernel per channel up to 16384 elements, the 256 plan before; split: always two kernels).
const BN_RUNS = [
  ['64', 'bench-bn-64.json'],
  ['256 auto', 'bench-bn-256.json'],
  ['256 single', 'bench-bn-256-single.json'],
  ['256 split', 'bench-bn-256-split.json'],
];
const bnAb = BN_RUNS.map(([name, file]) => [name, json(file)]);
section('bn A/B', () => {
  const ran = bnAb.filter(([, j]) => j);
  if (ran.length) {
    const key = (r) => `${r.kernel} ${r.label}`;
    const byRun = new Map(bnAb.map(([name, j]) => [name, new Map((j?.results ?? []).map((r) => [key(r), r]))]));
    const ok = (r) => r && !r.error && r.ours;
    const us = (r) => (!r ? 'n/a' : r.error ? `error: ${r.error}` : r.ours ? fmt(r.ours.medianMs * 1e3, 1) : 'n/a');
    const ratio = (a, b) => (ok(a) && ok(b) ? `${fmt(a.ours.medianMs / b.ours.medianMs)}x` : '');
    // Chunks per channel x kernels per pass (1x1: one kernel per channel).
    const plan = (r) => (r?.config ? `${r.config.chunks ?? '?'}x${r.config.kernels ?? '?'}` : '?');
    const best = (rs) => {
      const done = rs.filter(([, r]) => ok(r));
      if (!done.length) return '';
      const [name, r] = done.reduce((a, b) => (b[1].ours.medianMs < a[1].ours.medianMs ? b : a));
      return `${fmt(r.ours.gbps, 1)} (${name})`;
    };
    lines.push(
      `| batch norm A/B (WGNAS_BN_WG, WGNAS_BN_PLAN) | shape | ${BN_RUNS.map(([n]) => `${n}: us`).join(' | ')} | fastest GB/s | auto vs 64 | auto vs single | chunks x kernels: ${BN_RUNS.map(([n]) => n).join(' / ')} |`,
      `|---|---|${BN_RUNS.map(() => '---:|').join('')}---:|---:|---:|---:|`,
    );
    for (const r0 of ran[0][1].results ?? []) {
      const rs = BN_RUNS.map(([name]) => [name, byRun.get(name).get(key(r0))]);
      const at = (name) => rs.find(([n]) => n === name)[1];
      lines.push(
        `| ${r0.kernel} | ${r0.label} | ${rs.map(([, r]) => us(r)).join(' | ')} | ${best(rs)} | ${ratio(at('64'), at('256 auto'))} | ${ratio(at('256 single'), at('256 auto'))} | ${rs.map(([, r]) => plan(r)).join(' / ')} |`,
      );
    }
    lines.push(
      '',
      "auto vs 64: the 64-wide run's median time over the 256-wide auto one's (>1: auto faster); auto vs single likewise (>1: auto's split pays for its dispatch).",
      '',
    );
  }
});
const benchMd = read('bench.md');
if (benchMd) lines.push('## Kernels', '', benchMd.trim(), '');

// ---- training steps ----------------------------------------------------------------------------
const steps = read('proxyless-step.txt');
section('training steps', () => {
  if (steps) {
    const ms = (name) => Number((steps.match(new RegExp(`${name}\\s+median ([\\d.]+) ms`)) ?? [])[1] ?? NaN);
    const ours = ms('wgnas weight step \\(fixed path\\)');
    const tf = ms('tfjs-webgpu weight step \\(same path\\)');
    lines.push('## Training steps', '', '| step | ours ms | tfjs-webgpu ms | ours vs tfjs |', '|---|---:|---:|---:|');
    lines.push(`| ProxylessNAS supernet weight step (one fixed path) | ${fmt(ours, 1)} | ${fmt(tf, 1)} | ${fmt(tf / ours)}x |`);
    lines.push(`| ProxylessNAS weight step (sampled path) | ${fmt(ms('wgnas weight step \\(1 path\\)'), 1)} | | |`);
    lines.push(
      `| ProxylessNAS architecture step (2 paths + gates) | ${fmt(ms('wgnas arch step \\(2 paths \\+ gates\\)'), 1)} | | |`,
    );
    const hist = json('autospace-history.json');
    const ev = hist?.history?.[0];
    if (ev) lines.push(`| AutoSpace step (weight + fitness, mean) | ${fmt(ev.msPerStep, 1)} | | |`);
    lines.push('', (steps.match(/^adapter: .*$/m) ?? [''])[0], '');
  }
});
// ---- ImageNet layout at 224 (bench/imagenet-folder.ts) ------------------------------------------
const img = json('imagenet-folder.json');
section('imagenet', () => {
  if (img?.rows?.length) {
    const mib = (b) => fmt(b / 2 ** 20, 0);
    const cut = stepRc('imagenet') === 124 ? '; cut by its time limit: the configurations it finished' : '';
    lines.push(`## ImageNet layout at ${img.size} (${img.folder}${cut})`, '');
    lines.push('| method | batch | s/step | images/s | peak tensors MiB | peak RSS MiB |', '|---|---:|---:|---:|---:|---:|');
    for (const r of img.rows)
      if (r.error) lines.push(`| ${r.method} | ${r.batch} | failed (${r.error}; imagenet-folder.log) | | | |`);
      else
        lines.push(
          `| ${r.method} | ${r.batch} | ${fmt(r.secondsPerStep, 3)} | ${fmt(r.imagesPerSecond, 1)} | ${mib(r.peakTensorBytes)} | ${mib(r.peakRssBytes)} |`,
        );
    lines.push('');
  }
});
// ---- wgnas train (an NB201 cell; the suite's last step, the one skipped when the budget is spent) ----
const trained = json('train-report.json');
section('train', () => {
  const skipped = log.match(/skip train: (.*)/);
  if (trained?.history?.length) {
    const last = trained.history.at(-1);
    const batch = trained.settings.batch;
    const steps = trained.schedule.stepsPerEpoch;
    lines.push(`## wgnas train: ${trained.network}, ${trained.dataset}`, '');
    lines.push(
      '| batch | steps per epoch | epoch | epoch s | images/s | test images evaluated in the epoch |',
      '|---:|---:|---:|---:|---:|---:|',
      `| ${batch} | ${steps} | ${last.epoch} of ${trained.history.length} | ${fmt(last.seconds)} | ${fmt((steps * batch) / last.seconds, 1)} | ${trained.settings['test-images']} |`,
      '',
      "images/s: the epoch's training images over its wall time, which includes its evaluation on the test images (the first epoch also compiles the pipelines). Peak memory: wgnas train does not report it.",
      '',
    );
  } else if (skipped) lines.push(`wgnas train: skipped (${skipped[1]}).`, '');
});
// ---- steps cut before their result file: what their progress logs kept ------------------------------
const cutSteps = [
  ['bench', 'bench.json', 'bench.log'],
  ['conv-program', 'bench-conv-program.json', 'bench-conv-program.log'],
  ['conv-legacy', 'bench-conv-legacy.json', 'bench-conv-legacy.log'],
  ['bench-bn-64', 'bench-bn-64.json', 'bench-bn-64.log'],
  ['bench-bn-256', 'bench-bn-256.json', 'bench-bn-256.log'],
  ['bench-bn-256-single', 'bench-bn-256-single.json', 'bench-bn-256-single.log'],
  ['bench-bn-256-split', 'bench-bn-256-split.json', 'bench-bn-256-split.log'],
  ['bench-f16', 'bench-f16.json', 'bench-f16.log'],
  ['imagenet', 'imagenet-folder.json', 'imagenet-folder.log'],
  ['train', 'train-report.json', 'train.log'],
];
section('cut steps', () => {
  for (const [name, result, progress] of cutSteps) {
    const kept = read(progress)?.trim();
    if (json(result) || !kept) continue;
    const rc = stepRc(name);
    const why = rc === 124 ? 'cut by its time limit' : Number.isFinite(rc) ? `ended with rc ${rc}` : 'did not finish';
    const tail = kept.split('\n').slice(-60);
    lines.push(`## ${name}: ${why}, no ${result}; the end of ${progress}`, '', '```', ...tail, '```', '');
  }
});
for (const r of ['32', '224']) {
  const t = read(`gpu-${r}.md`)?.trim();
  const kept = read(`gpu-${r}.log`)?.trim();
  if (t) lines.push(`## GPU latency table at ${r}x${r} (gpu-${r}.md)`, '', t, '');
  // Cut (LPT_TIMEOUT_S) before its table: the networks it measured, from its log.
  else if (kept)
    lines.push(
      `## GPU latency at ${r}x${r}: no table (cut?); the end of gpu-${r}.log`,
      '',
      '```',
      ...kept.split('\n').slice(-25),
      '```',
      '',
    );
}
lines.push('## Steps', '', '```', log.trim(), '```', '');
writeFileSync(join(dir, 'summary.md'), lines.join('\n'));
process.stdout.write(`wrote ${join(dir, 'summary.md')}\n`);
