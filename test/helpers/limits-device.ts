/**
 * A WebGPU device that runs nothing and checks what a real one would refuse for size, at the
 * limits an adapter reported (e.g. the H200's bench/results/nvidia-h200/<date>/info.json): buffers
 * over maxBufferSize, storage bindings over maxStorageBufferBindingSize, uniform bindings over
 * maxUniformBufferBindingSize, more storage buffers per stage than maxStorageBuffersPerShaderStage,
 * dispatches over maxComputeWorkgroupsPerDimension, workgroups over the invocation/size limits and
 * workgroup memory over maxComputeWorkgroupStorageSize (from the WGSL as compiled: overrides
 * specialized, array sizes evaluated). Reads return zeros. With it the real host code (kernels,
 * networks, groups sized by the real planners) runs at a big GPU's sizes on a machine without one;
 * Dawn's null backend cannot, its limits are lower (128 MiB bindings, 16 KiB workgroup memory).
 */
import { globals } from 'webgpu';
import type { AdapterReport } from '../../src/gpu/adapter.js';
import { Gpu } from '../../src/gpu/gpu.js';

Object.assign(globalThis, globals);

export interface LimitsRecord {
  /** Each refusal, once per distinct message. */
  violations: string[];
  buffers: number;
  dispatches: number;
  largestBufferBytes: number;
  largestStorageBindingBytes: number;
  /** The largest grid along each dimension. */
  largestGrid: [number, number, number];
  largestWorkgroupStorageBytes: number;
  /** Per compiled program (file:entry): its workgroup memory and invocations. */
  programs: Map<string, { storageBytes: number; invocations: number }>;
}

// ---- WGSL: the constant expressions of array sizes and workgroup sizes --------------------------

/** Integer value of a WGSL constant expression (+ - * / %, parentheses, u/i literals, named consts). */
export function evalWgslInt(expr: string, consts: Map<string, string>, depth = 0): number {
  if (depth > 20) throw new Error(`WGSL constant '${expr}': too deep`);
  const toks = expr.match(/\d+[ui]?|[A-Za-z_]\w*|[-+*/%()]/g) ?? [];
  let i = 0;
  const atom = (): number => {
    const t = toks[i++];
    if (t === '(') {
      const v = sum();
      i++; // ')'
      return v;
    }
    if (t === '-') return -atom();
    if (/^\d/.test(t)) return parseInt(t, 10);
    if (/^(u32|i32)$/.test(t) && toks[i] === '(') return atom(); // a cast: the parenthesised value
    const def = consts.get(t);
    if (def === undefined) throw new Error(`WGSL constant '${expr}': '${t}' is not a known constant`);
    return evalWgslInt(def, consts, depth + 1);
  };
  const product = (): number => {
    let v = atom();
    while (toks[i] === '*' || toks[i] === '/' || toks[i] === '%') {
      const op = toks[i++];
      const r = atom();
      v = op === '*' ? v * r : op === '/' ? Math.trunc(v / r) : v % r;
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (toks[i] === '+' || toks[i] === '-') v = toks[i++] === '+' ? v + product() : v - product();
    return v;
  };
  return sum();
}

const SCALAR_BYTES: Record<string, number> = { f32: 4, u32: 4, i32: 4, f16: 2, bool: 4 };

function typeBytes(type: string, consts: Map<string, string>, aliases: Map<string, string>): number {
  const t = type.replace(/\s+/g, '');
  if (aliases.has(t)) return typeBytes(aliases.get(t)!, consts, aliases);
  if (SCALAR_BYTES[t]) return SCALAR_BYTES[t];
  let m = t.match(/^vec([234])<(\w+)>$/);
  if (m) return (m[1] === '3' ? 4 : Number(m[1])) * SCALAR_BYTES[m[2]];
  m = t.match(/^atomic<(\w+)>$/);
  if (m) return 4;
  m = t.match(/^array<(.+),([^,]+)>$/);
  if (m) return typeBytes(m[1], consts, aliases) * evalWgslInt(m[2], consts);
  throw new Error(`workgroup variable of type ${type}: not sized by limits-device.ts`);
}

/** Workgroup memory (every module-scope var<workgroup>: an upper bound per entry) and each entry's workgroup size. */
export function wgslWorkgroupUse(code: string): { storageBytes: number; sizes: Map<string, [number, number, number]> } {
  const src = code.replace(/\/\/[^\n]*/g, '');
  const consts = new Map<string, string>();
  for (const m of src.matchAll(/(?:^|\n)\s*(?:const|override)\s+([A-Za-z_]\w*)\s*(?::\s*\w+)?\s*=\s*([^;]+);/g))
    consts.set(m[1], m[2]);
  const aliases = new Map<string, string>();
  for (const m of src.matchAll(/(?:^|\n)\s*alias\s+(\w+)\s*=\s*([^;]+);/g)) aliases.set(m[1], m[2]);
  let storageBytes = 0;
  for (const m of src.matchAll(/var<workgroup>\s+\w+\s*:\s*([^;]+);/g)) storageBytes += typeBytes(m[1], consts, aliases);
  const sizes = new Map<string, [number, number, number]>();
  for (const m of src.matchAll(/@workgroup_size\(([^)]*)\)\s*fn\s+(\w+)/g)) {
    const d = m[1].split(',').map((e) => evalWgslInt(e, consts));
    sizes.set(m[2], [d[0], d[1] ?? 1, d[2] ?? 1]);
  }
  return { storageBytes, sizes };
}

