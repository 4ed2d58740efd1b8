import { defineCommand, defineMode, flag, inFile, int, oneOf, outFile, text } from '../spec.js';
import { backend, quiet, threads } from './common.js';
import { submitOptions, submitRedisHelp } from './queue.js';

/** The most scratch memory the profiler touches per thread (its own limit, native/profile_run.cpp). */
export const MAX_FLUSH_BYTES = 1e10;

/** auto | off | a byte count up to MAX_FLUSH_BYTES. */
export function cacheFlushProblem(v: string): string | undefined {
  if (v === 'auto' || v === 'off') return undefined;
  if (!/^\d+$/.test(v)) return `must be auto, off or a byte count, got '${v.slice(0, 80)}'`;
  if (Number(v) > MAX_FLUSH_BYTES) return `must be at most ${MAX_FLUSH_BYTES} bytes (10 GB per thread), got ${v.slice(0, 80)}`;
  return undefined;
}

/** ssh://[user@]host[:port] (checked in full by latency/ssh.ts when the run starts). */
export function targetProblem(v: string): string | undefined {
  if (/^adb:\/\//i.test(v))
    return 'adb:// targets are not supported (the profiler is built for glibc Linux; Android needs an NDK build): use ssh://[user@]host[:port]';
  if (!/^ssh:\/\/([A-Za-z0-9._-]+@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?\/?$/.test(v))
    return `must look like ssh://[user@]host[:port], got '${v.slice(0, 80)}'`;
  const port = /:(\d+)\/?$/.exec(v.replace(/\[[^\]]*\]/, ''))?.[1];
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535))
    return `port must be 1 to 65535, got ${port} in '${v.slice(0, 80)}'`;
  return undefined;
}

const cpuOnly = { appliesWhen: { option: 'device', values: ['cpu'] } } as const;
const targetOnly = {
  requires: ['target'],
  requiresWhy: '--identity, --known-hosts, --target-dir and --retries set up --target; give --target',
} as const;

