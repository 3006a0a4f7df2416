import type { Dim, Shape } from '../shape.js';
import { broadcastShapes, normAxis } from '../shape.js';
import type { TensorType } from '../types.js';
import { defineOp, fail } from './define.js';

export interface TransposeAttrs {
  perm: readonly number[];
}
export const transpose = defineOp<TransposeAttrs>({
  name: 'transpose',
  doc: 'permute axes: output axis i is input axis perm[i]',
  inputs: [{ name: 'x' }],
  attrs: { perm: { kind: 'ints', required: true, doc: 'a permutation of 0..rank-1' } },
  infer: (inputs, a) => {
    const x = inputs[0]!;
    const r = x.shape.length;
    const seen = new Set(a.perm);
    if (a.perm.length !== r || seen.size !== r || a.perm.some((p) => !(p >= 0 && p < r)))
      fail(`perm [${a.perm.join(',')}] is not a permutation of rank ${r}`, inputs);
    return [{ dtype: x.dtype, shape: a.perm.map((p) => x.shape[p]!) }];
  },
  traits: { category: 'layout' },
});

export interface ReshapeAttrs {
  shape: readonly Dim[];
}

/** Symbolic element count: a numeric factor times a multiset of symbols. */
function factor(s: Shape): { n: number; syms: string[] } {
  let n = 1;
  const syms: string[] = [];
  for (const d of s) typeof d === 'number' ? (n *= d) : syms.push(d);
  return { n, syms: syms.sort() };
}

/**
 * Reshape target: numbers, symbols, 0 (copy the input dim at that position) and one -1
 * (inferred). With symbols, -1 is inferred when the element counts divide exactly as
 * products of numbers and symbols.
 */
export function reshapeTarget(inShape: Shape, target: readonly Dim[]): Shape | string {
  const out: Dim[] = target.map((d, i) => (d === 0 ? (inShape[i] ?? d) : d));
  if (target.some((d, i) => d === 0 && i >= inShape.length))
    return 'a 0 in shape has no input dim to copy';
  if (out.some((d) => typeof d === 'number' && (d < -1 || !Number.isInteger(d))))
    return 'shape entries must be ≥ -1';
  const holes = out.filter((d) => d === -1).length;
  if (holes > 1) return 'at most one -1';
  const fin = factor(inShape);
  const known = factor(out.filter((d) => d !== -1));
  const rest = [...fin.syms];
  for (const s of known.syms) {
    const i = rest.indexOf(s);
    if (i < 0) return `symbol ${s} does not occur in the input shape`;
    rest.splice(i, 1);
  }
  if (holes === 0) {
    if (rest.length > 0 || fin.n !== known.n) return 'element counts differ';
    return out;
  }
  if (known.n === 0 || fin.n % known.n !== 0) return 'element counts do not divide';
  const q = fin.n / known.n;
  let fill: Dim;
  if (rest.length === 0) fill = q;
  else if (rest.length === 1 && q === 1) fill = rest[0]!;
  else return 'the -1 would be a product of symbols; give it explicitly';
  return out.map((d) => (d === -1 ? fill : d));
}

export const reshape = defineOp<ReshapeAttrs>({
  name: 'reshape',
  doc: 'same elements, new shape (row-major); entries may be symbols, 0 (copy) or one -1',
  inputs: [{ name: 'x' }],
  attrs: { shape: { kind: 'dims', required: true, doc: 'target shape' } },
  infer: (inputs, a) => {
    const x = inputs[0]!;
    const s = reshapeTarget(x.shape, a.shape);
    if (typeof s === 'string') fail(`cannot reshape to [${a.shape.join(',')}]: ${s}`, inputs);
    return [{ dtype: x.dtype, shape: s }];
  },
  traits: { category: 'layout', view: true },
});

export interface AxisAttrs {
  axis: number;
}

function axisOf(inputs: readonly TensorType[], axis: number): number {
  const a = normAxis(axis, inputs[0]!.shape.length);
  if (a === undefined)
    fail(`axis ${axis} out of range for rank ${inputs[0]!.shape.length}`, inputs);
  return a;
}

