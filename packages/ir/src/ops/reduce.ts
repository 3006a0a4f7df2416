import { normAxis, numel } from '../shape.js';
import type { TensorType } from '../types.js';
import { defineOp, fail, FLOATS, NUMERIC } from './define.js';
import type { AxisAttrs } from './layout.js';

export const softmax = defineOp<AxisAttrs>({
  name: 'softmax',
  doc: 'exp(x - max) / Σ exp(x - max) along axis (stable form); a row of only -inf gives NaN',
  inputs: [{ name: 'x', dtypes: FLOATS }],
  attrs: { axis: { kind: 'int', default: -1, doc: 'the axis to normalise' } },
  infer: (inputs, a) => {
    if (normAxis(a.axis, inputs[0]!.shape.length) === undefined)
      fail(`axis ${a.axis} out of range`, inputs);
    return [inputs[0]!];
  },
  traits: { category: 'normalize', flops: (_i, o) => 5 * numel(o[0]!) },
});

export interface ReduceAttrs {
  axes: readonly number[];
  keepdims: boolean;
}

/** Normalised, sorted, distinct axes or a failure. */
export function reduceAxes(inputs: readonly TensorType[], axes: readonly number[]): number[] {
  const r = inputs[0]!.shape.length;
  const norm = axes.map((a) => normAxis(a, r));
  if (norm.some((a) => a === undefined) || new Set(norm).size !== norm.length)
    fail(`axes [${axes.join(',')}] invalid for rank ${r}`, inputs);
  return (norm as number[]).sort((a, b) => a - b);
}

function reduceOp(name: string, doc: string, dtypes = FLOATS) {
  return defineOp<ReduceAttrs>({
    name,
    doc,
    inputs: [{ name: 'x', dtypes }],
    attrs: {
      axes: { kind: 'ints', required: true, doc: 'axes to reduce' },
      keepdims: { kind: 'bool', default: false, doc: 'keep reduced axes as size 1' },
    },
    infer: (inputs, a) => {
      const x = inputs[0]!;
      const ax = reduceAxes(inputs, a.axes);
      const shape = a.keepdims
        ? x.shape.map((d, i) => (ax.includes(i) ? 1 : d))
        : x.shape.filter((_, i) => !ax.includes(i));
      return [{ dtype: x.dtype, shape }];
    },
    traits: { category: 'normalize', flops: (i) => numel(i[0]!) },
  });
}

/** Integer sums too: exporters count a mask's ones with ReduceSum (int32 arithmetic). */
export const reduce_sum = reduceOp(
  'reduce_sum',
  'sum over axes; integer sums wrap as int32 arithmetic does',
  NUMERIC,
);

/**
 * The reductions' scalar semantics, shared by the reference and the JS backend: a start
 * value and a combining function (max keeps the first NaN it meets: NaN propagates).
 */
export type ReduceKind = 'sum' | 'mean' | 'max';
export const REDUCERS: Record<
  ReduceKind,
  { init: number; combine: (acc: number, x: number) => number }
> = {
  sum: { init: 0, combine: (a, x) => a + x },
  mean: { init: 0, combine: (a, x) => a + x },
  max: { init: -Infinity, combine: (a, x) => (x > a || x !== x ? x : a) },
};
export const reduce_mean = reduceOp('reduce_mean', 'mean over axes');
export const reduce_max = reduceOp(
  'reduce_max',
  'max over axes; NaN if any element is NaN; -inf over an empty set',
);

export interface ArgReduceAttrs {
  axis: number;
  keepdims: boolean;
  select_last: boolean;
}

/**
 * argmax / argmin's scalar rule, shared by every backend: from the lane's first element,
 * a later one replaces the best when it compares strictly better (ties keep the first) or,
 * with `select_last`, better or equal (ties take the last). NaN beats every number, for
 * both (numpy's and PyTorch's rule): a lane with NaN gives its first NaN, or its last with
 * `select_last`. (onnxruntime's result there depends on the shape: its inner-axis kernel
 * passes over NaN, its one-dimensional one returns it.)
 */
export type ArgKind = 'max' | 'min';
export function argBetter(kind: ArgKind, last: boolean): (x: number, best: number) => boolean {
  if (kind === 'max')
    return last ? (x, b) => x >= b || x !== x : (x, b) => x > b || (x !== x && b === b);
  return last ? (x, b) => x <= b || x !== x : (x, b) => x < b || (x !== x && b === b);
}

function argOp(kind: ArgKind) {
  return defineOp<ArgReduceAttrs>({
    name: `arg${kind}`,
    doc: `index of the ${kind === 'max' ? 'largest' : 'smallest'} element along axis (i64): the first of equal ones, or the last with select_last; NaN beats every number (numpy, PyTorch; ONNX Arg${kind === 'max' ? 'Max' : 'Min'})`,
    inputs: [{ name: 'x', dtypes: NUMERIC }],
    attrs: {
      axis: { kind: 'int', default: -1, doc: 'the axis searched' },
      keepdims: { kind: 'bool', default: false, doc: 'keep the axis as size 1' },
      select_last: { kind: 'bool', default: false, doc: 'of equal elements, the last' },
    },
    infer: (inputs, a) => {
      const x = inputs[0]!;
      const ax = normAxis(a.axis, x.shape.length);
      if (ax === undefined) fail(`axis ${a.axis} out of range`, inputs);
      if (x.shape[ax] === 0) fail(`arg${kind} over an empty axis has no index`, inputs);
      const shape = a.keepdims
        ? x.shape.map((d, i) => (i === ax ? 1 : d))
        : x.shape.filter((_, i) => i !== ax);
      return [{ dtype: 'i64', shape }];
    },
    traits: { category: 'normalize', flops: (i) => numel(i[0]!) },
  });
}
export const argmax = argOp('max');
export const argmin = argOp('min');

