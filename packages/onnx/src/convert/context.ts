/** What every converter shares: the node's context, its attributes, operand helpers, `emit`. */
import type { AttrsOf, Dim, DType, GraphBuilder, OpName, Val } from '@glimpse/ir';
import { UnsupportedError } from '@glimpse/ir';
import type { AttributeProto } from '../proto.js';
import { int } from '../proto.js';
import type { Const, Operand } from '../operand.js';
import { evalOp, shapeOf, valOf } from '../operand.js';

/** What a converter sees of the node it converts. */
export interface Cx {
  readonly b: GraphBuilder;
  readonly name: string;
  readonly op: string;
  readonly opset: number;
  readonly attrs: ReadonlyMap<string, AttributeProto>;
  /** Names of the node's outputs ('' for an omitted optional output). */
  readonly outputs: readonly string[];
}

/** A converter: ONNX inputs (undefined where omitted) → one operand per output. */
export type Converter = (ins: readonly (Operand | undefined)[], cx: Cx) => Operand[];

export function unsupported(cx: Cx, what: string): never {
  throw new UnsupportedError(`${cx.op} ${what}`, { node: cx.name, op: cx.op });
}

// ---- attributes ----
export const attr = (cx: Cx, n: string) => cx.attrs.get(n);
export function attrInt(cx: Cx, n: string, dflt: number): number {
  const a = attr(cx, n);
  return a ? int(a.i, `${cx.name}.${n}`) : dflt;
}
export function attrFloat(cx: Cx, n: string, dflt: number): number {
  const a = attr(cx, n);
  return a ? (a.f ?? 0) : dflt;
}
export function attrInts(cx: Cx, n: string): number[] | undefined {
  const a = attr(cx, n);
  return a ? (a.ints ?? []).map((x) => int(x, `${cx.name}.${n}`)) : undefined;
}

// ---- helpers ----
export const val = (cx: Cx, o: Operand, hint = 'c') =>
  valOf(cx.b, o, `${cx.name || cx.op}_${hint}`);
/** A new value name for the node's intermediate `hint`. */
export const fresh = (cx: Cx, hint: string) => cx.b.fresh(`${cx.name}_${hint}`);
export const out = (cx: Cx, i = 0) => cx.outputs[i] || `${cx.name || cx.op}_out${i}`;
export const dyn = (v: Val): Operand => ({ kind: 'val', val: v });
export const isConst = (o: Operand | undefined): o is Const => o?.kind === 'const';
export const allConst = (ins: readonly (Operand | undefined)[]): ins is Const[] =>
  ins.every((o) => o === undefined || o.kind === 'const');

export function need(cx: Cx, ins: readonly (Operand | undefined)[], i: number): Operand {
  const o = ins[i];
  if (!o) unsupported(cx, `needs input ${i}`);
  return o;
}
export function needConst(
  cx: Cx,
  ins: readonly (Operand | undefined)[],
  i: number,
  what: string,
): Const {
  const o = need(cx, ins, i);
  if (o.kind !== 'const')
    unsupported(
      cx,
      `with a computed ${what} (input ${i}) is not supported: it must be constant or fold to one (a graph input feeding it can be given a value at import: importOnnx's constants, or glimpse run --inputs)`,
    );
  return o;
}
/** A static shape, or an UnsupportedError saying which symbolic dims stop the import. */
export function staticShape(cx: Cx, o: Operand, what: string): number[] {
  const s = shapeOf(o);
  if (s.some((d) => typeof d !== 'number'))
    unsupported(
      cx,
      `on ${what} of symbolic shape [${s.join(',')}]: symbolic shape arithmetic is not supported yet`,
    );
  return s as number[];
}

export const isIntType = (d: DType) => d === 'i32' || d === 'i64';

/** The constant 0, 1, …, n − 1 (key or position indices) of `dtype`, viewed as `shape`. */
export function indices(
  cx: Cx,
  n: number,
  dtype: DType,
  shape: readonly number[],
  hint: string,
): Val {
  return cx.b.constant(
    Array.from({ length: n }, (_, i) => i),
    dtype,
    [...shape],
    fresh(cx, hint),
  );
}

/**
 * 0, 1, …, n − 1 of `dtype` along one axis: a constant for a number; for a symbolic dim the
 * exclusive running sum of n ones (exact: the sums are integers, below 2²⁴ in f32).
 */
export function arange(cx: Cx, n: Dim, dtype: DType, name = fresh(cx, 'arange')): Val {
  if (typeof n === 'number') return indices(cx, n, dtype, [n], name);
  const one = cx.b.constant(1, dtype, [], fresh(cx, 'one'));
  const ones = cx.b.op('expand', [one], { shape: [n] }, fresh(cx, 'ones'));
  return cx.b.op('cumsum', [ones], { axis: 0, exclusive: true, reverse: false }, name);
}

/**
 * The glimpse op on the node's operands — folded by the reference interpreter when all of
 * them are constants (the shape arithmetic of exporters), else a node of the graph.
 */
export function emit<K extends OpName>(
  cx: Cx,
  op: K,
  xs: readonly Operand[],
  attrs: Partial<AttrsOf<K>> = {},
  name = out(cx),
): Operand {
  if (allConst(xs)) return evalOp(op, xs, attrs)[0]!;
  return dyn(
    cx.b.op(
      op,
      xs.map((x, i) => val(cx, x, `in${i}`)),
      attrs,
      name,
    ),
  );
}
