/**
 * The GPU kernels a result records beside the batch norm (src/cli/device.ts batchNormOf): on a
 * hardware adapter the convolution core (WGNAS_CONV_CORE: the tiled GEMMs and the depthwise
 * programs' weight gradient sum in the core's order), none on a software adapter (broadcast GEMMs
 * and conv2d_depthwise.wgsl whatever the core); a --redis run on the GPU records each worker's own,
 * the CPU nothing. Files from before read as the default core. No device: the records and a row
 * stream's refusal (test/cli/resume-bn.gpu.test.ts runs the CLI on lavapipe).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BN_UNRECORDED, batchNormOf, bnSetting, bnUnrecordedAdvice, kernelsAdvice } from '../../src/cli/device.js';
import { defaultConvCore } from '../../src/kernels/conv2d-gemm.js';
import { kernelsRecord } from '../../src/kernels/batchnorm.js';
import { RowStream } from '../../src/data/row-stream.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-resume-kernels-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the convolution core a GPU run records', () => {
  it("is the core on a hardware adapter, none on a software one; a queue's is each worker's own, the CPU's none", async () => {
    expect(kernelsRecord({ isSoftware: false }).core).toBe(defaultConvCore());
    expect('core' in kernelsRecord({ isSoftware: true })).toBe(false);
    expect(bnSetting({ wg: 256, plan: 'auto', core: 'legacy' })).toEqual({
      WGNAS_BN_WG: 256,
      WGNAS_BN_PLAN: 'auto',
      WGNAS_CONV_CORE: 'legacy',
    });
    expect(await batchNormOf('gpu', true)).toBe("each worker's own");
    expect([await batchNormOf('cpu', true), await batchNormOf('cpu')]).toEqual([null, null]);
    expect(bnSetting(null)).toEqual({});
  });

  it('a resume with the other core is refused naming it; a file from before reads as the default, program', () => {
    const out = join(tmp, 'scores.csv');
    const sidecar = (settings: Record<string, unknown>) => {
      writeFileSync(out, 'arch,params\n');
      writeFileSync(
        `${out}.settings.json`,
        JSON.stringify({ format: 'wgnas-row-stream', version: 1, settings, complete: false }),
      );
    };
    const open = (core: 'program' | 'legacy') =>
      new RowStream(out, {
        settings: bnSetting({ wg: 256, plan: 'auto', core }),
        unrecorded: BN_UNRECORDED,
        unrecordedAdvice: bnUnrecordedAdvice(out, '--out'),
        settingAdvice: kernelsAdvice(out, '--out'),
        resume: true,
      });
    sidecar({ WGNAS_BN_WG: 256, WGNAS_BN_PLAN: 'auto', WGNAS_CONV_CORE: 'legacy' });
    expect(() => open('program')).toThrow(
      /^--resume: WGNAS_CONV_CORE was legacy, now program in \S*scores\.csv; resume with its settings/,
    );
    open('legacy').close();
    // Written before the core was recorded: read as the default.
    sidecar({ WGNAS_BN_WG: 256, WGNAS_BN_PLAN: 'auto' });
    expect(() => open('legacy')).toThrow(
      /^--resume: WGNAS_CONV_CORE was program, now legacy in \S*scores\.csv; \S*scores\.csv records no convolution core: written before it was recorded \(read as WGNAS_CONV_CORE=program, the default: resume without WGNAS_CONV_CORE\)/,
    );
    open('program').close();
  });
});