export interface TopkAttrs {
  axis: number;
  k: number;
  largest: boolean;
}

/**
 * topk's order, shared by every backend: whether element (a at index ia) comes before
 * (b at ib) in a lane — larger first (smaller with !largest), equal ones (+0 and −0 are)
 * by the lower index (ONNX's rule), NaN above every number and NaNs equal (PyTorch's
 * torch.topk; onnxruntime's comparator is no order with NaN, so its answer there depends
 * on k and on where the NaN stands). A strict total order: sorting by it is the result.
 */
export function topkBefore(
  largest: boolean,
): (a: number, ia: number, b: number, ib: number) => boolean {
  const above = largest
    ? (a: number, b: number) => a > b || (a !== a && b === b)
    : (a: number, b: number) => a < b || (b !== b && a === a);
  return (a, ia, b, ib) => above(a, b) || (!above(b, a) && ia < ib);
}

export const topk = defineOp<TopkAttrs>({
  name: 'topk',
  doc: 'the k largest (smallest) elements along axis, in order, and their indices (i64): equal ones by the lower index, NaN above every number (ONNX TopK, sorted; torch.topk)',
  inputs: [{ name: 'x', dtypes: NUMERIC }],
  attrs: {
    axis: { kind: 'int', default: -1, doc: 'the axis searched' },
    k: { kind: 'int', required: true, doc: 'how many elements each lane gives' },
    largest: { kind: 'bool', default: true, doc: 'the largest (else the smallest) first' },
  },
  infer: (inputs, a) => {
    const x = inputs[0]!;
    const ax = normAxis(a.axis, x.shape.length);
    if (ax === undefined) fail(`axis ${a.axis} out of range`, inputs);
    const d = x.shape[ax]!;
    if (typeof d !== 'number')
      fail(
        `k ${a.k} against the symbolic axis ${d}: k must be at most the axis, known at import`,
        inputs,
      );
    if (!Number.isInteger(a.k) || a.k < 0 || a.k > d)
      fail(`k ${a.k} is not in 0…${d} (the axis)`, inputs);
    const shape = x.shape.map((v, i) => (i === ax ? a.k : v));
    return [
      { dtype: x.dtype, shape },
      { dtype: 'i64', shape },
    ];
  },
  traits: { category: 'normalize', flops: (i) => numel(i[0]!) },
});

export interface CumsumAttrs {
  axis: number;
  exclusive: boolean;
  reverse: boolean;
}
export const cumsum = defineOp<CumsumAttrs>({
  name: 'cumsum',
  doc: 'running sum along axis, in order (from the end with reverse); exclusive leaves out the element itself; integer sums wrap as int32 (ONNX CumSum)',
  inputs: [{ name: 'x', dtypes: NUMERIC }],
  attrs: {
    axis: { kind: 'int', default: -1, doc: 'the axis summed along' },
    exclusive: { kind: 'bool', default: false, doc: 'each sum leaves out its own element' },
    reverse: { kind: 'bool', default: false, doc: 'sum from the end of the axis' },
  },
  infer: (inputs, a) => {
    if (normAxis(a.axis, inputs[0]!.shape.length) === undefined)
      fail(`axis ${a.axis} out of range`, inputs);
    return [inputs[0]!];
  },
  traits: { category: 'normalize', flops: (i) => numel(i[0]!) },
});

export interface LayerNormAttrs {
  axis: number;
  eps: number;
}
/** A normalisation's type: x's; weight and bias (if given) of the normalised shape. */
function normInfer(inputs: readonly TensorType[], a: LayerNormAttrs): TensorType[] {
  const x = inputs[0]!;
  const ax = normAxis(a.axis, x.shape.length);
  if (ax === undefined) fail(`axis ${a.axis} out of range`, inputs);
  const norm = x.shape.slice(ax);
  for (const p of inputs.slice(1)) {
    if (p.shape.length !== norm.length || p.shape.some((d, i) => d !== norm[i]))
      fail(`weight and bias must have the normalised shape [${norm.join(',')}]`, inputs);
  }
  return [x];
}

export const layer_norm = defineOp<LayerNormAttrs>({
  name: 'layer_norm',
  doc: '(x - mean) / √(var + eps) · weight + bias over axes axis..end (biased variance, as nn.LayerNorm)',
  inputs: [
    { name: 'x', dtypes: FLOATS },
    { name: 'weight', dtypes: FLOATS, optional: true },
    { name: 'bias', dtypes: FLOATS, optional: true },
  ],
  attrs: {
    axis: { kind: 'int', default: -1, doc: 'first normalised axis' },
    eps: { kind: 'float', default: 1e-5, doc: 'added to the variance' },
  },
  infer: normInfer,
  traits: { category: 'normalize', flops: (_i, o) => 8 * numel(o[0]!) },
});
export const rms_norm = defineOp<LayerNormAttrs>({
  name: 'rms_norm',
  doc: 'x / √(mean(x²) + eps) · weight over axes axis..end (RMSNorm; ONNX RMSNormalization, SimplifiedLayerNormalization)',
  inputs: [
    { name: 'x', dtypes: FLOATS },
    { name: 'weight', dtypes: FLOATS, optional: true },
  ],
  attrs: {
    axis: { kind: 'int', default: -1, doc: 'first normalised axis' },
    eps: { kind: 'float', default: 1e-5, doc: 'added to the mean square' },
  },
  infer: normInfer,
  traits: { category: 'normalize', flops: (_i, o) => 5 * numel(o[0]!) },
});
