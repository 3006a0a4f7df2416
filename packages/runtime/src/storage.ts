import type { DType, Tensor, TypedArray } from '@glimpse/ir';
import { InputError, f16ToF32, f32ToF16, numel } from '@glimpse/ir';

/**
 * What every backend computes in: floats in f32 (f16 widened), integers in i32 (i64
 * narrowed, range-checked), bools as bools. A backend picks the element width of `bool`
 * (a byte on the CPU, a u32 on the GPU); the kind is decided here, once.
 */
export type StorageKind = 'f32' | 'i32' | 'bool';
/** Host storage of each kind: bools in bytes. */
export type Buf = Float32Array | Int32Array | Uint8Array;

export function storageOf(d: DType): StorageKind {
  return d === 'f32' || d === 'f16' ? 'f32' : d === 'bool' ? 'bool' : 'i32';
}

/** Bytes per element of host storage. */
export const STORAGE_BYTES: Record<StorageKind, number> = { f32: 4, i32: 4, bool: 1 };

/** `n` elements of `kind` at byte `at` of `buf`, as host storage. */
export function view(kind: StorageKind, buf: ArrayBufferLike, n: number, at = 0): Buf {
  return kind === 'f32'
    ? new Float32Array(buf, at, n)
    : kind === 'i32'
      ? new Int32Array(buf, at, n)
      : new Uint8Array(buf, at, n);
}

/**
 * A boundary tensor as backend storage. f32, i32 and bool data are used as given (never
 * written); f16 is widened, and i64 narrowed to i32 with a range check (legalisation).
 */
export function toStorage(t: Tensor, what: string): Buf {
  switch (t.dtype) {
    case 'f16': {
      const src = t.data as Uint16Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = f16ToF32(src[i]!);
      return out;
    }
    case 'i64': {
      const src = t.data as BigInt64Array;
      const out = new Int32Array(src.length);
      for (let i = 0; i < src.length; i++) {
        const v = src[i]!;
        if (v > 2147483647n || v < -2147483648n)
          throw new InputError(
            `${what}: i64 value ${v} at index ${i} does not fit the i32 the js backend computes in`,
            { value: what },
          );
        out[i] = Number(v);
      }
      return out;
    }
    default:
      return t.data as Buf;
  }
}

/**
 * Backend storage back to a boundary tensor of `dtype`: in `into` when given (a caller's
 * array of the right type and size, checked by prepareInputs), else in a fresh array.
 */
export function fromStorage(
  b: Buf,
  dtype: DType,
  shape: readonly number[],
  into?: TypedArray,
): Tensor {
  const n = numel(shape);
  let data: TypedArray;
  if (dtype === 'f16') {
    const d = (into as Uint16Array | undefined) ?? new Uint16Array(n);
    for (let i = 0; i < n; i++) d[i] = f32ToF16(b[i]!);
    data = d;
  } else if (dtype === 'i64') {
    const d = (into as BigInt64Array | undefined) ?? new BigInt64Array(n);
    for (let i = 0; i < n; i++) d[i] = BigInt(b[i]!);
    data = d;
  } else if (into) {
    (into as Buf).set(b.subarray(0, n));
    data = into;
  } else {
    data = b.slice(0, n);
  }
  return { dtype, shape: [...shape], data };
}
