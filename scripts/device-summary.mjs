#!/usr/bin/env node
// Summarises a device-suite output folder into summary.md (plain Node, no dependencies, so it runs on
// the bare GPU machine too):  node scripts/device-summary.mjs DIR
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir || !existsSync(dir)) {
  process.stderr.write(`usage: device-summary.mjs DIR (the suite's output folder)${dir ? `; not found: ${dir}` : ''}\n`);
  process.exit(2);
}
const read = (f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : null);
const json = (f) => {
  const t = read(f);
  try { return t ? JSON.parse(t) : null; } catch { return null; }
};
/** Minimal CSV reader for the score files (quoted fields, no embedded newlines). */
function csv(text) {
  const rows = text.trim().split('\n').map((line) => {
    const out = []; let cur = ''; let q = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (q) { if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') q = false; else cur += c; }
      else if (c === '"') q = true; else if (c === ',') { out.push(cur); cur = ''; } else cur += c;
    }
    out.push(cur);
    return out;
  });
  const [h, ...body] = rows;
  return body.map((r) => Object.fromEntries(h.map((k, i) => [k, r[i]])));
}
function kendall(a, b) {
  let c = 0, d = 0, ta = 0, tb = 0;
  for (let i = 0; i < a.length; i++) for (let j = i + 1; j < a.length; j++) {
    const x = Math.sign(a[i] - a[j]), y = Math.sign(b[i] - b[j]);
    if (x === 0 && y === 0) continue;
    if (x === 0) ta++; else if (y === 0) tb++; else if (x === y) c++; else d++;
  }
  return (c - d) / Math.sqrt((c + d + ta) * (c + d + tb));
}
const log = read('suite.log') ?? '';
const stepSeconds = (name) => Number((log.match(new RegExp(`end ${name} rc=0 in (\\d+)s`)) ?? [])[1] ?? NaN);
const lines = [];
const info = json('info.json');
const unsafe = json('info-unsafe.json');
const smi = read('nvidia-smi.csv');
lines.push(`# Device suite — ${info?.adapter?.description ?? 'unknown adapter'} — ${new Date().toISOString().slice(0, 10)}`, '');
if (smi) lines.push('```', smi.trim(), '```', '');
if (info) {
  lines.push(`- adapter: ${info.adapter.vendor} / ${info.adapter.architecture} / ${info.adapter.description}${info.adapter.isSoftware ? ' (software)' : ''}`);
  lines.push(`- features requested: ${info.adapter.features.join(', ')}`);
  if (info.adapter.adapterFeatures) lines.push(`- adapter features: ${info.adapter.adapterFeatures.join(', ')}`);
  if (unsafe?.adapter?.adapterFeatures) {
    const extra = unsafe.adapter.adapterFeatures.filter((f) => !(info.adapter.adapterFeatures ?? []).includes(f));
    lines.push(`- with allow_unsafe_apis,vulkan_enable_f16_on_nvidia: ${extra.length ? `+ ${extra.join(', ')}` : 'no extra features'}`);
  }
  lines.push('');
}
const scoreFiles = readdirSync(dir).filter((f) => /^score-group\d+\.csv$/.test(f)).sort((a, b) => parseInt(a.slice(11)) - parseInt(b.slice(11)));
if (scoreFiles.length) {
  lines.push('| scoring (WRCor, full NB201 network) | cells | sum of per-cell time s | cells/s | step wall s | Kendall tau vs CIFAR-10 acc |', '|---|---:|---:|---:|---:|---:|');
  const byFile = {};
  for (const f of scoreFiles) {
    const rows = csv(read(f));
    byFile[f] = rows;
    const t = rows.reduce((s, r) => s + Number(r.time_ms), 0) / 1e3;
    const withAcc = rows.filter((r) => r.val_acc !== '' && r.val_acc !== undefined);
    const tau = withAcc.length > 2 ? kendall(withAcc.map((r) => Number(r.wrcor)), withAcc.map((r) => Number(r.val_acc))) : NaN;
    const g = f.match(/group(\d+)/)[1];
    lines.push(`| --group ${g} | ${rows.length} | ${t.toFixed(1)} | ${(rows.length / t).toFixed(2)} | ${stepSeconds(g === '1' ? 'score-1' : 'score-g')} | ${tau.toFixed(3)} |`);
  }
  // Same seed, same sampler: the ungrouped run's cells are the first ones of the grouped run.
  if (scoreFiles.length > 1) {
    const a = byFile[scoreFiles[0]], b = new Map(byFile[scoreFiles[scoreFiles.length - 1]].map((r) => [r.arch, Number(r.wrcor)]));
    let worst = 0, n = 0;
    for (const r of a) if (b.has(r.arch)) { n++; worst = Math.max(worst, Math.abs(Number(r.wrcor) - b.get(r.arch)) / Math.max(1e-12, Math.abs(Number(r.wrcor)))); }
    lines.push('', `Grouped vs ungrouped WRCor on the ${n} common cells: largest relative difference ${worst.toExponential(2)}.`);
  }
  lines.push('');
}
const bench = read('bench.md');
if (bench) lines.push('## Kernels', '', bench.trim(), '');
lines.push('## Steps', '', '```', log.trim(), '```', '');
writeFileSync(join(dir, 'summary.md'), lines.join('\n'));
process.stdout.write(`wrote ${join(dir, 'summary.md')}\n`);
