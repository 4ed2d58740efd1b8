/**
 * The cpu project's run of the op parity cases (../../helpers/op-cases.ts, shared with
 * parity-ops.gpu.test.ts): every op of the catalog on the native CPU backend against its
 * descriptor's TypeScript reference, every bad argument refused, and every op covered: a new op's
 * CPU implementation is checked without a GPU adapter.
 */
import { describe, expect, it } from 'vitest';
import { cpuOpRegistry } from '../../../src/backend/cpu.js';
import { OP_NAMES } from '../../../src/kernels/ops.js';
import { cpuTestBackend } from '../../helpers/backend.js';
import { allCases, BAD, opsWithoutCases, refusal } from '../../helpers/op-cases.js';
import { paritySuite } from '../../helpers/parity.js';

const backend = cpuTestBackend();

describe('op coverage', () => {
  it('every op of the catalog has parity cases and a cpu implementation', () => {
    expect(opsWithoutCases(OP_NAMES)).toEqual([]);
    expect(cpuOpRegistry().missing('cpu')).toEqual([]);
  });
});

paritySuite([{ name: 'cpu', backend }], allCases(OP_NAMES));

describe('bad arguments: refused on the CPU backend in one line', () => {
  for (const op of OP_NAMES) {
    for (const b of BAD[op] ?? []) {
      it(`${op}: ${b.label}`, ({ skip }) => {
        if (!backend) return skip();
        const m = refusal(backend, b);
        expect(m).not.toBe('no error');
        expect(m).not.toContain('\n');
      });
    }
  }
});
