/**
 * Named uniform fields: the one convention by which a kernel passes everything that
 * depends on a binding of the symbols (sizes, strides, offsets, scale factors) to its
 * shader. Keeping those values out of the shader text is what lets one pipeline serve
 * every T.
 *
 * A kernel declares its layout once, `uniforms({ n: 'u32', dims: ['u32', rank], scale:
 * 'f32' })`, and both sides read that one object:
 * - the shader: `shader({ uniforms: layout, ... })` declares it as a WGSL struct of scalar
 *   fields, one 4-byte word each, in declaration order (`struct Uniforms { n: u32,
 *   dims_0: u32, ..., scale: f32 }`, bound as `u`); the body reads `layout.u.n` (the text
 *   `u.n`) and `layout.u.dims[i]` (`u.dims_i`), typed as declared — no bitcasts;
 * - the dispatch: `layout.fill({ n, dims, scale })` is the uniform buffer's contents, every
 *   field given by name and checked against its type (and an array's length).
 *
 * Array fields exist for rank-dependent lists (dims, strides): their length is part of the
 * layout, so the shader text still depends only on ranks, dtypes and attributes.
 */

export type UniformType = 'u32' | 'i32' | 'f32';
/** A scalar field, or an array of `n` scalars (WGSL fields `name_0 .. name_{n-1}`). */
export type UniformField = UniformType | readonly [UniformType, number];
export type UniformSpec = Readonly<Record<string, UniformField>>;

/** WGSL expressions of a layout's fields: one per scalar, a list per array field. */
export type UniformNames<S extends UniformSpec> = {
  readonly [K in keyof S]: NonNullable<S[K]> extends UniformType ? string : readonly string[];
};
/** The values of one binding, by field name. */
export type UniformValues<S extends UniformSpec> = {
  readonly [K in keyof S]: NonNullable<S[K]> extends UniformType ? number : readonly number[];
};

/** Name of the uniform variable in every shader. */
const VAR = 'u';
/** Field names: letters and digits, so that an array's `name_i` can never collide with one. */
const NAME = /^[A-Za-z][A-Za-z0-9]*$/;

interface Word {
  readonly wgsl: string;
  readonly type: UniformType;
}

export class UniformLayout<S extends UniformSpec = UniformSpec> {
  /** WGSL expression of each field (for the shader body and module-scope functions). */
  readonly u: UniformNames<S>;
  /** Words of the block, in order: one per scalar and per array element. */
  private readonly slots: Word[] = [];

  constructor(readonly spec: S) {
    const names: Record<string, string | string[]> = {};
    for (const [name, field] of Object.entries(spec)) {
      if (!NAME.test(name))
        throw new Error(`uniform field name '${name}' is not [A-Za-z][A-Za-z0-9]*`);
      if (typeof field === 'string') {
        names[name] = this.slot(name, field);
      } else {
        const [type, n] = field;
        names[name] = Array.from({ length: n }, (_, i) => this.slot(`${name}_${i}`, type));
      }
    }
    this.u = names as UniformNames<S>;
  }

  private slot(field: string, type: UniformType): string {
    const wgsl = `${VAR}.${field}`;
    this.slots.push({ wgsl, type });
    return wgsl;
  }

  /** Number of 4-byte words. */
  get words(): number {
    return this.slots.length;
  }

  /** The WGSL declaration: the struct and its binding at `binding` of group 0. */
  declaration(binding: number): string {
    const fields = this.slots.map((s) => `${s.wgsl.slice(VAR.length + 1)}: ${s.type}`);
    // WGSL has no empty structs.
    if (fields.length === 0) fields.push('unused: u32');
    return `struct Uniforms { ${fields.join(', ')} }
@group(0) @binding(${binding}) var<uniform> ${VAR}: Uniforms;`;
  }

  /** The uniform block of one binding: every field by name, each checked against its type. */
  fill(values: UniformValues<S>): Uint32Array<ArrayBuffer> {
    // Uniform buffers are sized in 16-byte steps (and never empty).
    const out = new Uint32Array(Math.max(4, Math.ceil(this.words / 4) * 4));
    let at = 0;
    for (const [name, field] of Object.entries(this.spec)) {
      const v = (values as Record<string, number | readonly number[] | undefined>)[name];
      if (typeof field === 'string') {
        if (typeof v !== 'number') throw new Error(`uniform field '${name}' needs one number`);
        out[at++] = toWord(v, field, name);
      } else {
        const [type, n] = field;
        if (!Array.isArray(v) || v.length !== n)
          throw new Error(`uniform field '${name}' needs ${n} numbers`);
        for (let i = 0; i < n; i++) out[at++] = toWord(v[i] as number, type, `${name}[${i}]`);
      }
    }
    const extra = Object.keys(values).filter((k) => !(k in this.spec));
    if (extra.length > 0)
      throw new Error(`uniform fields ${extra.join(', ')} are not in the layout`);
    return out;
  }
}

/** Declare a kernel's uniform layout (see the module comment). */
export function uniforms<const S extends UniformSpec>(spec: S): UniformLayout<S> {
  return new UniformLayout(spec);
}

const F32_BITS = new DataView(new ArrayBuffer(4));

/** The word holding `v` as `type` (u32 and i32 must be integers in range; f32 rounds). */
function toWord(v: number, type: UniformType, what: string): number {
  switch (type) {
    case 'u32':
      if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff))
        throw new RangeError(`uniform ${what} = ${v} does not fit u32`);
      return v;
    case 'i32':
      if (!(Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff))
        throw new RangeError(`uniform ${what} = ${v} does not fit i32`);
      return v >>> 0;
    case 'f32':
      F32_BITS.setFloat32(0, v);
      return F32_BITS.getUint32(0);
  }
}
