import fs from 'node:fs';
const med = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
for (const kind of ['null', 'lavapipe']) for (const v of ['before', 'after']) {
  const f = `./${kind}-${v}.txt`; if (!fs.existsSync(f)) continue;
  const L = fs.readFileSync(f, 'utf8').split('\n');
  const rec = [], cpu = [], us = [], tot = []; let disp = null; const micro = {};
  for (const l of L) {
    const m = l.match(/^group \d+: record ([\d.]+) ms\/cell \(cpu ([\d.]+)\)\s+([\d.]+) us\/dispatch\s+([\d.]+) dispatches\/cell\s+total ([\d.]+) ms/);
    if (m) { rec.push(+m[1]); cpu.push(+m[2]); us.push(+m[3]); disp = +m[4]; tot.push(+m[5]); }
    const mm = l.match(/^micro (\w+)\s+([\d.]+) us/); if (mm) (micro[mm[1]] ??= []).push(+mm[2]);
  }
  const wr = L.filter((l) => l.startsWith('wrcor:'))[0];
  console.log(`${kind} ${v}: n=${rec.length} groups, dispatches/cell ${disp}, record median ${med(rec).toFixed(1)} ms/cell (min ${Math.min(...rec).toFixed(1)}), cpu median ${med(cpu).toFixed(1)}, us/dispatch median ${med(us).toFixed(1)}, total median ${med(tot).toFixed(0)} ms/cell; micro gpuDispatch ${med(micro.gpuDispatchUs ?? [0]).toFixed(2)} us, createBindGroup ${med(micro.createBindGroupUs ?? [0]).toFixed(2)} us; ${wr}`);
}
