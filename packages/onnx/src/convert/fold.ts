/** Evaluation on constants at import: the reference's broadcasting, shape arithmetic with symbols, fold-only ops. */
import type { NamedOp } from '../names.js';
import type { CompareOp, DType } from '@glimpse/ir';
import { broadcastMap, OPS, broadcastShapes } from '@glimpse/ir';
import type { Const } from '../operand.js';
import { checkSymbolic, constOf, isSymbolElement, symbolsIn } from '../operand.js';

import { allConst, emit, isConst, need, unsupported } from './context.js';
import type { Converter } from './context.js';

/** Elementwise on constants with numpy broadcasting (`what` names it if symbols are refused). */
export function constMap(
  dtype: DType,
  xs: readonly Const[],
  f: (...v: number[]) => number,
  what: string | undefined,
): Const {
  if (what !== undefined) checkSymbolic(what, xs);
  const shape = broadcastShapes(xs.map((x) => x.shape)) as number[];
  const r = broadcastMap(
    xs.map((x) => ({ shape: [...x.shape], data: x.data })),
    shape,
    dtype,
    f,
  );
  return constOf(dtype, shape, r.data);
}

export function binary(op: 'add' | 'sub' | 'mul' | 'div'): Converter {
  return (ins, cx) => {
    const [a, b] = [need(cx, ins, 0), need(cx, ins, 1)];
    if (isConst(a) && isConst(b) && symbolsIn(a).length + symbolsIn(b).length > 0)
      return [symbolicArith(op, a, b)];
    return [emit(cx, op, [a, b])];
  };
}

/**
 * Arithmetic on shape values with symbolic dims: only what leaves a symbol a symbol
 * (x·1, 1·x, x/1, x ± 0, 0 + x) or involves none; anything else would need a product or
 * sum of dims, which glimpse's shapes do not have.
 */
export function symbolicArith(op: 'add' | 'sub' | 'mul' | 'div', a: Const, b: Const): Const {
  const id = op === 'mul' || op === 'div' ? 1 : 0;
  const commutes = op === 'mul' || op === 'add';
  const scalar = OPS[op].binary(a.dtype);
  return constMap(
    a.dtype,
    [a, b],
    (x, y) => {
      const [sx, sy] = [isSymbolElement(x), isSymbolElement(y)];
      if (sx && !sy && y === id) return x;
      if (sy && !sx && x === id && commutes) return y;
      if (!sx && !sy) return scalar(x, y);
      return checkSymbolic(op, [a, b]) as never;
    },
    undefined,
  );
}

/**
 * Equal on shape values with symbols, where the answer is known for every size: a symbol
 * equals itself and no negative number (dims are ≥ 0). PyTorch's expand writes
 * Where(Equal(shape, −1), 1, shape) for its −1 dims.
 */
export function symbolicEqual(a: Const, b: Const): Const {
  return constMap(
    'bool',
    [a, b],
    (x, y) => {
      const [sx, sy] = [isSymbolElement(x), isSymbolElement(y)];
      if (!sx && !sy) return x === y ? 1 : 0;
      if (sx && sy && x === y) return 1;
      if ((sx && !sy && y < 0) || (sy && !sx && x < 0)) return 0;
      return checkSymbolic('equal', [a, b]) as never;
    },
    undefined,
  );
}

/** Where with a constant condition picks elements of shape values, symbols included. */
export function symbolicWhere(c: Const, a: Const, b: Const): Const {
  checkSymbolic('where', [c]);
  return constMap(a.dtype, [c, a, b], (k, x, y) => (k ? x : y), undefined);
}

/**
 * A glimpse op that is one ONNX operator (names.ts): its inputs in order (add, sub, mul
 * and div through the symbolic shape arithmetic above).
 */
export function named(op: NamedOp): Converter {
  if (op === 'add' || op === 'sub' || op === 'mul' || op === 'div') return binary(op);
  return (ins, cx) => [
    emit(
      cx,
      op,
      OPS[op].inputs.map((_, i) => need(cx, ins, i)),
    ),
  ];
}

/** Constant-only ops of shape arithmetic: they fold or are refused. */
export function foldOnly(dtype: (ins: Const[]) => DType, f: (...v: number[]) => number): Converter {
  return (ins, cx) => {
    if (!allConst(ins))
      unsupported(
        cx,
        'on computed (non-constant) inputs is not supported: glimpse has no such op yet',
      );
    const cs = ins.filter((x): x is Const => x !== undefined);
    return [constMap(dtype(cs), cs, f, cx.op)];
  };
}
