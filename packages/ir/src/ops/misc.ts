import type { DType } from '../dtype.js';
import { DTYPES } from '../dtype.js';
import { RuntimeError } from '../errors.js';
import { numel, stridesOf } from '../shape.js';
import type { Dim } from '../shape.js';
import type { TensorType } from '../types.js';
import { defineOp, fail, FLOATS, INTS } from './define.js';

export const embedding = defineOp<Record<string, never>>({
  name: 'embedding',
  doc: 'rows of weight [num, dim] picked by integer ids: out = ids.shape + [dim]; an id outside 0..num-1 is an error',
  inputs: [
    { name: 'ids', dtypes: INTS },
    { name: 'weight', dtypes: FLOATS },
  ],
  attrs: {},
  infer: (inputs) => {
    const [ids, w] = inputs as [TensorType, TensorType];
    if (w.shape.length !== 2) fail('weight must be [num, dim]', inputs);
    return [{ dtype: w.dtype, shape: [...ids.shape, w.shape[1]!] }];
  },
  traits: { category: 'layout' },
});

export interface GatherAttrs {
  axis: number;
}
export const gather = defineOp<GatherAttrs>({
  name: 'gather',
  doc: 'entries of x along axis picked by integer indices (negative count from the end): out = x.shape[:axis] + indices.shape + x.shape[axis+1:]; an index outside [-n, n) is an error',
  inputs: [{ name: 'x' }, { name: 'indices', dtypes: INTS }],
  attrs: { axis: { kind: 'int', default: 0, doc: 'the axis to pick along' } },
  infer: (inputs, a) => {
    const [x, idx] = inputs as [TensorType, TensorType];
    const ax = a.axis < 0 ? a.axis + x.shape.length : a.axis;
    if (!(ax >= 0 && ax < x.shape.length))
      fail(`axis ${a.axis} out of range for rank ${x.shape.length}`, inputs);
    return [
      { dtype: x.dtype, shape: [...x.shape.slice(0, ax), ...idx.shape, ...x.shape.slice(ax + 1)] },
    ];
  },
  traits: { category: 'layout' },
});

export const gather_elements = defineOp<GatherAttrs>({
  name: 'gather_elements',
  doc: 'out[p] = x[p with its axis coordinate replaced by indices[p]] (ONNX GatherElements, torch.gather): out has the shape of indices, of the rank of x, no larger than x on the other axes; an index outside [-n, n) is an error',
  inputs: [{ name: 'x' }, { name: 'indices', dtypes: INTS }],
  attrs: { axis: { kind: 'int', default: 0, doc: 'the axis to pick along' } },
  infer: (inputs, a) => {
    const [x, idx] = inputs as [TensorType, TensorType];
    const r = x.shape.length;
    const ax = a.axis < 0 ? a.axis + r : a.axis;
    if (!(ax >= 0 && ax < r)) fail(`axis ${a.axis} out of range for rank ${r}`, inputs);
    if (idx.shape.length !== r) fail('indices must have the rank of x', inputs);
    // Past x on another axis, a position would read outside x. Symbols are sizes only known
    // at run time, so a dim other than x's own symbol cannot be proven to fit: refused too.
    idx.shape.forEach((d, i) => {
      const n = x.shape[i]!;
      const fits = d === n || (typeof d === 'number' && typeof n === 'number' && d <= n);
      if (i !== ax && !fits) fail(`indices dim ${i} (${d}) does not fit x's (${n})`, inputs);
    });
    return [{ dtype: x.dtype, shape: idx.shape }];
  },
  traits: { category: 'layout' },
});

/**
 * gather_elements' addressing, one place for the reference and the CPU kernels: the flat
 * position in x that output position `p` reads when its index is `raw`, checked against
 * [-n, n) (a RuntimeError naming `node`, the node's output).
 */
