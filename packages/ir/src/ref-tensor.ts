/** The reference interpreter's tensors (every dtype as float64) and its broadcasting loops. */
import type { DType } from './dtype.js';
import { broadcastStrides, numel } from './shape.js';

/** A tensor inside the reference interpreter: every dtype held as float64. */
export interface RefTensor {
  readonly dtype: DType;
  readonly shape: number[];
  readonly data: Float64Array;
}

/** A reference tensor of `shape`, zeros unless `data` is given. */
export const refTensor = (dtype: DType, shape: number[], data?: Float64Array): RefTensor => ({
  dtype,
  shape,
  data: data ?? new Float64Array(numel(shape)),
});

/** Visit every index of `shape`, giving the flat offsets into each operand's strides. */
export function forEachIndex(
  shape: number[],
  strides: number[][],
  fn: (out: number, offs: number[]) => void,
) {
  const n = numel(shape);
  const r = shape.length;
  const idx = new Array<number>(r).fill(0);
  const offs = strides.map(() => 0);
  for (let o = 0; o < n; o++) {
    fn(o, offs);
    for (let a = r - 1; a >= 0; a--) {
      idx[a]!++;
      for (let s = 0; s < strides.length; s++) offs[s]! += strides[s]![a]!;
      if (idx[a]! < shape[a]!) break;
      for (let s = 0; s < strides.length; s++) offs[s]! -= strides[s]![a]! * shape[a]!;
      idx[a] = 0;
    }
  }
}

/**
 * `fn` over inputs broadcast to `outShape` (numpy rules): the one broadcasting evaluator,
 * serving the reference's kernels, constant folding and ONNX import's folding.
 */
export function broadcastMap(
  ins: readonly Pick<RefTensor, 'shape' | 'data'>[],
  outShape: number[],
  dtype: DType,
  fn: (...xs: number[]) => number,
): RefTensor {
  const out = refTensor(dtype, outShape);
  const st = ins.map((x) => broadcastStrides(x.shape, outShape));
  forEachIndex(outShape, st, (o, offs) => {
    out.data[o] = fn(...offs.map((off, i) => ins[i]!.data[off]!));
  });
  return out;
}
