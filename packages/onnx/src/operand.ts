import type { AttrsOf, Dim, DType, GraphBuilder, OpName, Tensor, Val } from '@glimpse/ir';
import {
  buildGraph,
  checkAllocation,
  concreteShape,
  formatBytes,
  fromNumbers,
  memoryBudget,
  interpret,
  numel,
  toNumbers,
  UnsupportedError,
} from '@glimpse/ir';

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

// ---- the memory budget of an import ----
// Every constant the import holds is float64 (8 bytes an element) and lives until the graph
// is built: their sum is checked against the memory budget before each is allocated, so a
// ConstantOfShape, Pad, Expand or Tile of 2³¹ elements is one MemoryError (the importer adds
// the file, node and op), not gigabytes.
let held: number | undefined;

/** Run an import with its own tally of the constants it holds. */
export function withImportTally<T>(f: () => T): T {
  const outer = held;
  held = 0;
  try {
    return f();
  } finally {
    held = outer;
  }
}

/** Check a constant of `shape` against the budget (with those held before it), before allocating it. */
export function reserveConst(dtype: DType, shape: readonly number[]): void {
  const bytes = numel(shape) * 8;
  const before = held ?? 0;
  // The constants before it are named only where they make the difference.
  const others =
    bytes <= memoryBudget() ? `, with ${formatBytes(before)} of constants before it` : '';
  checkAllocation(
    before + bytes,
    `the constant ${dtype}[${shape.join(',')}] (float64 while folded${others})`,
  );
  if (held !== undefined) held += bytes;
}

export function constOf(dtype: DType, shape: readonly number[], data: ArrayLike<number>): Const {
  reserveConst(dtype, shape);
  return { kind: 'const', dtype, shape: [...shape], data: Float64Array.from(data) };
}

/** `shape` filled with `value` (ConstantOfShape, Pad's blocks), checked before it is allocated. */
export function filledConst(dtype: DType, shape: readonly number[], value: number): Const {
  reserveConst(dtype, shape);
  return {
    kind: 'const',
    dtype,
    shape: [...shape],
    data: new Float64Array(numel(shape)).fill(value),
  };
}

export function constFromTensor(t: Tensor, param?: string): Const {
  reserveConst(t.dtype, t.shape);
  return {
    kind: 'const',
    dtype: t.dtype,
    shape: [...t.shape],
    data: toNumbers(t),
    ...(param ? { param } : {}),
  };
}

// ---- symbolic dims in shape values ----
// Shape(x) of an x with symbolic dims is a shape value whose elements are numbers or
// symbols. It is a Const whose symbolic elements hold a sentinel (-2⁴⁰ − k for symbol k),
// so the ops that only move elements (gather, slice, concat, reshape, cast) fold it as
// they fold any constant and carry the symbols exactly. Nothing may compute with a
// sentinel: any other op on one is refused (`checkSymbolic`), as is using such a value
// as data or as anything but a shape (`ints`).
const SENTINEL = -(2 ** 40);
const symbolNames: string[] = [];
/** Whether an element of a shape value stands for a symbol. */
export const isSymbolElement = (x: number) => x <= SENTINEL && x > SENTINEL - 2 ** 30;

/** The element standing for symbol `name` in a shape value. */
export function symbolElement(name: string): number {
  let k = symbolNames.indexOf(name);
  if (k < 0) k = symbolNames.push(name) - 1;
  return SENTINEL - k;
}

/** Symbols a constant carries (empty for an ordinary constant). */
export function symbolsIn(o: Const): string[] {
  // A loop, not Array.from: a constant may hold hundreds of millions of elements.
  const out: string[] = [];
  for (const x of o.data) if (isSymbolElement(x)) out.push(symbolNames[SENTINEL - x] ?? '?');
  return out;
}

/** A shape value's elements as dims: numbers, or the symbols they stand for. */
export function dimsOf(o: Const): Dim[] {
  return Array.from(o.data, (x) =>
    isSymbolElement(x) ? symbolNames[SENTINEL - x]! : Math.trunc(x),
  );
}

/** Ops that only move elements: the ones a shape value with symbols may go through. */
const MOVES_ONLY = new Set<OpName>([
  'gather',
  'slice',
  'concat',
  'reshape',
  'split',
  'transpose',
  'expand',
]);

/** Refuse computing `what` on constants that carry symbolic dims. */
export function checkSymbolic(what: string, xs: readonly (Const | undefined)[]): void {
  if (MOVES_ONLY.has(what as OpName)) return;
  const syms = xs.flatMap((x) => (x ? symbolsIn(x) : []));
  if (syms.length)
    throw new UnsupportedError(
      `${what} on a shape value with symbolic dims (${[...new Set(syms)].join(', ')}): glimpse's dims are numbers or single symbols, so arithmetic that would make a product or sum of symbols is not supported (export with static shapes)`,
    );
}

/** Constants this small become `constant` nodes (the optimizer folds and matches them); larger ones params. */
const INLINE_MAX = 16;

const materialised = new WeakMap<Const, Val>();

/** The graph value of an operand, creating a param or constant node for a constant once. */
export function valOf(b: GraphBuilder, o: Operand, hint: string): Val {
  if (o.kind === 'val') return o.val;
  checkSymbolic('use as data', [o]);
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

/** The values of a constant as plain numbers (axes, sizes, indices; no symbols). */
export function ints(o: Const): number[] {
  checkSymbolic('a static value (axes, sizes, indices)', [o]);
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
  checkSymbolic(op, xs);
  // Sentinels are beyond i32: an i32 shape value with symbols moves as i64 (exact to 2⁵³).
  const narrow = xs.some((x) => x.dtype === 'i32' && symbolsIn(x).length > 0);
  if (narrow) xs = xs.map((x) => (x.dtype === 'i32' ? { ...x, dtype: 'i64' as DType } : x));
  const g = buildGraph('fold', (b) =>
    b.opN(
      op,
      xs.map((x, i) => b.input(`c${i}`, x.dtype, x.shape)),
      attrs,
      Array.from({ length: outputs }, (_, i) => `y${i}`),
    ),
  );
  // The outputs' shapes are known now: checked before the interpreter allocates them.
  for (const o of g.outputs)
    reserveConst(g.typeOf(o).dtype, concreteShape(g.typeOf(o).shape, {}, o));
  const r = interpret(
    g,
    Object.fromEntries(xs.map((x, i) => [`c${i}`, fromNumbers(x.dtype, x.shape, x.data)])),
  );
  return g.outputs.map((o) => {
    const dt = g.typeOf(o).dtype;
    const { shape, data } = r[o]!;
    return { kind: 'const', dtype: narrow && dt === 'i64' ? 'i32' : dt, shape, data };
  });
}