export const concat = defineOp<AxisAttrs>({
  name: 'concat',
  doc: 'join tensors along axis (one or more inputs); the axis must have known sizes',
  inputs: [{ name: 'x' }],
  variadic: true,
  attrs: { axis: { kind: 'int', required: true, doc: 'the axis to join on' } },
  infer: (inputs, a) => {
    const ax = axisOf(inputs, a.axis);
    const first = inputs[0]!;
    let total = 0;
    for (const t of inputs) {
      if (t.dtype !== first.dtype || t.shape.length !== first.shape.length)
        fail('operands differ in dtype or rank', inputs);
      t.shape.forEach((d, i) => {
        if (i !== ax && d !== first.shape[i]) fail(`operands differ on axis ${i}`, inputs);
      });
      const d = t.shape[ax]!;
      if (typeof d !== 'number') fail(`concat axis ${ax} is symbolic (${d})`, inputs);
      total += d;
    }
    return [{ dtype: first.dtype, shape: first.shape.map((d, i) => (i === ax ? total : d)) }];
  },
  traits: { category: 'layout' },
});

export interface SplitAttrs {
  axis: number;
  sizes: readonly number[];
}
export const split = defineOp<SplitAttrs>({
  name: 'split',
  doc: 'cut x along axis into pieces of the given sizes (one output each)',
  inputs: [{ name: 'x' }],
  attrs: {
    axis: { kind: 'int', required: true, doc: 'the axis to cut' },
    sizes: { kind: 'ints', required: true, doc: 'piece sizes; they sum to the axis size' },
  },
  infer: (inputs, a) => {
    const x = inputs[0]!;
    const ax = axisOf(inputs, a.axis);
    const sum = a.sizes.reduce((s, v) => s + v, 0);
    if (a.sizes.length === 0 || a.sizes.some((v) => v < 0) || sum !== x.shape[ax])
      fail(`sizes [${a.sizes.join(',')}] do not sum to axis ${ax} (${x.shape[ax]})`, inputs);
    return a.sizes.map((s) => ({
      dtype: x.dtype,
      shape: x.shape.map((d, i) => (i === ax ? s : d)),
    }));
  },
  traits: { category: 'layout' },
});

export interface SliceAttrs {
  axis: number;
  start: number;
  end: number;
}

/** Clamp python-style [start, end) on a known dim. */
export function sliceRange(dim: number, start: number, end: number): [number, number] {
  const c = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
  const s = c(start);
  return [s, Math.max(s, c(end))];
}

export const slice = defineOp<SliceAttrs>({
  name: 'slice',
  doc: 'x[start:end] along axis (python semantics, negative from the end); on a symbolic axis only the whole range',
  inputs: [{ name: 'x' }],
  attrs: {
    axis: { kind: 'int', required: true, doc: 'the axis' },
    start: { kind: 'int', default: 0, doc: 'first index' },
    end: { kind: 'int', default: 2147483647, doc: 'one past the last index' },
  },
  infer: (inputs, a) => {
    const x = inputs[0]!;
    const ax = axisOf(inputs, a.axis);
    const d = x.shape[ax]!;
    let n: Dim;
    if (typeof d === 'number') {
      const [s, e] = sliceRange(d, a.start, a.end);
      n = e - s;
    } else if (a.start === 0 && a.end >= 2147483647) n = d;
    else fail(`cannot slice symbolic axis ${ax} (${d}) to a fixed range`, inputs);
    return [{ dtype: x.dtype, shape: x.shape.map((v, i) => (i === ax ? n : v)) }];
  },
  traits: { category: 'layout' },
});

export interface ExpandAttrs {
  shape: readonly Dim[];
}
export const expand = defineOp<ExpandAttrs>({
  name: 'expand',
  doc: 'broadcast x to shape (numpy rules; x may have lower rank); copies, so repeated heads (GQA) can be written out',
  inputs: [{ name: 'x' }],
  attrs: { shape: { kind: 'dims', required: true, doc: 'target shape (1 keeps the input dim)' } },
  infer: (inputs, a) => {
    const x = inputs[0]!;
    const b = broadcastShapes([x.shape, a.shape]);
    if (typeof b === 'string') fail(`cannot expand to [${a.shape.join(',')}]: ${b}`, inputs);
    return [{ dtype: x.dtype, shape: b }];
  },
  traits: { category: 'layout' },
});
