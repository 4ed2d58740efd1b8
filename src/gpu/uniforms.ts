/**
 * Named, typed uniform structs. A kernel declares the fields of its WGSL uniform struct once, in
 * declaration order, and packs values by name; test/kernels/descriptors.test.ts parses every
 * shader's struct and checks it against the declaration (names, order, types, offsets, size), so
 * the host and the WGSL cannot drift apart silently.
 *
 *   const P = defineUniforms('conv2d.wgsl', 'Params', { M: 'u32', alpha: 'f32', _pad: 'u32' });
 *   gpu.dispatch({ ..., uniforms: P.pack({ M, alpha }) });   // fields named _* default to 0
 */

export type ScalarType = 'u32' | 'i32' | 'f32';
export type VectorType = `vec${2 | 3 | 4}<${ScalarType}>`;
export type UniformType = ScalarType | VectorType;
export type UniformFields = Readonly<Record<string, UniformType>>;

type FieldValue<T> = T extends ScalarType ? number : readonly number[];
type PadName<K> = K extends `_${string}` ? K : never;
/** Every field by name; padding fields (named _*) may be left out and are then 0. */
export type UniformValues<F extends UniformFields> = {
  readonly [K in Exclude<keyof F & string, PadName<keyof F & string>>]: FieldValue<F[K]>;
} & {
  readonly [K in PadName<keyof F & string>]?: FieldValue<F[K]>;
};

export interface FieldLayout {
  name: string;
  type: UniformType;
  offset: number;
  size: number;
  align: number;
}

export interface StructLayout {
  fields: FieldLayout[];
  /** SizeOf(struct): the end of the last member rounded up to the struct's alignment. */
  size: number;
  align: number;
}

const VECTOR_RE = /^vec([234])<(u32|i32|f32)>$/;

/** Size and alignment of a uniform member (WGSL spec, "Alignment and Size"). */
export function typeLayout(type: string): { size: number; align: number; scalar: ScalarType; lanes: number } {
  if (type === 'u32' || type === 'i32' || type === 'f32') return { size: 4, align: 4, scalar: type, lanes: 1 };
  const m = VECTOR_RE.exec(type);
  if (!m) throw new TypeError(`uniform type '${type}' is not supported (use u32, i32, f32 or vecN<u32|i32|f32>)`);
  const lanes = Number(m[1]);
  // vec2: 8/8, vec3: size 12 align 16, vec4: 16/16.
  return { size: 4 * lanes, align: lanes === 2 ? 8 : 16, scalar: m[2] as ScalarType, lanes };
}

const roundUp = (k: number, n: number) => Math.ceil(n / k) * k;

/** Offsets of a struct's members in declaration order, per WGSL's memory layout rules. */
export function structLayout(fields: ReadonlyArray<readonly [string, string]>): StructLayout {
  let offset = 0;
  let align = 1;
  const out: FieldLayout[] = [];
  for (const [name, type] of fields) {
    const t = typeLayout(type);
    offset = roundUp(t.align, offset);
    out.push({ name, type: type as UniformType, offset, size: t.size, align: t.align });
    offset += t.size;
    align = Math.max(align, t.align);
  }
  return { fields: out, size: roundUp(align, offset), align };
}

/** What a uniform struct is, without the packer (so blocks of different fields share one type). */
export interface UniformDecl<F extends UniformFields = UniformFields> {
  /** The shader file that declares the struct, e.g. 'conv2d.wgsl' (or an included one). */
  readonly file: string;
  readonly struct: string;
  readonly fields: F;
  readonly layout: StructLayout;
  /** Bytes pack() returns: the struct size rounded up to 16 (uniform bindings come in 16-byte units). */
  readonly bufferBytes: number;
}

export interface UniformBlock<F extends UniformFields = UniformFields> extends UniformDecl<F> {
  pack(values: UniformValues<F>): ArrayBuffer;
}

const laneName = (field: string, lane: number | undefined) => (lane === undefined ? field : `${field}[${lane}]`);

/** `lane` names a vector's element in the message (built only on error: this runs per dispatch). */
function writeScalar(dv: DataView, offset: number, scalar: ScalarType, v: unknown, field: string, lane?: number): void {
  if (typeof v !== 'number') throw new RangeError(`${laneName(field, lane)}: ${String(v)} is not a number`);
  if (scalar === 'f32') {
    // NaN and infinities are legal f32 values (loss.wgsl takes NaN on purpose).
    dv.setFloat32(offset, v, true);
  } else if (scalar === 'u32') {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${laneName(field, lane)}: ${v} is not a u32`);
    dv.setUint32(offset, v, true);
  } else {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff)
      throw new RangeError(`${laneName(field, lane)}: ${v} is not an i32`);
    dv.setInt32(offset, v, true);
  }
}

/**
 * Declares the uniform struct `struct` of shader `file`. Field order is the object's key order
 * (JavaScript keeps insertion order for non-numeric keys), which must be the WGSL order.
 */
export function defineUniforms<const F extends UniformFields>(file: string, struct: string, fields: F): UniformBlock<F> {
  const entries = Object.entries(fields);
  for (const [name] of entries) {
    // Integer-like keys would be reordered by JavaScript, and are not WGSL identifiers anyway.
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new TypeError(`${file} ${struct}: '${name}' is not a WGSL identifier`);
  }
  const layout = structLayout(entries);
  const bufferBytes = Math.max(16, roundUp(16, layout.size));
  const known = new Set(entries.map(([n]) => n));
  // Resolved once, not per pack(): kernels pack a struct on every dispatch.
  const plan = layout.fields.map((f) => ({
    name: f.name,
    offset: f.offset,
    pad: f.name.startsWith('_'),
    what: `${file} ${struct}.${f.name}`,
    ...typeLayout(f.type),
  }));
  return {
    file,
    struct,
    fields,
    layout,
    bufferBytes,
    pack(values: UniformValues<F>): ArrayBuffer {
      const buf = new ArrayBuffer(bufferBytes);
      const dv = new DataView(buf);
      const vals = values as Record<string, unknown>;
      for (const k in vals) {
        if (!known.has(k)) throw new RangeError(`${file} ${struct}: no field '${k}' (fields: ${[...known].join(', ')})`);
      }
      for (const f of plan) {
        let v = vals[f.name];
        if (v === undefined) {
          if (!f.pad) throw new RangeError(`${f.what}: missing`);
          v = 0;
        }
        if (f.lanes === 1) {
          writeScalar(dv, f.offset, f.scalar, v, f.what);
          continue;
        }
        const lanes = v === 0 ? new Array<number>(f.lanes).fill(0) : (v as readonly number[]);
        if (!Array.isArray(lanes) || lanes.length !== f.lanes) throw new RangeError(`${f.what}: expected ${f.lanes} values`);
        for (let i = 0; i < f.lanes; i++) writeScalar(dv, f.offset + 4 * i, f.scalar, lanes[i], f.what, i);
      }
      return buf;
    },
  };
}