export function gatherElementsIndexer(
  xShape: readonly number[],
  idxShape: readonly number[],
  axis: number,
  node: { readonly outputs: readonly string[] },
): (p: number, raw: number) => number {
  const ax = axis < 0 ? axis + xShape.length : axis;
  const xst = stridesOf(xShape);
  const n = xShape[ax]!;
  return (p, raw) => {
    if (!(raw >= -n && raw < n))
      throw new RuntimeError(
        `gather_elements index ${raw} out of range [${-n}, ${n}) at position ${p}`,
        { node: node.outputs[0]!, op: 'gather_elements' },
      );
    let at = (raw < 0 ? raw + n : raw) * xst[ax]!;
    for (let i = idxShape.length - 1, q = p; i >= 0; i--) {
      const d = idxShape[i]!;
      if (i !== ax) at += (q % d) * xst[i]!;
      q = Math.floor(q / d);
    }
    return at;
  };
}

export interface ConstantAttrs {
  dtype: DType;
  shape: readonly number[];
  value: readonly number[];
}
/** A constant's elements, row-major (one given value fills the shape). */
export function constantValues(a: ConstantAttrs): number[] {
  const n = a.shape.reduce((p, d) => p * d, 1);
  return a.value.length === 1 ? new Array<number>(n).fill(a.value[0]!) : [...a.value];
}

export const constant = defineOp<ConstantAttrs>({
  name: 'constant',
  doc: 'a small literal tensor; value holds its elements row-major, or one element to fill it',
  inputs: [],
  attrs: {
    dtype: { kind: 'enum', values: DTYPES, default: 'f32', doc: 'element type' },
    shape: { kind: 'ints', default: [], doc: 'shape; [] is a scalar' },
    value: { kind: 'floats', required: true, doc: 'elements (nan, inf, -inf allowed)' },
  },
  infer: (_inputs, a) => {
    const n = a.shape.reduce((p, d) => p * d, 1);
    if (a.shape.some((d) => d < 0)) fail(`negative dim in [${a.shape.join(',')}]`);
    if (a.value.length !== n && a.value.length !== 1)
      fail(`value has ${a.value.length} elements, shape [${a.shape.join(',')}] needs ${n}`);
    return [{ dtype: a.dtype, shape: a.shape }];
  },
  traits: { category: 'source' },
});

export interface TrilAttrs {
  k: number;
}
export const tril = defineOp<TrilAttrs>({
  name: 'tril',
  doc: 'bool[R, C] with true where col - row ≤ k, sized by the last two dims of x (a causal mask)',
  inputs: [{ name: 'x', shapeOnly: true }],
  attrs: { k: { kind: 'int', default: 0, doc: 'diagonal offset' } },
  infer: (inputs) => {
    const s = inputs[0]!.shape;
    if (s.length < 2) fail('x must have rank ≥ 2', inputs);
    const shape: Dim[] = [s[s.length - 2]!, s[s.length - 1]!];
    return [{ dtype: 'bool', shape }];
  },
  traits: { category: 'source' },
});

export const depthwise = defineOp<Record<string, never>>({
  name: 'depthwise',
  doc: 'y[n, p, c] = Σₖ x[n, idx[p, k], c] · w[k, c] (+ b[c]), k in order, an idx of −1 reading 0 (padding): a depthwise convolution over windows of positions (x [N, S, C], idx [P, K], w [K, C]); an index outside [−1, S) is an error',
  inputs: [
    { name: 'x', dtypes: FLOATS },
    { name: 'idx', dtypes: INTS },
    { name: 'w', dtypes: FLOATS },
    { name: 'b', dtypes: FLOATS, optional: true },
  ],
  attrs: {},
  infer: (inputs) => {
    const [x, idx, w, b] = inputs as [TensorType, TensorType, TensorType, TensorType?];
    if (x.shape.length !== 3 || idx.shape.length !== 2 || w.shape.length !== 2)
      fail('x must be [N, S, C], idx [P, K] and w [K, C]', inputs);
    const [N, , C] = x.shape as [Dim, Dim, Dim];
    const [P, K] = idx.shape as [Dim, Dim];
    if (w.shape[0] !== K || w.shape[1] !== C || (b && (b.shape.length !== 1 || b.shape[0] !== C)))
      fail(`w must be [${K}, ${C}] and b [${C}]`, inputs);
    if (w.dtype !== x.dtype || (b && b.dtype !== x.dtype))
      fail('x, w and b differ in dtype', inputs);
    return [{ dtype: x.dtype, shape: [N, P, C] }];
  },
  traits: { category: 'matmul', flops: (i, o) => 2 * numel(o[0]!) * i[1]![1]! },
});
