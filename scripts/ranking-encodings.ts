/**
 * A uniform sample of NAS-Bench-201's 15625 ENCODINGS (not distinct cells), for the population AZ-NAS's
 * published 0.741 was measured on (its notebook scores every encoding: isomorphic ones each as its
 * own network, the 341 disconnected ones too). Each line is an encoding as written, so `wgnas score`
 * builds it as given (dead edges included, as NAS-Bench-201 does); its row's accuracy is its
 * distinct cell's (the shared table has one per cell; the disconnected ones share the all-'none'
 * cell's 10%). Usage: npx tsx scripts/ranking-encodings.ts OUT.txt [K=1500] [SEED=2027]
 */
import { allCells, canonicalKey, formatArch } from '../src/spaces/nb201.js';
import { Rng } from '../src/util/rng.js';
import { writeFileAtomic } from '../src/util/durable.js';

const [out, kArg = '1500', seedArg = '2027'] = process.argv.slice(2);
if (!out) throw new Error('usage: ranking-encodings.ts OUT.txt [K] [SEED]');
const picked = new Rng(Number(seedArg)).shuffle(allCells()).slice(0, Number(kArg));
writeFileAtomic(out, picked.map(formatArch).join('\n') + '\n');
const distinct = new Set(picked.map((c) => canonicalKey(c))).size;
process.stdout.write(`${picked.length} encodings of ${distinct} distinct cells -> ${out}\n`);
