// Per-upload host cost on Dawn's null backend: its own mapped staging buffer (in an OOM scope, as
// pool.createBuffer does) vs a slot in a shared block written with one queue.writeBuffer. Interleaved.
const root = process.argv[2] ?? '/work/wt-stage';
const { acquireGpu } = await import(`${root}/src/gpu/index.js`);
const gpu = await acquireGpu();
const dev: GPUDevice = gpu.device;
const BLOCK = Number(process.argv[3] ?? 256 * 1024);
const dst = dev.createBuffer({ size: 1 << 20, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
function own(S: number, n: number, data: Uint8Array) {
  const enc = dev.createCommandEncoder();
  const st: GPUBuffer[] = [];
  for (let i = 0; i < n; i++) {
    const b = gpu.pool.createBuffer({ size: S, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
    new Uint8Array(b.getMappedRange()).set(data);
    b.unmap();
    enc.copyBufferToBuffer(b, 0, dst, 0, S);
    st.push(b);
  }
  dev.queue.submit([enc.finish()]);
  for (const b of st) b.destroy();
}
const blocks: GPUBuffer[] = [];
function block(S: number, n: number, data: Uint8Array) {
  const size = Math.max(BLOCK, S);
  const enc = dev.createCommandEncoder();
  const shadow = new Uint8Array(size);
  let used = 0, k = 0;
  let buf = blocks[k] && blocks[k].size >= size ? blocks[k] : (blocks[k] = gpu.pool.createBuffer({ size, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST }));
  for (let i = 0; i < n; i++) {
    if (used + S > size) {
      dev.queue.writeBuffer(buf, 0, shadow.buffer, 0, used);
      k++; used = 0;
      buf = blocks[k] && blocks[k].size >= size ? blocks[k] : (blocks[k] = gpu.pool.createBuffer({ size, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST }));
    }
    shadow.set(data, used);
    enc.copyBufferToBuffer(buf, used, dst, 0, S);
    used += S;
  }
  dev.queue.writeBuffer(buf, 0, shadow.buffer, 0, used);
  dev.queue.submit([enc.finish()]);
}
const sizes = [16, 256, 4096, 16384, 65536, 262144, 1048576];
const res: Record<string, { own: number[]; block: number[] }> = {};
for (let round = 0; round < 7; round++) {
  for (const S of sizes) {
    const n = Math.max(8, Math.min(400, (16 << 20) / S));
    const data = new Uint8Array(S).fill(round);
    const r = (res[S] ??= { own: [], block: [] });
    for (const [name, f] of (round % 2 ? [['block', block], ['own', own]] : [['own', own], ['block', block]]) as const) {
      const c0 = process.cpuUsage();
      f(S, n, data);
      await dev.queue.onSubmittedWorkDone();
      await gpu.pool.takeRefusal();
      const c = process.cpuUsage(c0);
      r[name].push((c.user + c.system) / n);
    }
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`load ${(await import('node:os')).loadavg()[0].toFixed(2)}, block ${BLOCK} B, cpu us per upload (median of 6 rounds after 1 warm-up):`);
for (const S of sizes) { const r = res[S]; r.own.shift(); r.block.shift(); console.log(`${String(S).padStart(8)} B: own staging ${med(r.own).toFixed(1)} us | block slot ${med(r.block).toFixed(1)} us | ratio ${(med(r.block) / med(r.own)).toFixed(3)}`); }
gpu.destroy();
process.exit(0);
