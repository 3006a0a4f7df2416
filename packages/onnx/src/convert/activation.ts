/**
 * Converters of the activations, clamps, comparisons and inference-time normalisations of
 * real exports (CNN front ends, PP-OCR, torchvision), each onto glimpse ops that compute
 * exactly what the ONNX op defines.
 */
import { numel } from '@glimpse/ir';
import type { Operand } from '../operand.js';
import { constOf, dtypeOfOperand, shapeOf } from '../operand.js';

import {
  attr,
  attrFloat,
  attrInt,
  dyn,
  emit,
  fresh,
  isConst,
  isIntType,
  need,
  out,
  unsupported,
  val,
} from './context.js';
import type { Converter, Cx } from './context.js';

/** ONNX Min / Max: one to many inputs, folded pairwise (min and max are associative). */
const extremum =
  (op: 'min' | 'max'): Converter =>
  (ins, cx) => {
    const xs = ins.filter((o): o is Operand => o !== undefined);
    if (xs.length === 0) unsupported(cx, 'needs at least one input');
    let acc = xs[0]!;
    xs.slice(1).forEach((x, i) => {
      acc = emit(cx, op, [acc, x], {}, i === xs.length - 2 ? out(cx) : fresh(cx, `${op}${i}`));
    });
    return [acc];
  };

/** A scalar constant of x's dtype. */
const scalar = (x: Operand, v: number) => constOf(dtypeOfOperand(x), [], [v]);

/** max(0, min(1, αx + β)): HardSigmoid's definition, its ops in its order. */
function hardSigmoid(cx: Cx, x: Operand, alpha: number, beta: number, name: string): Operand {
  const ax = emit(cx, 'scale', [x], { factor: alpha }, fresh(cx, 'ax'));
  const axb = emit(cx, 'add', [ax, scalar(x, beta)], {}, fresh(cx, 'axb'));
  const top = emit(cx, 'min', [axb, scalar(x, 1)], {}, fresh(cx, 'top'));
  return emit(cx, 'max', [top, scalar(x, 0)], {}, name);
}

export const ACTIVATION: Record<string, Converter> = {
  Min: extremum('min'),
  Max: extremum('max'),
  Greater: (ins, cx) => [emit(cx, 'less', [need(cx, ins, 1), need(cx, ins, 0)])],
  // a ≤ b as (a < b) ∨ (a = b): false when either is NaN, as the ONNX op (¬(b < a) is not).
  LessOrEqual: (ins, cx) => orEqual(cx, need(cx, ins, 0), need(cx, ins, 1)),
  GreaterOrEqual: (ins, cx) => orEqual(cx, need(cx, ins, 1), need(cx, ins, 0)),
  /**
   * Clip: min(max(x, lo), hi) (numpy's clip). The bounds are optional inputs from opset 11,
   * attributes before; an omitted one is the type's lowest / largest value (so ±inf clip to
   * ±f32 max; integers have nothing past theirs).
   */
  Clip: (ins, cx) => {
    const x = need(cx, ins, 0);
    const F32_MAX = 3.4028234663852886e38;
    const float = !isIntType(dtypeOfOperand(x));
    const bound = (i: number, name: string, dflt: number): Operand | undefined => {
      const given = cx.opset >= 11 ? ins[i] : attr(cx, name) && scalar(x, attrFloat(cx, name, 0));
      return given ?? (float ? scalar(x, dflt) : undefined);
    };
    const [lo, hi] = [bound(1, 'min', -F32_MAX), bound(2, 'max', F32_MAX)];
    let y = x;
    if (lo) y = emit(cx, 'max', [y, lo], {}, hi ? fresh(cx, 'lo') : out(cx));
    if (hi) y = emit(cx, 'min', [y, hi], {}, out(cx));
    return [y];
  },
  HardSigmoid: (ins, cx) => [
    hardSigmoid(
      cx,
      need(cx, ins, 0),
      attrFloat(cx, 'alpha', 0.2),
      attrFloat(cx, 'beta', 0.5),
      out(cx),
    ),
  ],
  HardSwish: (ins, cx) => {
    const x = need(cx, ins, 0);
    return [emit(cx, 'mul', [x, hardSigmoid(cx, x, 1 / 6, 0.5, fresh(cx, 'gate'))])];
  },
  /**
   * Inference: the identity; the optional mask output is all true, as ONNX's reference
   * defines it from opset 12 (bool from opset 10, ones of the input's type before; the
   * older specs leave it open, and onnxruntime writes zeros there).
   */
  Dropout: (ins, cx) => {
    const x = need(cx, ins, 0);
    const [ratio, training] = [ins[1], ins[2]];
    // Training mode with a ratio of 0 drops nothing and scales by 1/(1 − 0): the identity
    // (torchvision's Swin exports its attention dropout so).
    const noop = ratio !== undefined && isConst(ratio) && ratio.data.every((v) => v === 0);
    if (training && !noop && !(isConst(training) && training.data.every((v) => v === 0)))
      unsupported(cx, 'in training mode (training_mode not a constant false) is not supported');
    if (cx.opset < 7 && attrInt(cx, 'is_test', 0) === 0)
      unsupported(cx, 'in training mode (is_test = 0) is not supported');
    if (!cx.outputs[1]) return [x];
    const s = shapeOf(x);
    const yes = constOf(cx.opset < 10 ? dtypeOfOperand(x) : 'bool', [], [1]);
    if (s.some((d) => typeof d !== 'number'))
      return [x, dyn(cx.b.op('expand', [val(cx, yes, 'true')], { shape: [...s] }, out(cx, 1)))];
    const n = numel(s as number[]);
    return [x, constOf(yes.dtype, s as number[], new Float64Array(n).fill(1))];
  },
};

function orEqual(cx: Cx, a: Operand, b: Operand): Operand[] {
  const lt = emit(cx, 'less', [a, b], {}, fresh(cx, 'lt'));
  const eq = emit(cx, 'equal', [a, b], {}, fresh(cx, 'eq'));
  return [emit(cx, 'or', [lt, eq])];
}
