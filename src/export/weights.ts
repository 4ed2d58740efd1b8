/**
 * Weights files: a network's tensors by name, as a checkpoint stores them (src/nn/checkpoint.ts):
 *   NAME.json  {format: 'wgnas-weights', version: 1, data: 'NAME.bin', bytes, sha256, network?,
 *               input?, tensors: [{name, shape, offset}]}   (offset in f32 elements)
 *   NAME.bin   little-endian f32, the tensors back to back in index order
 * Names are the networks' parameter names ('stem.conv', 'b3.c2.n0.pw6', 'b3.c2.n0.pw6.bn.gamma',
 * ...); BN running statistics, when the file has them, are '<bn>.running_mean' / '<bn>.running_var'
 * (e.g. 'stem.conv.bn.running_mean'). `wgnas export --weights NAME.json` reads them; `wgnas train`
 * is to write them, with `input`: what the network expects of its input and the names of its classes
 * (preprocessing.ts). Both files are written atomically, the index last; the hash is checked on reading.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { removeDurable, sha256Hex, writeFileAtomic } from '../util/durable.js';
import type { Tensor } from './graph.js';
import { checkInputSpec, type InputSpec } from './preprocessing.js';
import { UserFacingError } from '../util/errors.js';

export const WEIGHTS_FORMAT = 'wgnas-weights';
export const WEIGHTS_VERSION = 1;

export class WeightsFileError extends UserFacingError {
  override readonly name = 'WeightsFileError';
}

interface IndexEntry {
  name: string;
  shape: number[];
  offset: number;
}

interface WeightsIndex {
  format: string;
  version: number;
  data: string;
  bytes: number;
  sha256: string;
  network?: string;
  input?: InputSpec;
  tensors: IndexEntry[];
}

/**
 * Writes `tensors` as `path` (the index, .json) and its .bin beside it. An earlier index is removed
 * first and the new one written last: a kill in between leaves no index (and a .bin nothing names),
 * never an index beside a .bin of another version.
 */
export function writeWeights(path: string, tensors: Map<string, Tensor>, network?: string, input?: InputSpec): void {
  if (!path.endsWith('.json')) throw new WeightsFileError(`weights index ${path} must end in .json`);
  const index: IndexEntry[] = [];
  let off = 0;
  for (const [name, t] of tensors) {
    index.push({ name, shape: [...t.shape], offset: off });
    off += t.data.length;
  }
  const bin = new Uint8Array(off * 4);
  const view = new DataView(bin.buffer);
  let i = 0;
  for (const t of tensors.values()) for (const v of t.data) view.setFloat32(4 * i++, v, true);
  const data = basename(path).replace(/\.json$/, '.bin');
  removeDurable(path);
  writeFileAtomic(join(dirname(path), data), bin, { killTag: 'weights.data' });
  const meta: WeightsIndex = {
    format: WEIGHTS_FORMAT,
    version: WEIGHTS_VERSION,
    data,
    bytes: bin.length,
    sha256: sha256Hex(bin),
    ...(network ? { network } : {}),
    ...(input ? { input } : {}),
    tensors: index,
  };
  writeFileAtomic(path, JSON.stringify(meta, null, 1) + '\n', { killTag: 'weights.index' });
}

/** Reads a weights file; WeightsFileError naming the file and what is wrong. */
export function readWeights(path: string): {
  tensors: Map<string, Tensor>;
  network?: string;
  input?: InputSpec;
  sha256: string;
} {
  let idx: WeightsIndex;
  try {
    idx = JSON.parse(readFileSync(path, 'utf8')) as WeightsIndex;
  } catch (e) {
    throw new WeightsFileError(`cannot read weights index ${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!idx || idx.format !== WEIGHTS_FORMAT)
    throw new WeightsFileError(`${path} is not a ${WEIGHTS_FORMAT} index (format is ${JSON.stringify(idx?.format)})`);
  if (idx.version !== WEIGHTS_VERSION)
    throw new WeightsFileError(`${path}: version ${JSON.stringify(idx.version)} is not supported (expected ${WEIGHTS_VERSION})`);
  if (typeof idx.data !== 'string' || basename(idx.data) !== idx.data || !Array.isArray(idx.tensors))
    throw new WeightsFileError(`${path}: needs a 'data' file name beside it and a 'tensors' list`);
  const binPath = join(dirname(path), idx.data);
  let bin: Buffer;
  try {
    bin = readFileSync(binPath);
  } catch (e) {
    throw new WeightsFileError(
      `cannot read ${binPath} (the data of ${path}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  if (bin.length !== idx.bytes || sha256Hex(bin) !== idx.sha256) {
    throw new WeightsFileError(
      `${binPath} does not match ${path} (${bin.length} bytes, index says ${idx.bytes}; or its SHA-256 differs): a torn or mixed-up copy`,
    );
  }
  const floats = new Float32Array(bin.length / 4);
  const view = new DataView(bin.buffer, bin.byteOffset, bin.length);
  for (let i = 0; i < floats.length; i++) floats[i] = view.getFloat32(4 * i, true);
  const tensors = new Map<string, Tensor>();
  for (const [i, e] of idx.tensors.entries()) {
    const ok =
      e &&
      typeof e.name === 'string' &&
      Array.isArray(e.shape) &&
      e.shape.every((d) => Number.isInteger(d) && d >= 0) &&
      Number.isInteger(e.offset) &&
      e.offset >= 0;
    if (!ok) throw new WeightsFileError(`${path}: tensors[${i}] must be {name, shape, offset}`);
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.offset + n > floats.length) throw new WeightsFileError(`${path}: tensor '${e.name}' runs past the end of ${idx.data}`);
    if (tensors.has(e.name)) throw new WeightsFileError(`${path}: tensor '${e.name}' is listed twice`);
    tensors.set(e.name, { shape: e.shape, data: floats.slice(e.offset, e.offset + n) });
  }
  const input = idx.input === undefined ? undefined : checkInputSpec(idx.input, path);
  return { tensors, network: idx.network, ...(input ? { input } : {}), sha256: idx.sha256 };
}
