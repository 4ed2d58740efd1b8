/**
 * Before a run starts N scoring backends on this machine's memory (score on the CPU, N = --procs,
 * one too; worker --concurrency N on the CPU): N times one's estimated peak (zeroshot/process-memory.ts)
 * against the memory. Above the physical memory the processes would swap or be killed mid-run:
 * refused where the run's batch is known, said otherwise. Above what is available now: one warning
 * line (other programs may give memory back, and the estimate is an upper one).
 */
import { freemem, totalmem } from 'node:os';
import { fmtBytes } from '../util/format.js';
import { UsageError } from './errors.js';
import type { Io } from './run.js';

export interface MachineMemory {
  /** What the system can give without swapping now (MemAvailable on Linux). */
  availableBytes: number;
  totalBytes: number;
}

/** This machine's memory; WGNAS_TEST_MEMORY_BYTES='AVAILABLE,TOTAL' stands in for it in tests. */
export function machineMemory(): MachineMemory {
  const hook = process.env.WGNAS_TEST_MEMORY_BYTES?.split(',').map(Number);
  if (hook?.length === 2 && hook.every((x) => x > 0)) return { availableBytes: hook[0], totalBytes: hook[1] };
  return { availableBytes: freemem(), totalBytes: totalmem() };
}

export interface MemoryAsk {
  /** The flag and its value, as the line names it ('--procs 4'). */
  flag: string;
  /** Backends at once. */
  n: number;
  /** What each is, plural ('processes', 'jobs'). */
  noun: string;
  /** One backend's estimated peak (scoringProcessBytes). */
  eachBytes: number;
  /** What the estimate assumed, for the line ('at --batch 64'). */
  at: string;
  /** How to ask for less, for the refusal ('give --procs 3 or fewer, or a smaller --batch'). */
  fewer: (fits: number) => string;
}

/** The refusal or warning for `ask` on `m`, or null when it fits what is available. */
export function memoryVerdict(ask: MemoryAsk, m: MachineMemory): { refuse: boolean; line: string } | null {
  const need = ask.n * ask.eachBytes;
  if (need <= m.availableBytes) return null;
  const what =
    ask.n === 1
      ? `${ask.flag}: up to about ${fmtBytes(need)} ${ask.at}`
      : `${ask.flag}: ${ask.n} ${ask.noun} of up to about ${fmtBytes(ask.eachBytes)} each ${ask.at} need ${fmtBytes(need)}`;
  if (need > m.totalBytes) {
    const fits = Math.floor(m.totalBytes / ask.eachBytes);
    return { refuse: true, line: `${what}, more than this machine's ${fmtBytes(m.totalBytes)}: ${ask.fewer(fits)}` };
  }
  return {
    refuse: false,
    line: `${what}, more than the ${fmtBytes(m.availableBytes)} available now (of ${fmtBytes(m.totalBytes)}): ${ask.n === 1 ? 'it' : 'they'} may swap`,
  };
}

/**
 * Refuses (UsageError) or warns on io for `ask` on this machine; `warnOnly` (a worker, whose
 * jobs' batches are not known yet) never refuses.
 */
export function checkMemory(ask: MemoryAsk, io: Io, warnOnly = false): void {
  const v = memoryVerdict(ask, machineMemory());
  if (!v) return;
  if (v.refuse && !warnOnly) throw new UsageError(v.line);
  io.err(`warning: ${v.line}\n`);
}
