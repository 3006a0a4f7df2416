import type { DType, TypedArray } from './dtype.js';
import { InputError } from './errors.js';
import { numel, shapeToString } from './shape.js';

/** A tensor at the API boundary. */
export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TypedArray;
}

/** The typed array each dtype uses at the API boundary. */
export function arrayFor(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'f32':
      return new Float32Array(n);
    case 'f16':
      return new Uint16Array(n);
    case 'i32':
      return new Int32Array(n);
    case 'i64':
      return new BigInt64Array(n);
    case 'bool':
      return new Uint8Array(n);
  }
}

const CTOR: Record<DType, string> = {
  f32: 'Float32Array',
  f16: 'Uint16Array',
  i32: 'Int32Array',
  i64: 'BigInt64Array',
  bool: 'Uint8Array',
};

/** Check that data matches dtype and shape; `what` names it in errors ("input 'x'"). */
export function checkTensor(t: Tensor, what: string) {
  if (typeof t !== 'object' || t === null || !Object.hasOwn(CTOR, t.dtype))
    throw new InputError(
      `${what}: expected { dtype, shape, data } with dtype one of ${Object.keys(CTOR).join(', ')}`,
    );
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0))
    throw new InputError(`${what}: shape must be a list of integers ≥ 0`);
  const want = CTOR[t.dtype];
  if (!ArrayBuffer.isView(t.data) || t.data.constructor.name !== want)
    throw new InputError(
      `${what}: ${t.dtype} data must be a ${want}, got ${t.data.constructor.name}`,
    );
  if (t.data.length !== numel(t.shape))
    throw new InputError(
      `${what}: ${t.data.length} elements do not fill shape ${shapeToString(t.shape)} (${numel(t.shape)})`,
    );
}

/** Element i as a JS number (i64 converted; exact within ±2^53). */
export function toNumbers(t: Tensor): Float64Array {
  const out = new Float64Array(t.data.length);
  if (t.dtype === 'f16') {
    const d = t.data as Uint16Array;
    for (let i = 0; i < d.length; i++) out[i] = f16ToF32(d[i]!);
  } else if (t.data instanceof BigInt64Array) {
    for (let i = 0; i < t.data.length; i++) out[i] = Number(t.data[i]!);
  } else {
    out.set(t.data as ArrayLike<number>);
  }
  return out;
}

/** Build a boundary tensor of `dtype` from numbers (rounding as the dtype stores them). */
export function fromNumbers(
  dtype: DType,
  shape: readonly number[],
  values: ArrayLike<number>,
): Tensor {
  const data = arrayFor(dtype, values.length);
  if (data instanceof BigInt64Array)
    for (let i = 0; i < values.length; i++) data[i] = BigInt(Math.trunc(values[i]!));
  else if (dtype === 'f16') for (let i = 0; i < values.length; i++) data[i] = f32ToF16(values[i]!);
  else if (dtype === 'bool')
    for (let i = 0; i < values.length; i++) data[i] = values[i] !== 0 ? 1 : 0;
  else (data as Float32Array).set(values);
  return { dtype, shape: [...shape], data };
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Round-to-nearest-even f32 → f16 bits. */
export function f32ToF16(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}
