import type { AttrsOf, DType, GraphBuilder, OpName, Tensor, Val } from '@glimpse/ir';
import { buildGraph, fromNumbers, interpret, toNumbers } from '@glimpse/ir';

/**
 * What an ONNX value is while importing: a constant known now (initializers, Constant
 * nodes and whatever folds from them: the shape arithmetic of exporters), or a value of the
 * graph being built. Constants become graph values only when an op that does not fold
 * needs them.
 */
export interface Const {
  readonly kind: 'const';
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Float64Array;
  /** Initializer name: materialised as a param of that name (frozen weights). */
  readonly param?: string;
}
export interface Dyn {
  readonly kind: 'val';
  readonly val: Val;
}
export type Operand = Const | Dyn;

export function constOf(dtype: DType, shape: readonly number[], data: ArrayLike<number>): Const {
  return { kind: 'const', dtype, shape: [...shape], data: Float64Array.from(data) };
}

export function constFromTensor(t: Tensor, param?: string): Const {
  return {
    kind: 'const',
    dtype: t.dtype,
    shape: [...t.shape],
    data: toNumbers(t),
    ...(param ? { param } : {}),
  };
}

/** Constants this small become `constant` nodes (the optimizer folds and matches them); larger ones params. */
const INLINE_MAX = 16;

const materialised = new WeakMap<Const, Val>();

/** The graph value of an operand, creating a param or constant node for a constant once. */
export function valOf(b: GraphBuilder, o: Operand, hint: string): Val {
  if (o.kind === 'val') return o.val;
  const done = materialised.get(o);
  if (done) return done;
  const n = o.data.length;
  let v: Val;
  if (n <= INLINE_MAX || (o.param === undefined && n > 0 && o.data.every((x) => x === o.data[0])))
    v = b.constant(
      n > INLINE_MAX ? [o.data[0]!] : Array.from(o.data),
      o.dtype,
      o.shape,
      b.fresh(o.param ?? hint),
    );
  else
    v = b.param(b.fresh(o.param ?? hint), o.dtype, o.shape, {
      kind: 'data',
      data: fromNumbers(o.dtype, o.shape, o.data).data,
    });
  materialised.set(o, v);
  return v;
}

export function shapeOf(o: Operand): readonly (number | string)[] {
  return o.kind === 'const' ? o.shape : o.val.type.shape;
}

export function dtypeOfOperand(o: Operand): DType {
  return o.kind === 'const' ? o.dtype : o.val.type.dtype;
}

/** The values of a constant as plain numbers (axes, sizes, shapes). */
export function ints(o: Const): number[] {
  return Array.from(o.data, (x) => Math.trunc(x));
}

/**
 * An op evaluated on constants by the reference interpreter: the same semantics as the
 * op in a graph (one definition), for folding at import. One Const per output.
 */
export function evalOp<K extends OpName>(
  op: K,
  xs: readonly Const[],
  attrs: Partial<AttrsOf<K>>,
  outputs = 1,
): Const[] {
  const g = buildGraph('fold', (b) =>
    b.opN(
      op,
      xs.map((x, i) => b.input(`c${i}`, x.dtype, x.shape)),
      attrs,
      Array.from({ length: outputs }, (_, i) => `y${i}`),
    ),
  );
  const r = interpret(
    g,
    Object.fromEntries(xs.map((x, i) => [`c${i}`, fromNumbers(x.dtype, x.shape, x.data)])),
  );
  return g.outputs.map((o) => constOf(g.typeOf(o).dtype, r[o]!.shape, r[o]!.data));
}
