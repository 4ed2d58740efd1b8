/**
 * Search checkpoints: DIR/state.json (counters, α, Adam state, config, tensor index) plus
 * DIR/weights.bin and DIR/momentum.bin (little-endian f32, tensors back to back in index order).
 * Files are written to temporaries and renamed, so a killed run leaves the previous checkpoint.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpu } from '../gpu/gpu.js';
import type { GpuTensor } from '../gpu/tensor.js';
import type { Param } from '../nn/tape.js';

export const CHECKPOINT_VERSION = 1;

export interface TensorIndexEntry {
  name: string;
  shape: number[];
  offset: number;
}

export interface CheckpointMeta {
  version: number;
  savedAt: string;
  weights: TensorIndexEntry[];
  momentum: TensorIndexEntry[];
  [key: string]: unknown;
}

function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

async function pack(tensors: Array<{ name: string; t: GpuTensor }>): Promise<{ index: TensorIndexEntry[]; bytes: Uint8Array }> {
  const total = tensors.reduce((s, x) => s + x.t.size, 0);
  const all = new Float32Array(total);
  const index: TensorIndexEntry[] = [];
  let off = 0;
  for (const { name, t } of tensors) {
    all.set(await t.read(), off);
    index.push({ name, shape: [...t.shape], offset: off });
    off += t.size;
  }
  return { index, bytes: new Uint8Array(all.buffer) };
}

export async function saveCheckpoint(
  dir: string,
  params: readonly Param[],
  momentum: Map<Param, GpuTensor>,
  state: Record<string, unknown>,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const w = await pack(params.map((p) => ({ name: p.name, t: p.value })));
  const m = await pack(params.filter((p) => momentum.has(p)).map((p) => ({ name: p.name, t: momentum.get(p)! })));
  writeAtomic(join(dir, 'weights.bin'), w.bytes);
  writeAtomic(join(dir, 'momentum.bin'), m.bytes);
  const meta: CheckpointMeta = { ...state, version: CHECKPOINT_VERSION, savedAt: new Date().toISOString(), weights: w.index, momentum: m.index };
  // state.json last: its presence means the binaries beside it are complete.
  writeAtomic(join(dir, 'state.json'), JSON.stringify(meta, null, 1) + '\n');
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'state.json'));
}

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  if (b.byteLength % 4 !== 0) throw new Error(`${path}: ${b.byteLength} bytes is not a whole number of f32 values`);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/**
 * Loads weights (and momentum buffers, created as needed) into `params`; returns the meta. Throws
 * when the checkpoint's tensors do not match the network (different layout or version).
 */
export function loadCheckpoint(gpu: Gpu, dir: string, params: readonly Param[], momentum: Map<Param, GpuTensor>): CheckpointMeta {
  const metaPath = join(dir, 'state.json');
  if (!existsSync(metaPath)) throw new Error(`no checkpoint in ${dir} (state.json missing)`);
  const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as CheckpointMeta;
  if (meta.version !== CHECKPOINT_VERSION) throw new Error(`${metaPath}: checkpoint version ${meta.version}, this build reads ${CHECKPOINT_VERSION}`);
  const byName = new Map(params.map((p) => [p.name, p]));
  if (meta.weights.length !== params.length) {
    throw new Error(`${metaPath}: checkpoint has ${meta.weights.length} weight tensors, the network ${params.length} (different layout?)`);
  }
  const weights = readF32(join(dir, 'weights.bin'));
  const mom = readF32(join(dir, 'momentum.bin'));
  const check = (e: TensorIndexEntry, what: string, data: Float32Array): { p: Param; v: Float32Array } => {
    const p = byName.get(e.name);
    if (!p) throw new Error(`${metaPath}: ${what} tensor '${e.name}' is not a parameter of this network`);
    if (p.value.shape.join('x') !== e.shape.join('x')) {
      throw new Error(`${metaPath}: '${e.name}' is [${e.shape}] in the checkpoint, [${p.value.shape}] in the network`);
    }
    if (e.offset + p.value.size > data.length) throw new Error(`${dir}: ${what} file is truncated at '${e.name}'`);
    return { p, v: data.subarray(e.offset, e.offset + p.value.size) };
  };
  for (const e of meta.weights) {
    const { p, v } = check(e, 'weight', weights);
    gpu.write(p.value, v);
  }
  for (const b of momentum.values()) b.dispose();
  momentum.clear();
  for (const e of meta.momentum) {
    const { p, v } = check(e, 'momentum', mom);
    momentum.set(p, gpu.upload(v, p.value.shape));
  }
  return meta;
}
