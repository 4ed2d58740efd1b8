/**
 * Every op of the catalog (OP_NAMES) on the webgpu backend against its descriptor's TypeScript
 * reference (the cases: ../helpers/op-cases.ts, which test/backend/cpu/parity-ops.test.ts runs on
 * the CPU backend), and the same bad arguments refused with the same message on both backends. A
 * new op without a case there fails the coverage check.
 */
import { describe, expect, it } from 'vitest';
import { cpuOpRegistry } from '../../src/backend/cpu.js';
import { OP_NAMES, webgpuOpRegistry } from '../../src/kernels/ops.js';
import { bothBackends } from '../helpers/backend.js';
import { allCases, BAD, opsWithoutCases, refusal } from '../helpers/op-cases.js';
import { paritySuite } from '../helpers/parity.js';

const backends = await bothBackends();

describe('op coverage', () => {
  it('every op of the catalog has parity cases, and a cpu implementation', () => {
    expect(opsWithoutCases(OP_NAMES)).toEqual([]);
    expect(cpuOpRegistry().missing('cpu')).toEqual([]);
    expect(cpuOpRegistry(webgpuOpRegistry()).missing('webgpu')).toEqual([]);
  });
});

// The CPU backend's run of these cases is the cpu project's (test/backend/cpu/parity-ops.test.ts).
paritySuite(
  backends.filter((b) => b.name === 'webgpu'),
  allCases(OP_NAMES),
);

describe('bad arguments: one error, one message, on both backends', () => {
  for (const op of OP_NAMES) {
    for (const b of BAD[op] ?? []) {
      it(`${op}: ${b.label}`, ({ skip }) => {
        const [gpu, cpu] = backends.map((x) => x.backend);
        if (!gpu || !cpu) return skip();
        const m = refusal(gpu, b);
        expect(m).not.toBe('no error');
        expect(refusal(cpu, b)).toBe(m);
      });
    }
  }
});
