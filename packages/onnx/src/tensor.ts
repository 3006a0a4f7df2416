import type { DType, Tensor } from '@glimpse/ir';
import { checkAllocation, f16ToF32, FormatError, fromNumbers, UnsupportedError } from '@glimpse/ir';
import type { TensorProto } from './proto.js';
import { int, onnx } from './proto.js';

const T = onnx.TensorProto.DataType;

/** ONNX element types glimpse holds, and their byte sizes in raw_data. */
const DTYPE: Partial<Record<number, [DType, number]>> = {
  [T.FLOAT]: ['f32', 4],
  [T.FLOAT16]: ['f16', 2],
  [T.INT32]: ['i32', 4],
  [T.INT64]: ['i64', 8],
  [T.BOOL]: ['bool', 1],
};

export function onnxTypeName(t: number): string {
  return T[t] ?? `type ${t}`;
}

/** The glimpse dtype of an ONNX element type, or an UnsupportedError naming `what`. */
export function dtypeOf(t: number, what: string): DType {
  const d = DTYPE[t];
  if (!d)
    throw new UnsupportedError(
      `${what}: element type ${onnxTypeName(t)} is not supported (float, float16, int32, int64, bool)`,
    );
  return d[0];
}

export const ONNX_OF: Record<DType, number> = {
  f32: T.FLOAT,
  f16: T.FLOAT16,
  i32: T.INT32,
  i64: T.INT64,
  bool: T.BOOL,
};

/** Largest tensor read from a file: checked before anything is allocated. */
const MAX_ELEMENTS = 2 ** 31 - 1;

/**
 * A TensorProto's values. Sizes are checked against the data actually present before any
 * allocation; external data is refused (the file's folder is not read).
 */
export function tensorFromProto(t: TensorProto, what: string, file?: string): Tensor {
  const where = file ? { file } : {};
  if (
    (t.externalData?.length ?? 0) > 0 ||
    t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL
  )
    throw new UnsupportedError(`${what}: tensors with external data are not supported`, where);
  const dtype = dtypeOf(t.dataType ?? 0, what);
  const shape = (t.dims ?? []).map((d) => int(d, `${what} dims`));
  if (shape.some((d) => d < 0))
    throw new FormatError(`${what}: negative dim in [${shape.join(',')}]`, where);
  const n = shape.reduce((a, d) => a * d, 1);
  if (n > MAX_ELEMENTS)
    throw new FormatError(`${what}: ${n} elements declared, more than ${MAX_ELEMENTS}`, where);
  const size = DTYPE[t.dataType!]![1];
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const fields: [string, ArrayLike<unknown> | null | undefined][] = [
    ['float_data', t.floatData],
    ['int32_data', t.int32Data],
    ['int64_data', t.int64Data],
  ];
  const field = fields.find(([, f]) => f && f.length > 0);
  const have = raw ? raw.length / size : (field?.[1]?.length ?? 0);
  if (have !== n)
    throw new FormatError(
      `${what}: [${shape.join(',')}] needs ${n} ${onnxTypeName(t.dataType!)} values, the data holds ${have}`,
      where,
    );
  checkAllocation(n * 8, `${what} ${dtype}[${shape.join(',')}] (float64 while read)`);
  if (raw) {
    // Copy: protobuf's view may be unaligned for the element size.
    const bytes = raw.slice();
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const vals = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      switch (dtype) {
        case 'f32':
          vals[i] = view.getFloat32(i * 4, true);
          break;
        case 'f16':
          vals[i] = f16ToF32(view.getUint16(i * 2, true));
          break;
        case 'i32':
          vals[i] = view.getInt32(i * 4, true);
          break;
        case 'i64': {
          const v = view.getBigInt64(i * 8, true);
          vals[i] = int64Value(v, what, where);
          break;
        }
        default:
          vals[i] = bytes[i]! !== 0 ? 1 : 0;
      }
    }
    return fromNumbers(dtype, shape, vals);
  }
  const vals = new Float64Array(n);
  if (field?.[0] === 'int64_data') {
    const src = field[1] as ArrayLike<number | { toNumber(): number; toString(): string }>;
    for (let i = 0; i < n; i++) vals[i] = int64Value(BigInt(src[i]!.toString()), what, where);
  } else if (n > 0) {
    const src = field![1] as ArrayLike<number>;
    // float16 values travel as their bit patterns in int32_data.
    for (let i = 0; i < n; i++) vals[i] = dtype === 'f16' ? f16ToF32(src[i]!) : src[i]!;
  }
  return fromNumbers(dtype, shape, vals);
}

/**
 * An int64 element as a number: exact within ±2^53; at or past ±2^62 the "unbounded"
 * sentinels exporters write (INT64_MAX, INT64_MIN + 1 for Python's open slices),
 * saturated to ±(2^53 − 1), which every bound it serves clamps alike (as data the
 * backends' i64 → i32 range check refuses either); in between, an error.
 */
function int64Value(v: bigint, what: string, where: object): number {
  if (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER))
    return Number(v);
  if (v >= 2n ** 62n) return Number.MAX_SAFE_INTEGER;
  if (v <= -(2n ** 62n)) return Number.MIN_SAFE_INTEGER;
  throw new UnsupportedError(`${what}: int64 value ${v} is beyond 2^53`, where);
}

/** A tensor as a TensorProto with little-endian raw_data. */
export function tensorToProto(t: Tensor, name: string): TensorProto {
  const d = t.data;
  const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice();
  return { name, dataType: ONNX_OF[t.dtype], dims: [...t.shape], rawData: bytes };
}
