/**
 * Writes the inputs of the `wgnas train` parity fixture (test/helpers/train-parity.ts): the case's
 * network initialised as `wgnas train` does (seed 0), seeded images, and the training batches in
 * the Trainer's order. scripts/train-reference.py trains the same network on them in PyTorch and
 * writes the fixture. The whole regeneration:
 *
 *   for c in nb201 nb201-none-fed nb201-recipe mbconv mbconv-eps; do
 *     npx tsx scripts/train-parity-inputs.ts $c /tmp/$c-in.json &&
 *       /usr/bin/python3 scripts/train-reference.py /tmp/$c-in.json test/fixtures/train-parity/$c.json
 *   done
 *
 * Usage: npx tsx scripts/train-parity-inputs.ts CASE OUT.json (OUT.bin is written beside it; CASE:
 * a key of PARITY_CASES)
 */
import { openBackend } from '../src/backend/index.js';
import { buildNetwork } from '../src/train/network.js';
import { Trainer } from '../src/train/trainer.js';
import {
  memoryDataset,
  PARITY_CASES,
  PARITY_FORMAT,
  type ParityFixture,
  parityImages,
  parityNetwork,
  type TensorEntry,
} from '../test/helpers/train-parity.js';
import { writeFileAtomic } from '../src/util/durable.js';

const [name, out] = process.argv.slice(2);
const c = PARITY_CASES[name];
if (!c || !out?.endsWith('.json'))
  throw new Error(`usage: train-parity-inputs.ts CASE OUT.json (CASE: ${Object.keys(PARITY_CASES).join(', ')})`);
const backend = await openBackend('cpu', { threads: 1 });
const net = buildNetwork(backend, parityNetwork(c), 0);
const train = parityImages(c, c.trainImages, 1);
const test = parityImages(c, c.testImages, 2);
const data = {
  train: memoryDataset('train', train.images, train.labels, c.classes, c.size),
  test: memoryDataset('test', test.images, test.labels, c.classes, c.size),
  size: c.size,
};
const trainer = new Trainer(backend, net, data, c.settings);
const steps: number[][] = [];
for (let e = 0; e < c.settings.epochs; e++) {
  const perm = trainer.permutation(e);
  for (let k = 0; k < trainer.stepsPerEpoch; k++) steps.push(trainer.indicesAt(e, perm, k));
}

const tensors: TensorEntry[] = [];
const chunks: Float32Array[] = [];
let offset = 0;
const add = (name: string, shape: number[], data: Float32Array) => {
  tensors.push({ name, shape, offset });
  chunks.push(data);
  offset += data.length;
};
add('input.train', [c.trainImages, 3, c.size, c.size], train.images);
add('input.test', [c.testImages, 3, c.size, c.size], test.images);
for (const p of net.params) add(`init.${p.name}`, [...p.value.shape], await p.value.read());

const meta: ParityFixture = {
  format: PARITY_FORMAT,
  version: 1,
  command: `npx tsx scripts/train-parity-inputs.ts ${name} /tmp/${name}-in.json && /usr/bin/python3 scripts/train-reference.py /tmp/${name}-in.json test/fixtures/train-parity/${name}.json`,
  case: c,
  trainLabels: train.labels,
  testLabels: test.labels,
  steps,
  params: net.params.map((p) => ({ name: p.name, kind: p.kind })),
  tensors,
};
const bin = new Float32Array(offset);
let o = 0;
for (const ch of chunks) {
  bin.set(ch, o);
  o += ch.length;
}
// The .bin first: the .json that describes it appears only once it is whole.
writeFileAtomic(out.replace(/\.json$/, '.bin'), new Uint8Array(bin.buffer));
writeFileAtomic(out, JSON.stringify(meta) + '\n');
console.log(
  `${out}: ${net.params.length} parameters (${net.params.reduce((s, p) => s + p.value.size, 0)} values), ${steps.length} steps`,
);
trainer.dispose();
net.dispose();
