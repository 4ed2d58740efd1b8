/**
 * The op descriptors against the WGSL they describe (no GPU needed): every shader's uniform
 * struct against its declared fields (names, order, types, offsets and size per WGSL layout
 * rules), entry points, override constants and their defaults, which entries bind which struct,
 * and that every compute entry of shaders/ belongs to some op. Plus the packer and the registry.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fmaBurnOp, scaleCopyOp } from '../../src/bench/calibrate.js';
import { loadShaderSource, shaderPath } from '../../src/gpu/shaders.js';
import { defineUniforms, structLayout, typeLayout, type UniformDecl } from '../../src/gpu/uniforms.js';
import { type OpDescriptor, sumCosts } from '../../src/kernels/descriptor.js';
import { OP_NAMES, type OpName, OPS, OpRegistry, webgpuOpRegistry } from '../../src/kernels/ops.js';
import { synflowSeedOp } from '../../src/kernels/synflow-seed.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOp = OpDescriptor<any, unknown, unknown, string>;
// Besides OPS: the bench's calibration kernels and the webgpu backend's device-only op.
const ALL_OPS: AnyOp[] = [...Object.values(OPS), fmaBurnOp, scaleCopyOp, synflowSeedOp];

// ---- a small WGSL reader (declarations only; comments stripped first) ------------------------------

interface ParsedShader {
  structs: Map<string, Array<[string, string]>>;
  /** var<uniform> name -> struct type. */
  uniforms: Map<string, string>;
  overrides: Map<string, number>;
  /** Function name -> body text. */
  functions: Map<string, string>;
  entries: Set<string>;
}

function stripComments(src: string): string {
  return src.replace(/\/\/[^\n]*/g, '');
}

