import { defineCommand, defineMode, flag, int, oneOf, outFile, text } from '../spec.js';
import { backend, quiet, threads } from './common.js';

/** auto | off | a byte count. */
export function cacheFlushProblem(v: string): string | undefined {
  if (v === 'auto' || v === 'off' || /^\d+$/.test(v)) return undefined;
  return `must be auto, off or a byte count, got '${v.slice(0, 80)}'`;
}

export const PROFILE_OPTIONS = {
  out: outFile({ help: 'output YAML', required: true }),
  space: oneOf(['proxyless'], { help: 'search space (proxyless: the ProxylessNAS mobile space)', default: 'proxyless' }),
  resolution: int({ help: 'input size, e.g. 224 (ImageNet) or 32 (CIFAR layout)', default: 224, min: 8, max: 1024 }),
  threads,
  backend,
  repeats: int({ help: 'timed runs per op', metavar: 'R', default: 30, min: 1, max: 100_000 }),
  warmup: int({ help: 'untimed runs per op', metavar: 'W', default: 5, min: 0, max: 100_000 }),
  'max-time-ms': int({ help: "stop an op's repeats after T ms (min 3 samples), 0 = off", metavar: 'T', default: 2000, min: 0 }),
  'cache-flush': text({
    help: 'auto | off | BYTES: before each run, touch this much scratch memory per thread so the op starts with cold private caches, as inside a network (auto = 2 x L2)',
    metavar: 'WHAT',
    default: 'auto',
    check: cacheFlushProblem,
  }),
  'no-pin': flag({ help: 'do not pin threads to CPUs' }),
  limit: int({ help: 'only the first N ops (quick checks)', min: 1 }),
  resume: flag({ help: 'keep the entries already in FILE and measure the rest', conflicts: ['force'], conflictsWhy: '--resume and --force contradict each other' }),
  force: flag({ help: 'overwrite FILE' }),
  quiet,
};

export const PROFILE = defineCommand({
  name: 'profile',
  summary: 'measure a per-op latency lookup table on this CPU (native addon)',
  description:
    'Times every (op, shape) of a search space with the native addon (batch 1) and writes a latency table in the ProxylessNAS / Once-for-All YAML format, stamped with the CPU, library, threads and date. Each entry is appended as soon as it is measured; --resume continues an interrupted run.',
  modes: [defineMode({ id: 'profile', module: 'profile', label: 'wgnas profile', usage: ['--out FILE [options]'], options: PROFILE_OPTIONS })],
});
