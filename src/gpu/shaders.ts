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
    if (existsSync(join(candidate, 'matmul.wgsl'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('wgnas: cannot find the shaders/ directory next to the package; set WGNAS_SHADER_DIR');
}

let shaderDir: string | undefined;
const sourceCache = new Map<string, string>();

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
    const path = shaderPath(name);
    if (!existsSync(path)) throw new Error(`wgnas: shader file not found: ${path}`);
    return readFileSync(path, 'utf8').replace(INCLUDE_RE, (_m, inc: string) => expand(inc));
  };
  const src = expand(file);
  sourceCache.set(file, src);
  return src;
}