export const PROFILE_OPTIONS = {
  out: outFile({
    help: 'output YAML (the ProxylessNAS/OFA table format, appended as measured; a .json name is refused)',
    required: true,
    // The entries are appended as YAML: a .json name would hold a file no JSON reader opens.
    check: (v) => (/\.json$/i.test(v) ? `${v.slice(0, 200)}: the table is written as YAML, not JSON: name it .yaml` : undefined),
  }),
  // The commands that compute take --device auto|gpu|cpu (where the networks run); profile's names the
  // device timed, with the same meaning of cpu and gpu and no 'auto': a table is of one device, chosen.
  device: oneOf(['cpu', 'gpu'], {
    help: "the device profiled: cpu (this CPU, or --target's, with the native profiler) or gpu (the WGSL kernels on the WebGPU adapter, timed with timestamp queries, ops as the networks run them)",
    metavar: 'DEVICE',
    default: 'cpu',
  }),
  space: oneOf(['proxyless', 'cifar'], {
    help: "search space: proxyless (the ProxylessNAS mobile space at --resolution) or cifar (the CIFAR layout's MBConv space, 32x32: what wgnas proxyless --layout cifar searches)",
    default: 'proxyless',
    conflicts: ['space-file'],
    conflictsWhy: '--space and --space-file name two spaces: give one',
  }),
  'space-file': inFile({
    help: "a cell space (wgnas evolve-space output): its skeleton ops and every node of its cells, at its layout's resolution",
    noun: 'space file',
    conflicts: ['resolution'],
    conflictsWhy: "--resolution is the space file's layout's: drop it",
  }),
  net: inFile({
    help: "instead of a space, the ops of one network (a ProxylessNAS net.config or compact JSON, or a wgnas-arch of proxyless/search --space-file, as wgnas predict --net reads it; at the config's resolution unless --resolution is given): a table that predicts that network (a wgnas-arch's MBConv blocks, or its cells' nodes when a cell is no MBConv)",
    noun: 'network config',
    conflicts: ['space', 'space-file'],
    conflictsWhy: '--net, --space and --space-file each name the ops to time: give one',
  }),
  resolution: int({
    help: "input size of --space proxyless (224: ImageNet's) or of a --net network (default: its config's); not with --space cifar (32x32 always) or --space-file (its layout's)",
    default: 224,
    min: 8,
    max: 1024,
    appliesWhen: { option: 'space', values: ['proxyless'] },
  }),
  target: text({
    help: 'profile a target CPU over ssh (system ssh/scp, key authentication): copies the profiler built for its `uname -m` (scripts/build-target.sh), streams the results back; a dropped connection is re-opened',
    metavar: 'URL',
    check: targetProblem,
    ...cpuOnly,
  }),
  identity: inFile({
    help: "ssh private key for --target (default: the ssh configuration's)",
    noun: 'identity file',
    ...targetOnly,
  }),
  'known-hosts': inFile({
    help: "known_hosts file holding --target's host key (checked strictly); default: the user's, new hosts accepted on first use",
    noun: 'known_hosts file',
    ...targetOnly,
  }),
  'target-dir': text({
    help: 'where the profiler is kept on the target, relative to the login directory (or absolute)',
    metavar: 'DIR',
    default: '.cache/wgnas',
    ...targetOnly,
  }),
  retries: int({
    help: 'reconnections in a row without progress before --target gives up',
    default: 3,
    min: 0,
    max: 100,
    ...targetOnly,
  }),
  threads: { ...threads, ...cpuOnly },
  backend: { ...backend, ...cpuOnly },
  repeats: int({ help: 'timed runs per op', metavar: 'R', default: 30, min: 1, max: 100_000 }),
  warmup: int({ help: 'untimed runs per op', metavar: 'W', default: 5, min: 0, max: 100_000 }),
  'max-time-ms': int({ help: "stop an op's repeats after T ms (min 3 samples), 0 = off", metavar: 'T', default: 2000, min: 0 }),
  'cache-flush': text({
    help: "auto | off | BYTES (at most 1e10): before each run, touch this much scratch memory per thread so the op starts with cold caches. auto: 131072 (128 KiB: L1 evicted, L2 kept) where the space's largest network touches at most 4 MiB (weights and activations of the fixed parts plus the largest choice of each layer, as search --max-latency-ms and --price-cells count it; --net: every layer of that network), as CIFAR-layout networks do: their data stays in L2 between their ops; else 2 x L2 (4 MiB where the L2 size is unknown), as for ProxylessNAS mobile networks, whose ops evict each other's data. A --resume keeps the table's. docs/results.md compares them on whole networks",
    metavar: 'WHAT',
    default: 'auto',
    check: cacheFlushProblem,
    ...cpuOnly,
  }),
  'no-pin': flag({ help: 'do not pin threads to CPUs', ...cpuOnly }),
  limit: int({ help: 'only the first N ops (quick checks)', min: 1 }),
  resume: flag({
    help: 'keep the entries already in FILE and measure the rest',
    conflicts: ['force'],
    conflictsWhy: '--resume and --force contradict each other',
  }),
  force: flag({ help: 'overwrite FILE' }),
  quiet,
  ...submitOptions,
  redis: {
    ...submitOptions.redis,
    help: `${submitRedisHelp}. Only for identical machines: every entry carries the stamp of the worker that timed it (CPU model, cores, ISA and oneDNN version, threads; or adapter and driver) and an entry from another device ends the run; the table is written here as a local profile writes it`,
    conflicts: ['target'],
    conflictsWhy: '--target profiles one machine over ssh, --redis the workers of a queue: give one',
  },
  'shard-size': int({
    help: 'ops per job on --redis',
    default: 8,
    min: 1,
    max: 100_000,
    requires: ['redis'],
    requiresWhy: '--shard-size is for jobs on --redis URL',
  }),
};

export const PROFILE = defineCommand({
  name: 'profile',
  summary: 'measure a per-op latency lookup table (this CPU, a target CPU over ssh, or the GPU)',
  description:
    'Times every (op, shape) of a search space (batch 1) and writes a latency table in the ProxylessNAS / Once-for-All YAML format, stamped with the device, library, settings and date: on this CPU with the native addon, on a target CPU over ssh (--target) with the standalone profiler, or on the WebGPU adapter (--device gpu). Each entry is appended as soon as it is measured; --resume continues an interrupted run, and refuses a table measured on another device or another way. ' +
    "A target needs its architecture's profiler built here first: scripts/build-target.sh x86_64 or aarch64 (cross-compiled; the script names the packages it lacks); the target needs only ssh and glibc >= 2.34. An emulated aarch64 target (qemu-user on an x86 machine, for trying the pipeline: its timings mean nothing) is a login whose environment sets WGNAS_TARGET_ARCH=aarch64 and WGNAS_TARGET_EMULATOR=qemu-aarch64-static (sshd's SetEnv; see Environment); qemu finds the aarch64 C library through QEMU_LD_PREFIX, which defaults to /usr/aarch64-linux-gnu there (apt-get install libc6-arm64-cross). --net CONFIG.json times just the ops wgnas predict needs for that network.",
  modes: [
    defineMode({
      id: 'profile',
      module: 'profile',
      label: 'wgnas profile',
      usage: [
        '--out FILE [options]',
        '--out FILE --net CONFIG.json [options]',
        '--out FILE --target ssh://user@host[:port] [--identity KEY] [options]',
        '--out FILE --device gpu [options]',
        '--out FILE --redis URL [--queue NAME] [options]',
      ],
      options: PROFILE_OPTIONS,
    }),
  ],
});