// ---- the device ----------------------------------------------------------------------------------

interface FakeBuffer {
  size: number;
  usage: number;
  label?: string;
  mapped?: ArrayBuffer;
  destroy(): void;
  mapAsync(): Promise<void>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
}

interface FakeModule {
  code: string;
  use: ReturnType<typeof wgslWorkgroupUse>;
  getCompilationInfo(): Promise<{ messages: never[] }>;
}

/**
 * A Gpu on a device that checks every allocation, binding and dispatch against `adapter.limits`.
 * `features` are the device's (default: the adapter report's).
 */
export function limitsGpu(
  adapter: AdapterReport,
  features: readonly string[] = adapter.features,
): { gpu: Gpu; record: LimitsRecord } {
  const L = { ...adapter.limits }; // the device's own copy: a test may loosen the host's view alone
  const record: LimitsRecord = {
    violations: [],
    buffers: 0,
    dispatches: 0,
    largestBufferBytes: 0,
    largestStorageBindingBytes: 0,
    largestGrid: [0, 0, 0],
    largestWorkgroupStorageBytes: 0,
    programs: new Map(),
  };
  const refuse = (msg: string) => {
    if (!record.violations.includes(msg)) record.violations.push(msg);
  };
  const over = (what: string, v: number, limit: string) => {
    if (v > L[limit]) refuse(`${what}: ${v} > ${limit} ${L[limit]}`);
  };

  const createBuffer = (d: { size: number; usage: number; label?: string; mappedAtCreation?: boolean }): FakeBuffer => {
    record.buffers++;
    record.largestBufferBytes = Math.max(record.largestBufferBytes, d.size);
    over(`buffer ${d.label ?? ''}`.trim(), d.size, 'maxBufferSize');
    const b: FakeBuffer = {
      size: d.size,
      usage: d.usage,
      label: d.label,
      destroy() {},
      async mapAsync() {},
      getMappedRange(offset = 0, size = b.size - offset) {
        b.mapped ??= new ArrayBuffer(b.size);
        return b.mapped.slice(offset, offset + size);
      },
      unmap() {},
    };
    if (d.mappedAtCreation) {
      // Written by the caller through the range: hand out the one backing store.
      b.mapped = new ArrayBuffer(d.size);
      b.getMappedRange = () => b.mapped!;
    }
    return b;
  };

  const pipelines = new Map<object, string>();
  const device = {
    features: new Set(features),
    limits: { ...L },
    lost: new Promise<never>(() => {}),
    queue: {
      writeBuffer(buf: FakeBuffer, offset: number, _data: unknown, _dataOffset: number, size: number) {
        if (offset + size > buf.size) refuse(`writeBuffer of ${size} bytes at ${offset} past a ${buf.size}-byte buffer`);
      },
      submit() {},
      async onSubmittedWorkDone() {},
    },
    createBuffer,
    createQuerySet: () => ({ destroy() {} }),
    createShaderModule(d: { code: string; label?: string }): FakeModule {
      return { code: d.code, use: wgslWorkgroupUse(d.code), getCompilationInfo: async () => ({ messages: [] }) };
    },
    createComputePipeline(d: { label?: string; compute: { module: FakeModule; entryPoint: string } }) {
      const { use } = d.compute.module;
      const name = d.label ?? d.compute.entryPoint;
      const size = use.sizes.get(d.compute.entryPoint);
      if (!size) refuse(`${name}: no @workgroup_size found for entry ${d.compute.entryPoint}`);
      const [x, y, z] = size ?? [1, 1, 1];
      over(`${name} workgroup x`, x, 'maxComputeWorkgroupSizeX');
      over(`${name} workgroup y`, y, 'maxComputeWorkgroupSizeY');
      over(`${name} workgroup z`, z, 'maxComputeWorkgroupSizeZ');
      over(`${name} invocations`, x * y * z, 'maxComputeInvocationsPerWorkgroup');
      over(`${name} workgroup memory`, use.storageBytes, 'maxComputeWorkgroupStorageSize');
      record.largestWorkgroupStorageBytes = Math.max(record.largestWorkgroupStorageBytes, use.storageBytes);
      record.programs.set(name, { storageBytes: use.storageBytes, invocations: x * y * z });
      const p = { getBindGroupLayout: () => ({}) };
      pipelines.set(p, name);
      return p;
    },
    pushErrorScope() {},
    popErrorScope: async () => null,
    createBindGroup(d: { entries: Array<{ binding: number; resource: FakeBuffer | { buffer: FakeBuffer; size?: number } }> }) {
      let storage = 0;
      for (const e of d.entries) {
        const r = e.resource;
        const buf = 'buffer' in r ? r.buffer : r;
        const size = 'buffer' in r ? (r.size ?? buf.size) : buf.size;
        if (buf.usage & GPUBufferUsage.UNIFORM) {
          over(`uniform binding ${e.binding}`, size, 'maxUniformBufferBindingSize');
          continue;
        }
        storage++;
        record.largestStorageBindingBytes = Math.max(record.largestStorageBindingBytes, size);
        over(`storage binding ${e.binding}${buf.label ? ` (${buf.label})` : ''}`, size, 'maxStorageBufferBindingSize');
      }
      over('storage buffers in one bind group', storage, 'maxStorageBuffersPerShaderStage');
      return {};
    },
    createCommandEncoder() {
      let current = '';
      return {
        beginComputePass: () => ({
          setPipeline(p: object) {
            current = pipelines.get(p) ?? '?';
          },
          setBindGroup() {},
          dispatchWorkgroups(x: number, y = 1, z = 1) {
            record.dispatches++;
            const g = record.largestGrid;
            [g[0], g[1], g[2]] = [Math.max(g[0], x), Math.max(g[1], y), Math.max(g[2], z)];
            for (const v of [x, y, z]) over(`${current} dispatch [${x}, ${y}, ${z}]`, v, 'maxComputeWorkgroupsPerDimension');
          },
          end() {},
        }),
        copyBufferToBuffer(src: FakeBuffer, so: number, dst: FakeBuffer, dof: number, size: number) {
          if (so + size > src.size || dof + size > dst.size) refuse(`copy of ${size} bytes past a buffer's end`);
          if (size % 4 || so % 4 || dof % 4) refuse(`copy of ${size} bytes at ${so} -> ${dof}: not 4-byte aligned`);
        },
        resolveQuerySet() {},
        finish: () => ({}),
      };
    },
    destroy() {},
  };
  return { gpu: new Gpu(device as unknown as GPUDevice, adapter), record };
}