function parseWgsl(source: string): ParsedShader {
  const src = stripComments(source);
  const structs = new Map<string, Array<[string, string]>>();
  for (const m of src.matchAll(/\bstruct\s+(\w+)\s*\{([^}]*)\}/g)) {
    const fields = m[2]
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean)
      .map((f) => {
        const fm = /^(\w+)\s*:\s*([\w<>]+)$/.exec(f);
        if (!fm) throw new Error(`struct ${m[1]}: cannot read member '${f}'`);
        return [fm[1], fm[2]] as [string, string];
      });
    structs.set(m[1], fields);
  }
  const uniforms = new Map<string, string>();
  for (const m of src.matchAll(/var<uniform>\s+(\w+)\s*:\s*(\w+)\s*;/g)) uniforms.set(m[1], m[2]);
  const overrides = new Map<string, number>();
  for (const m of src.matchAll(/\boverride\s+(\w+)\s*:\s*\w+\s*=\s*([0-9.]+)[uif]?\s*;/g)) overrides.set(m[1], Number(m[2]));
  const functions = new Map<string, string>();
  const entries = new Set<string>();
  for (const m of src.matchAll(/(@compute[^;{]*?)?\bfn\s+(\w+)\s*\(/g)) {
    const open = src.indexOf('{', m.index! + m[0].length);
    let depth = 0;
    let end = open;
    for (; end < src.length; end++) {
      if (src[end] === '{') depth++;
      else if (src[end] === '}' && --depth === 0) break;
    }
    functions.set(m[2], src.slice(open, end + 1));
    if (m[1]) entries.add(m[2]);
  }
  return { structs, uniforms, overrides, functions, entries };
}

/** Whether function `fn` (or anything it calls in this module) names `ident`. */
function staticallyUses(s: ParsedShader, fn: string, ident: string, seen = new Set<string>()): boolean {
  if (seen.has(fn)) return false;
  seen.add(fn);
  const body = s.functions.get(fn) ?? '';
  if (new RegExp(`\\b${ident}\\b`).test(body)) return true;
  for (const m of body.matchAll(/\b(\w+)\s*\(/g)) {
    if (s.functions.has(m[1]) && staticallyUses(s, m[1], ident, seen)) return true;
  }
  return false;
}

const parsed = new Map<string, ParsedShader>();
function shader(file: string): ParsedShader {
  let p = parsed.get(file);
  if (!p) {
    p = parseWgsl(loadShaderSource(file));
    parsed.set(file, p);
  }
  return p;
}

function expectStructMatches(decl: UniformDecl, fields: Array<[string, string]> | undefined, where: string): void {
  expect(fields, `${where}: struct ${decl.struct} not found`).toBeDefined();
  expect(
    fields!.map(([n]) => n),
    `${where}: ${decl.struct} member names and order`,
  ).toEqual(Object.keys(decl.fields));
  expect(
    fields!.map(([, t]) => t),
    `${where}: ${decl.struct} member types`,
  ).toEqual(Object.values(decl.fields));
  // Layout computed from the WGSL's own member types, not from the declaration.
  const wgsl = structLayout(fields!);
  expect(
    decl.layout.fields.map((f) => f.offset),
    `${where}: ${decl.struct} offsets`,
  ).toEqual(wgsl.fields.map((f) => f.offset));
  expect(decl.layout.size, `${where}: ${decl.struct} size`).toBe(wgsl.size);
  expect(decl.bufferBytes % 16).toBe(0);
  expect(decl.bufferBytes).toBeGreaterThanOrEqual(wgsl.size);
}

// ---- tests ----------------------------------------------------------------------------------------

describe('WGSL uniform layout rules', () => {
  it('sizes and aligns scalars and vectors as the WGSL spec says', () => {
    expect(typeLayout('f32')).toMatchObject({ size: 4, align: 4 });
    expect(typeLayout('vec2<u32>')).toMatchObject({ size: 8, align: 8 });
    expect(typeLayout('vec3<f32>')).toMatchObject({ size: 12, align: 16 });
    expect(typeLayout('vec4<i32>')).toMatchObject({ size: 16, align: 16 });
    expect(() => typeLayout('mat4x4<f32>')).toThrow(/not supported/);
  });

  it('places members at aligned offsets and rounds the struct up to its alignment', () => {
    // WGSL spec example shape: a f32 before a vec3 is padded to 16; the struct size rounds to 16.
    const l = structLayout([
      ['a', 'f32'],
      ['b', 'vec3<f32>'],
      ['c', 'f32'],
      ['d', 'vec2<u32>'],
    ]);
    expect(l.fields.map((f) => f.offset)).toEqual([0, 16, 28, 32]);
    expect(l.size).toBe(48);
    expect(l.align).toBe(16);
    expect(
      structLayout([
        ['a', 'u32'],
        ['b', 'u32'],
        ['c', 'u32'],
      ]).size,
    ).toBe(12);
  });
});

describe('uniform packing by name', () => {
  const P = defineUniforms('t.wgsl', 'Params', { n: 'u32', s: 'f32', k: 'i32', v: 'vec2<f32>', _pad: 'u32' });

  it('writes each field at its offset, padding fields default to 0, the buffer rounds to 16 bytes', () => {
    const buf = P.pack({ n: 7, s: -1.5, k: -3, v: [0.25, 4] });
    expect(buf.byteLength).toBe(32);
    const dv = new DataView(buf);
    expect(dv.getUint32(0, true)).toBe(7);
    expect(dv.getFloat32(4, true)).toBe(-1.5);
    expect(dv.getInt32(8, true)).toBe(-3);
    expect([dv.getFloat32(16, true), dv.getFloat32(20, true)]).toEqual([0.25, 4]);
    expect(dv.getUint32(24, true)).toBe(0);
    // NaN is a legal f32 (loss.wgsl takes it on purpose).
    expect(Number.isNaN(new DataView(P.pack({ n: 0, s: NaN, k: 0, v: [0, 0] })).getFloat32(4, true))).toBe(true);
  });

  it('names the struct and field in every refusal', () => {
    const ok = { n: 1, s: 0, k: 0, v: [0, 0] } as const;
    expect(() => P.pack({ ...ok, n: 1.5 })).toThrow(/t\.wgsl Params\.n: 1\.5 is not a u32/);
    expect(() => P.pack({ ...ok, n: -1 })).toThrow(/not a u32/);
    expect(() => P.pack({ ...ok, k: 2 ** 31 })).toThrow(/Params\.k: .* is not an i32/);
    expect(() => P.pack({ ...ok, v: [1] })).toThrow(/Params\.v: expected 2 values/);
    expect(() => P.pack({ ...ok, v: [1, 'x' as never] })).toThrow(/t\.wgsl Params\.v\[1\]: x is not a number/);
    expect(() => P.pack({ s: 0, k: 0, v: [0, 0] } as never)).toThrow(/Params\.n: missing/);
    expect(() => P.pack({ ...ok, m: 3 } as never)).toThrow(/no field 'm'/);
    expect(() => defineUniforms('t.wgsl', 'P', { '0': 'u32' })).toThrow(/not a WGSL identifier/);
  });
});

describe('every op descriptor matches its WGSL', () => {
  for (const op of ALL_OPS) {
    it(op.name, () => {
      for (const ref of op.kernels) {
        const s = shader(ref.file);
        const where = `${op.name} ${ref.file}`;
        for (const e of ref.entries) expect(s.entries.has(e), `${where}: no @compute entry '${e}'`).toBe(true);
        for (const [k, v] of Object.entries(ref.overrides ?? {})) {
          expect(s.overrides.has(k), `${where}: no override ${k}`).toBe(true);
          expect(s.overrides.get(k), `${where}: override ${k}'s default`).toBe(v);
        }
        const boundVars = [...s.uniforms].filter(([name]) => ref.entries.some((e) => staticallyUses(s, e, name)));
        if (!ref.uniforms) {
          expect(boundVars, `${where}: entries bind a uniform struct the descriptor does not declare`).toEqual([]);
          continue;
        }
        const decl = ref.uniforms;
        // The struct as the kernel sees it (includes expanded) and in the file that declares it.
        expectStructMatches(decl, s.structs.get(decl.struct), where);
        expectStructMatches(decl, shader(decl.file).structs.get(decl.struct), `${op.name} ${decl.file}`);
        // Every entry binds a var<uniform> of exactly this struct.
        expect(boundVars.length, `${where}: entries bind ${boundVars.length} uniform structs`).toBe(1);
        expect(boundVars[0][1], `${where}: the entries' uniform struct`).toBe(decl.struct);
        for (const e of ref.entries)
          expect(staticallyUses(s, e, boundVars[0][0]), `${where}: ${e} does not read ${boundVars[0][0]}`).toBe(true);
      }
    });
  }

  it('covers every compute entry and every uniform struct of shaders/', () => {
    const dir = dirname(shaderPath('matmul.wgsl'));
    const claimed = new Set<string>();
    const declared = new Set<string>();
    for (const op of ALL_OPS) {
      for (const ref of op.kernels) {
        for (const e of ref.entries) claimed.add(`${ref.file}:${e}`);
        if (ref.uniforms) declared.add(`${ref.file}:${ref.uniforms.struct}`);
      }
    }
    const files = readdirSync(dir).filter((f) => f.endsWith('.wgsl'));
    // Files other shaders include (cores, helpers) are checked as part of their includers.
    const included = new Set(
      files.flatMap((f) => [...readFileSync(shaderPath(f), 'utf8').matchAll(/^\s*\/\/#include\s+"([^"]+)"/gm)].map((m) => m[1])),
    );
    const unclaimed: string[] = [];
    for (const file of files.filter((f) => !included.has(f))) {
      const s = shader(file);
      for (const e of s.entries) if (!claimed.has(`${file}:${e}`)) unclaimed.push(`${file}:${e}`);
      for (const [, struct] of s.uniforms)
        if (s.entries.size && !declared.has(`${file}:${struct}`)) unclaimed.push(`${file}: struct ${struct}`);
    }
    expect(unclaimed).toEqual([]);
  });
});

describe('op catalog and backend registry', () => {
  it('keys every descriptor by its own name', () => {
    for (const name of OP_NAMES) expect(OPS[name].name).toBe(name);
    expect(new Set(OP_NAMES).size).toBe(OP_NAMES.length);
  });

  it('registers every op for webgpu (the descriptor function) and none for cpu yet', () => {
    const reg = webgpuOpRegistry();
    for (const name of OP_NAMES) expect(reg.get(name, 'webgpu')).toBe(OPS[name].webgpu);
    expect(reg.missing('webgpu')).toEqual([]);
    expect(reg.missing('cpu')).toEqual(OP_NAMES);
    expect(() => reg.get('matmul', 'cpu')).toThrow(/'matmul' has no cpu implementation \(only webgpu\)/);
  });

  it('takes one implementation per op and backend, for known ops and backends only', () => {
    const reg = new OpRegistry();
    const impl = () => null;
    reg.register('matmul', 'cpu', impl);
    expect(reg.get('matmul', 'cpu')).toBe(impl);
    expect(reg.backends('matmul')).toEqual(['cpu']);
    expect(() => reg.register('matmul', 'cpu', impl)).toThrow(/already has a cpu implementation/);
    expect(() => reg.register('nope' as OpName, 'cpu', impl)).toThrow(/unknown op 'nope'/);
    expect(() => reg.register('matmul', 'tpu' as 'cpu', impl)).toThrow(/unknown backend 'tpu'/);
  });

  /** One problem per op, so every cost() runs: FLOPs and bytes must be finite and positive. */
  const conv = { xShape: [2, 4, 9, 9], wShape: [6, 4, 3, 3], stride: 1, pad: 1 };
  const SAMPLE: Record<OpName, unknown> = {
    matmul: { batch: 2, M: 3, N: 4, K: 5 },
    conv2d: conv,
    conv2dBackwardInput: conv,
    conv2dBackwardWeight: conv,
    reluConv2d: conv,
    reluConv2dBackwardInput: conv,
    reluConv2dBackwardWeight: conv,
    batchNormForward: { N: 2, C: 3, HW: 16 },
    batchNormForwardAdd: { N: 2, C: 3, HW: 16 },
    batchNormBackward: { N: 2, C: 3, HW: 16 },
    batchNormRelu6Forward: { N: 2, C: 3, HW: 16 },
    batchNormRelu6Backward: { N: 2, C: 3, HW: 16 },
    batchNormEval: { N: 2, C: 3, HW: 16 },
    relu: { n: 10 },
    reluBackward: { n: 10 },
    relu6: { n: 10 },
    relu6Backward: { n: 10 },
    avgPool2d: { xShape: [2, 3, 8, 8], p: { kernel: 3, stride: 1, pad: 1 } },
    avgPool2dBackward: { xShape: [2, 3, 8, 8], p: { kernel: 3, stride: 1, pad: 1 } },
    globalAvgPool: { xShape: [2, 3, 8, 8] },
    globalAvgPoolBackward: { xShape: [2, 3, 8, 8] },
    linear: { N: 4, In: 8, Out: 10 },
    linearBackward: { N: 4, In: 8, Out: 10 },
    softmaxCrossEntropy: { N: 4, K: 10 },
    add: { n: 10 },
    mul: { n: 10 },
    scale: { n: 10 },
    abs: { n: 10 },
    axpy: { n: 10 },
    maskedAdd: { n: 10 },
    fill: { n: 10 },
    addBiasRows: { rows: 4, cols: 10 },
    sum: { n: 10 },
    sumSquares: { n: 10 },
    sumAbsProduct: { n: 10 },
    dotPartials: { n: 10 },
    rowSums: { rows: 4, cols: 10 },
    colSums: { rows: 4, cols: 10 },
    sumSlices: { slices: 3, n: 10 },
    sgdStep: { n: 10 },
    adamStep: { n: 10 },
    correlation: { B: 2, N: 8, D: 16 },
    correlationOffDiagInPlace: { B: 2, N: 8, D: 16 },
    gram: { B: 2, N: 8, D: 16 },
    accumulateAbs: { n: 10 },
    accumulateAbsBatched: { n: 8, layers: 5, slots: 2 },
    signCodes: { n: 10 },
    signCodesInPlace: { n: 10 },
    unstackGroups: { n: 24 },
    gateDot: { n: 10 },
    fitnessSoftmax: { K: 4 },
    mixAccumulate: { n: 10 },
    mixForward: { K: 4, n: 10 },
    mixBackward: { n: 10 },
    mixBackwardMany: { K: 3, n: 10 },
    fitnessGrad: { K: 4 },
    firstElementGrad: { N: 3, OH: 4, OW: 5 },
    uniformFill: { n: 10 },
    uniformFillMany: { n: 10 },
    sgdStepMany: { n: 10 },
    adamStepRows: { n: 10 },
    gateDotMany: { n: 10 },
    uniformFillBlocks: { n: 10 },
  };

  // fill and unstackGroups only move data.
  it('gives every op a cost with positive, finite FLOPs (where it computes) and bytes', () => {
    for (const name of OP_NAMES) {
      const c = (OPS[name] as AnyOp).cost(SAMPLE[name]);
      expect(Number.isFinite(c.bytes) && c.bytes > 0, `${name} bytes ${c.bytes}`).toBe(true);
      expect(
        Number.isFinite(c.flops) && c.flops >= (name === 'fill' || name === 'unstackGroups' ? 0 : 1),
        `${name} flops ${c.flops}`,
      ).toBe(true);
    }
    expect(OPS.matmul.cost({ batch: 2, M: 3, N: 4, K: 5 })).toEqual({ flops: 2 * 2 * 3 * 4 * 5, bytes: 4 * 2 * (15 + 20 + 12) });
    // 2 FLOPs per MAC; x, w and y once.
    expect(OPS.conv2d.cost(conv)).toEqual({ flops: 2 * 2 * 6 * 81 * 36, bytes: 4 * (2 * 4 * 81 + 6 * 36 + 2 * 6 * 81) });
    expect(sumCosts({ flops: 1, bytes: 2 }, { flops: 3, bytes: 4 })).toEqual({ flops: 4, bytes: 6 });
  });
});
