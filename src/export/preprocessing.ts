/**
 * What a trained network expects of its input and what its outputs mean, recorded where the
 * network goes (`wgnas train`'s weights.json and report.json, the ONNX model's metadata): the
 * tensor's layout and size, the per-channel normalisation of the training data, how an image was
 * brought to that size, and the class of each logit. Without it a deployed model is fed images
 * normalised some other way and its outputs are indices with no names.
 */
import { UserFacingError } from '../util/errors.js';

export class InputSpecError extends UserFacingError {
  override readonly name = 'InputSpecError';
}

export interface InputSpec {
  /** float32 [N, 3, size, size], channels R, G, B. */
  layout: 'NCHW';
  channels: 'RGB';
  size: number;
  /** How an image is brought to size x size (as training decoded it). */
  resize: string;
  /** Per channel (R, G, B): x = (pixel / 255 - mean[c]) / std[c]. */
  mean: number[];
  std: number[];
  /** The class of each logit, in order. */
  classNames: string[];
  /** The dataset trained on, as --dataset named it (e.g. 'cifar10', 'folder:/data/pets'; the bundled subset as 'cifar10 (bundled subset: 5000 train / 2000 test images)'). */
  dataset: string;
}

const threeNumbers = (v: unknown): v is number[] =>
  Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** An InputSpec read from a file, checked; InputSpecError naming `where` and the field. */
export function checkInputSpec(v: unknown, where: string): InputSpec {
  const o = v as Partial<InputSpec> | null;
  const bad = (what: string) => new InputSpecError(`${where}: 'input' ${what}`);
  if (!o || typeof o !== 'object') throw bad('must be an object');
  if (o.layout !== 'NCHW' || o.channels !== 'RGB') throw bad("must have layout 'NCHW' and channels 'RGB'");
  if (!Number.isInteger(o.size) || o.size! < 1) throw bad('size must be a positive integer');
  if (!threeNumbers(o.mean) || !threeNumbers(o.std) || o.std.some((s) => s <= 0))
    throw bad('mean and std must be 3 numbers each (R, G, B), std > 0');
  if (!Array.isArray(o.classNames) || !o.classNames.every((c) => typeof c === 'string'))
    throw bad('classNames must be a list of strings');
  if (typeof o.resize !== 'string' || typeof o.dataset !== 'string') throw bad('resize and dataset must be strings');
  return o as InputSpec;
}

/**
 * The spec as ONNX metadata (wgnas.* keys): numbers and names as JSON arrays, the rest in words.
 * The dataset is named without a local path (a folder by its last component).
 */
export function inputSpecMeta(s: InputSpec): Record<string, string> {
  const dataset = s.dataset.startsWith('folder:')
    ? `folder:${s.dataset
        .replace(/[\\/]+$/, '')
        .split(/[\\/]/)
        .pop()}`
    : s.dataset;
  return {
    'input-size': String(s.size),
    'input-mean': JSON.stringify(s.mean),
    'input-std': JSON.stringify(s.std),
    preprocessing: `${s.channels} image, ${s.resize}, x = (pixel / 255 - input-mean) / input-std per channel, ${s.layout} float32 [N, 3, ${s.size}, ${s.size}]`,
    'class-names': JSON.stringify(s.classNames),
    dataset,
  };
}
