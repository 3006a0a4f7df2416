import { broadcastShapes, numel } from '../shape.js';
import type { TensorType } from '../types.js';
import { defineOp, fail, FLOATS } from './define.js';

export const linear = defineOp<Record<string, never>>({
  name: 'linear',
  doc: 'x·Wᵀ + b over the last axis; W in PyTorch layout [out, in]',
  inputs: [
    { name: 'x', dtypes: FLOATS },
    { name: 'weight', dtypes: FLOATS },
    { name: 'bias', dtypes: FLOATS, optional: true },
  ],
  attrs: {},
  infer: (inputs) => {
    const [x, w, b] = inputs as [TensorType, TensorType, TensorType | undefined];
    if (x.shape.length < 1) fail('x must have rank ≥ 1', inputs);
    if (w.shape.length !== 2) fail('weight must be [out, in]', inputs);
    const inX = x.shape[x.shape.length - 1];
    const [out, inW] = w.shape as [string | number, string | number];
    if (inX !== inW) fail(`x has ${inX} features but weight expects ${inW}`, inputs);
    if (b !== undefined && (b.shape.length !== 1 || b.shape[0] !== out))
      fail(`bias must be [${out}]`, inputs);
    if (inputs.some((t) => t.dtype !== x.dtype)) fail('operands have different dtypes', inputs);
    return [{ dtype: x.dtype, shape: [...x.shape.slice(0, -1), out] }];
  },
  traits: {
    category: 'matmul',
    flops: (i, o) => 2 * numel(o[0]!) * i[0]!.at(-1)! + (i.length > 2 ? numel(o[0]!) : 0),
  },
});

export interface BmmAttrs {
  transpose_a: boolean;
  transpose_b: boolean;
}

/** [..., M, K] of an operand, honouring a transpose flag. */
export function matrixDims<T>(shape: readonly T[], transposed: boolean): [T, T] {
  const r = shape[shape.length - 2]!;
  const c = shape[shape.length - 1]!;
  return transposed ? [c, r] : [r, c];
}

export const bmm = defineOp<BmmAttrs>({
  name: 'bmm',
  doc: 'batched matmul a·b over the last two axes, broadcasting leading axes; either side may be read transposed',
  inputs: [
    { name: 'a', dtypes: FLOATS },
    { name: 'b', dtypes: FLOATS },
  ],
  attrs: {
    transpose_a: { kind: 'bool', default: false, doc: 'read a as its transpose' },
    transpose_b: { kind: 'bool', default: false, doc: 'read b as its transpose' },
  },
  infer: (inputs, at) => {
    const [a, b] = inputs as [TensorType, TensorType];
    if (a.shape.length < 2 || b.shape.length < 2) fail('operands must have rank ≥ 2', inputs);
    if (a.dtype !== b.dtype) fail('operands have different dtypes', inputs);
    const [m, k1] = matrixDims(a.shape, at.transpose_a);
    const [k2, n] = matrixDims(b.shape, at.transpose_b);
    if (k1 !== k2) fail(`inner dims ${k1} and ${k2} differ`, inputs);
    const batch = broadcastShapes([a.shape.slice(0, -2), b.shape.slice(0, -2)]);
    if (typeof batch === 'string') fail(`batch ${batch}`, inputs);
    return [{ dtype: a.dtype, shape: [...batch, m, n] }];
  },
  traits: {
    category: 'matmul',
    flops: (i, o, a) => 2 * numel(o[0]!) * matrixDims(i[0]!, a.transpose_a)[1],
  },
});
