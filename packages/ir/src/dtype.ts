/**
 * Element types. f16 is a storage type: rounded to f16 where stored (boundary, params,
 * constants, casts), computed and held between ops in f32 (f64 in the reference); see
 * docs/design.md, "Numbers".
 */
export const DTYPES = ['f32', 'f16', 'i32', 'i64', 'bool'] as const;
export type DType = (typeof DTYPES)[number];

export function isDType(s: string): s is DType {
  return (DTYPES as readonly string[]).includes(s);
}

export const isFloat = (d: DType): boolean => d === 'f32' || d === 'f16';
export const isInt = (d: DType): boolean => d === 'i32' || d === 'i64';

/** Bytes per element as stored at the API boundary and in files. */
export const BYTES: Record<DType, number> = { f32: 4, f16: 2, i32: 4, i64: 8, bool: 1 };

export type TypedArray =
  Float32Array | Float64Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;
