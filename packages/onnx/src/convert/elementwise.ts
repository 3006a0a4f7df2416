/** Converters of elementwise ONNX ops: arithmetic, activations, comparisons, casts. */
import type { Operand } from '../operand.js';
import { constOf, dtypeOfOperand, shapeOf, symbolsIn } from '../operand.js';
import { dtypeOf } from '../tensor.js';

import {
  attrInt,
  dyn,
  emit,
  fresh,
  isConst,
  isIntType,
  need,
  needConst,
  out,
  unsupported,
  val,
} from './context.js';
import type { Converter } from './context.js';
import { ONNX_NAMES, NAMED_OPS } from '../names.js';
import { foldOnly, constMap, named, symbolicEqual, symbolicWhere } from './fold.js';

/** Every op that is one glimpse op (names.ts), then the rest. */
export const ELEMENTWISE: Record<string, Converter> = {
  ...Object.fromEntries(NAMED_OPS.map((op) => [ONNX_NAMES[op], named(op)])),
  Gelu: (ins, cx) => {
    const a = cx.attrs.get('approximate');
    const approx = a?.s ? new TextDecoder().decode(a.s) : 'none';
    if (approx !== 'none' && approx !== 'tanh')
      unsupported(cx, `approximate='${approx}' is not one of 'none', 'tanh'`);
    const op = approx === 'tanh' ? 'gelu_tanh' : 'gelu';
    return [dyn(cx.b.op(op, [val(cx, need(cx, ins, 0))], {}, out(cx)))];
  },
  Neg: (ins, cx) => {
    const x = need(cx, ins, 0);
    const d = dtypeOfOperand(x);
    return [
      isIntType(d)
        ? emit(cx, 'mul', [x, constOf(d, [], [-1])])
        : emit(cx, 'scale', [x], { factor: -1 }),
    ];
  },
  Reciprocal: (ins, cx) => {
    const x = need(cx, ins, 0);
    return [emit(cx, 'div', [constOf(dtypeOfOperand(x), [], [1]), x])];
  },
  Pow: (ins, cx) => {
    const [x, e] = [need(cx, ins, 0), needConst(cx, ins, 1, 'exponent')];
    if (isConst(x)) return [constMap(x.dtype, [x, e], (a, b) => a ** b, 'Pow')];
    const p = e.data.length === 1 ? e.data[0]! : NaN;
    // Constant exponents as the ops that compute them: small integers by repeated squaring
    // (x⁰ is 1 everywhere, NaN included, as C's pow), ±½ by sqrt.
    const recip = (y: Operand) => emit(cx, 'div', [constOf(dtypeOfOperand(x), [], [1]), y]);
    if (Math.abs(p) === 0.5) {
      const r = emit(cx, 'sqrt', [x], {}, p > 0 ? out(cx) : fresh(cx, 'sqrt'));
      return [p > 0 ? r : recip(r)];
    }
    if (!Number.isInteger(p) || Math.abs(p) > 8)
      return unsupported(
        cx,
        `with exponent ${Array.from(e.data).join(',')} is not supported (constant integers −8…8 and ±0.5 are)`,
      );
    if (p === 0)
      return [
        emit(cx, 'expand', [constOf(dtypeOfOperand(x), [], [1])], { shape: [...shapeOf(x)] }),
      ];
    let acc: Operand | undefined;
    let sq: Operand = x;
    for (let n = Math.abs(p); n > 0; n >>= 1) {
      if (n & 1) acc = acc === undefined ? sq : emit(cx, 'mul', [acc, sq], {}, fresh(cx, 'pow'));
      if (n > 1) sq = emit(cx, 'mul', [sq, sq], {}, fresh(cx, 'sq'));
    }
    return [p > 0 ? acc! : recip(acc!)];
  },
  // fmod=0 (Python's remainder, the sign of b) is ONNX's for integers; onnxruntime refuses
  // it on floats, glimpse computes it there too (numpy.mod).
  Mod: (ins, cx) => [
    emit(cx, attrInt(cx, 'fmod', 0) ? 'fmod' : 'mod', [need(cx, ins, 0), need(cx, ins, 1)]),
  ],
  Equal: (ins, cx) => {
    const [a, b] = [need(cx, ins, 0), need(cx, ins, 1)];
    if (isConst(a) && isConst(b) && symbolsIn(a).length + symbolsIn(b).length > 0)
      return [symbolicEqual(a, b)];
    return [emit(cx, 'equal', [a, b])];
  },
  Where: (ins, cx) => {
    const [c, a, b] = [need(cx, ins, 0), need(cx, ins, 1), need(cx, ins, 2)];
    if (isConst(c) && isConst(a) && isConst(b) && symbolsIn(a).length + symbolsIn(b).length > 0)
      return [symbolicWhere(c, a, b)];
    return [emit(cx, 'where', [c, a, b])];
  },
  /** IsInf: isinf, narrowed to one sign by `detect_positive` / `detect_negative` (both 1 by default). */
  IsInf: (ins, cx) => {
    const x = need(cx, ins, 0);
    const [pos, neg] = [attrInt(cx, 'detect_positive', 1), attrInt(cx, 'detect_negative', 1)];
    if (pos && neg) return [emit(cx, 'isinf', [x])];
    // x < x is false everywhere, NaN included: neither sign detected.
    if (!pos && !neg) return [emit(cx, 'less', [x, x])];
    const inf = emit(cx, 'isinf', [x], {}, fresh(cx, 'inf'));
    const zero = constOf(dtypeOfOperand(x), [], [0]);
    const side = emit(cx, 'less', pos ? [zero, x] : [x, zero], {}, fresh(cx, 'side'));
    return [emit(cx, 'and', [inf, side])];
  },
  Identity: (ins, cx) => [need(cx, ins, 0)],
  Cast: (ins, cx) => {
    const x = need(cx, ins, 0);
    const to = dtypeOf(attrInt(cx, 'to', 0), `${cx.name}.to`);
    // Integer shape values keep their symbols through integer casts.
    if (isConst(x) && isIntType(x.dtype) && isIntType(to) && symbolsIn(x).length > 0)
      return [constOf(to, x.shape, x.data)];
    return [!isConst(x) && dtypeOfOperand(x) === to ? x : emit(cx, 'cast', [x], { to })];
  },
  CastLike: (ins, cx) => {
    const x = need(cx, ins, 0);
    const to = dtypeOfOperand(need(cx, ins, 1));
    return [!isConst(x) && dtypeOfOperand(x) === to ? x : emit(cx, 'cast', [x], { to })];
  },
};
