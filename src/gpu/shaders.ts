/**
 * WGSL source loading. Kernels live in shaders/NAME.wgsl; the only preprocessing is
 * `//#include "other.wgsl"` (textual, once per file), so every kernel stays a plain WGSL file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Finds the package's shaders/ directory from either src/ (tsx) or dist/src/ (compiled). */
function findShaderDir(): string {
  if (process.env.WGNAS_SHADER_DIR) return resolve(process.env.WGNAS_SHADER_DIR);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'shaders');
    if (existsSync(join(candidate, 'elementwise.wgsl'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('wgnas: cannot find the shaders/ directory next to the package; set WGNAS_SHADER_DIR');
}

let shaderDir: string | undefined;
const sourceCache = new Map<string, string>();
/** Generated programs by name (registerShaderSource); their includes expand like a file's. */
const generated = new Map<string, string>();

export function shaderPath(file: string): string {
  shaderDir ??= findShaderDir();
  return join(shaderDir, file);
}

const INCLUDE_RE = /^\s*\/\/#include\s+"([^"]+)"\s*$/gm;

export function loadShaderSource(file: string): string {
  const cached = sourceCache.get(file);
  if (cached !== undefined) return cached;
  const seen = new Set<string>();
  const expand = (name: string): string => {
    if (seen.has(name)) return '';
    seen.add(name);
    let code = generated.get(name);
    if (code === undefined) {
      const path = shaderPath(name);
      if (!existsSync(path)) throw new Error(`wgnas: shader file not found: ${path}`);
      code = readFileSync(path, 'utf8');
    }
    return code.replace(INCLUDE_RE, (_m, inc: string) => expand(inc));
  };
  const src = expand(file);
  sourceCache.set(file, src);
  return src;
}

/**
 * Registers a generated WGSL program under a file name, so kernels generated per tile (and device
 * experiments) go through the same pipeline cache as the files in shaders/. Its `//#include`
 * lines name files of shaders/, read when the program is first loaded.
 */
export function registerShaderSource(file: string, code: string): void {
  generated.set(file, code);
  sourceCache.delete(file);
}

/**
 * A generated program's file name, its source registered on first use: the generators (matmul,
 * convolution, depthwise, Gram, subgroup-matrix programs) name each program by its key and build
 * the source only for names not yet registered.
 */
export function generatedProgramFile(name: string, program: () => string): string {
  if (!generated.has(name)) registerShaderSource(name, program());
  return name;
}

const OVERRIDE_RE = /^(\s*)override\s+([A-Za-z_]\w*)\s*:\s*(u32|i32|f32)\s*(?:=\s*([^;]+))?;/gm;

/**
 * Specializes a program for one set of constants: every `override NAME: T = default;` becomes a
 * `const` (with the given value, else its default expression). Drivers compile override-sized
 * workgroup arrays and override-bounded loops far worse than constants (the register-tiled matmul
 * ran at 2.4 instead of 31+ TFLOP/s on an H200), and the pipeline cache keys by constants anyway.
 */
export function specializeOverrides(code: string, constants: Record<string, number>): string {
  return code.replace(OVERRIDE_RE, (m, indent: string, name: string, type: string, dflt: string | undefined) => {
    const v = constants[name];
    if (v === undefined) return dflt === undefined ? m : `${indent}const ${name}: ${type} = ${dflt.trim()};`;
    const lit = type === 'f32' ? `${Number(v)}f` : type === 'u32' ? `${Math.trunc(v)}u` : `${Math.trunc(v)}i`;
    return `${indent}const ${name}: ${type} = ${lit};`;
  });
}

/**
 * WGSL of a generated program's bindings: its uniform struct `Params` (fields in order) bound at 0
 * as `p`, then f32 storage arrays from binding 1 in the order given.
 */
export function generatedBindings(
  fields: Readonly<Record<string, string>>,
  storage: ReadonlyArray<[string, 'read' | 'read_write']>,
): string[] {
  const struct = Object.entries(fields)
    .map(([n, t]) => `  ${n}: ${t},`)
    .join('\n');
  return [
    `struct Params {\n${struct}\n}`,
    '@group(0) @binding(0) var<uniform> p: Params;',
    ...storage.map(([name, access], i) => `@group(0) @binding(${i + 1}) var<storage, ${access}> ${name}: array<f32>;`),
  ];
}

/**
 * WGSL of a generated program's entry point over k tensors laid end to end: thread i handles
 * element i of the concatenation, which belongs to the first segment j with i < p.end{j};
 * `segment(j)` gives that segment's statements, with `d` its element's index in tensor j.
 */
export function segmentedMain(include: string, wg: number, k: number, segment: (j: number) => string[]): string[] {
  const L = [
    `//#include "${include}"`,
    `@compute @workgroup_size(${wg})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {',
    `  let i = gid.x + gid.y * nwg.x * ${wg}u;`,
  ];
  for (let j = 0; j < k; j++) {
    L.push(
      `  if (i < p.end${j}) {`,
      `    let d = i - ${j === 0 ? '0u' : `p.end${j - 1}`};`,
      ...segment(j).map((l) => `    ${l}`),
      '    return;',
      '  }',
    );
  }
  L.push('}');
  return L;
}
