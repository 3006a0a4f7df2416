/** Converters of ONNX's matmuls, normalisations and reductions. */
import type { Val } from '@glimpse/ir';
import { normAxis, numel } from '@glimpse/ir';
import type { Operand } from '../operand.js';
import { constOf, dtypeOfOperand, evalOp, ints, shapeOf } from '../operand.js';

import {
  arange,
  attrFloat,
  attrInt,
  dyn,
  emit,
  fresh,
  isConst,
  isIntType,
  need,
  needConst,
  out,
  staticShape,
  unsupported,
  val,
} from './context.js';
import type { Converter, Cx } from './context.js';
import { axesOf } from './indices.js';

/** ArgMax / ArgMin: axis 0, keepdims 1, select_last_index 0 by default (the spec's). */
const argReduce =
  (op: 'argmax' | 'argmin'): Converter =>
  (ins, cx) => [
    emit(cx, op, [need(cx, ins, 0)], {
      axis: attrInt(cx, 'axis', 0),
      keepdims: attrInt(cx, 'keepdims', 1) === 1,
      select_last: attrInt(cx, 'select_last_index', 0) === 1,
    }),
  ];

/**
 * Trilu with a diagonal k computed at run time: its shape is still x's. Keep where
 * col − row ≤ k (lower) or ≥ k (upper), compared on an integer grid of col − row.
 */
function triluComputedK(cx: Cx, x: Operand, k: Operand, upper: boolean): Operand {
  const s = shapeOf(x);
  if (s.length < 2) unsupported(cx, `needs rank ≥ 2, got [${s.join(',')}]`);
  const kd = dtypeOfOperand(k);
  if (shapeOf(k).length > 1 || !isIntType(kd)) unsupported(cx, 'k must be an integer scalar');
  const [r, c] = [s[s.length - 2]!, s[s.length - 1]!];
  const rows = cx.b.reshape(arange(cx, r, kd, fresh(cx, 'rows')), [r, 1], fresh(cx, 'rows2'));
  const cols = cx.b.reshape(arange(cx, c, kd, fresh(cx, 'cols')), [1, c], fresh(cx, 'cols2'));
  const diag = cx.b.op('sub', [cols, rows], {}, fresh(cx, 'diag'));
  const vk = cx.b.reshape(val(cx, k, 'k'), [], fresh(cx, 'k0'));
  // lower: ¬(k < col − row); upper: ¬(col − row < k).
  const beyond = cx.b.op('less', upper ? [diag, vk] : [vk, diag], {}, fresh(cx, 'beyond'));
  const keep = cx.b.op('not', [beyond], {}, fresh(cx, 'keep'));
  const zero = cx.b.constant(0, dtypeOfOperand(x), [], fresh(cx, 'zero'));
  return dyn(cx.b.op('where', [keep, val(cx, x), zero], {}, out(cx)));
}

export const NN: Record<string, Converter> = {
  MatMul: (ins, cx) => {
    const [a, b] = [need(cx, ins, 0), need(cx, ins, 1)];
    const [sa, sb] = [shapeOf(a), shapeOf(b)];
    let va = val(cx, a, 'a');
    let vb = val(cx, b, 'b');
    if (sa.length === 1) va = cx.b.reshape(va, [1, sa[0]!], fresh(cx, `a2`));
    if (sb.length === 1) vb = cx.b.reshape(vb, [sb[0]!, 1], fresh(cx, `b2`));
    const direct = sa.length > 1 && sb.length > 1;
    const y = cx.b.bmm(va, vb, {}, direct ? out(cx) : fresh(cx, `mm`));
    if (direct) return [dyn(y)];
    const ys = y.type.shape;
    const t = ys.filter(
      (_, i) =>
        !((sa.length === 1 && i === ys.length - 2) || (sb.length === 1 && i === ys.length - 1)),
    );
    return [dyn(cx.b.reshape(y, t, out(cx)))];
  },
  Gemm: (ins, cx) => {
    const [a, b, c] = [need(cx, ins, 0), need(cx, ins, 1), ins[2]];
    const alpha = attrFloat(cx, 'alpha', 1);
    const beta = attrFloat(cx, 'beta', 1);
    const ta = attrInt(cx, 'transA', 0) === 1;
    const tb = attrInt(cx, 'transB', 0) === 1;
    const n = shapeOf(b)[tb ? 0 : 1];
    // x·Wᵀ + b with W [out, in] and b [out]: PyTorch's Linear, as the linear op.
    if (
      !ta &&
      tb &&
      alpha === 1 &&
      beta === 1 &&
      c &&
      shapeOf(c).length === 1 &&
      shapeOf(c)[0] === n
    )
      return [dyn(cx.b.linear(val(cx, a, 'x'), val(cx, b, 'weight'), val(cx, c, 'bias'), out(cx)))];
    let y = cx.b.bmm(
      val(cx, a, 'a'),
      val(cx, b, 'b'),
      { transpose_a: ta, transpose_b: tb },
      fresh(cx, `mm`),
    );
    if (alpha !== 1) y = cx.b.op('scale', [y], { factor: alpha }, fresh(cx, `alpha`));
    if (c) {
      let vc = val(cx, c, 'c');
      if (beta !== 1) vc = cx.b.op('scale', [vc], { factor: beta }, fresh(cx, `beta`));
      y = cx.b.op('add', [y, vc], {}, out(cx));
    }
    return [dyn(y)];
  },
  Softmax: (ins, cx) => {
    const x = need(cx, ins, 0);
    if (cx.opset >= 13) return [emit(cx, 'softmax', [x], { axis: attrInt(cx, 'axis', -1) })];
    // Opsets 1–12: the input is read as a matrix [∏ dims before axis, ∏ dims from it]
    // (axis 1 by default) and each row is normalised: a softmax over several trailing axes.
    const s = shapeOf(x);
    // Axis r is allowed (rows of one element each).
    const a = attrInt(cx, 'axis', 1);
    const ax = a < 0 ? a + s.length : a;
    if (ax < 0 || ax > s.length) unsupported(cx, `axis ${a} out of range for rank ${s.length}`);
    if (ax === s.length - 1) return [emit(cx, 'softmax', [x], { axis: -1 })];
    const rows = staticShape(cx, x, 'an input (opset < 13 flattens it)');
    const n = numel(rows.slice(ax));
    const m = emit(cx, 'reshape', [x], { shape: [...rows.slice(0, ax), n] }, fresh(cx, 'rows'));
    const p = emit(cx, 'softmax', [m], { axis: -1 }, fresh(cx, 'softmax'));
    return [emit(cx, 'reshape', [p], { shape: rows })];
  },
  /**
   * Inference, per channel (axis 1): X·a + b with a = scale / √(var + ε) and b = B − mean·a,
   * as onnxruntime computes it (and folded at import for constant statistics): the
   * definition's (X − mean) / √(var + ε) would overflow f32 where this does not.
   */
  BatchNormalization: (ins, cx) => {
    const x = need(cx, ins, 0);
    if (attrInt(cx, 'training_mode', 0) === 1 || cx.outputs.slice(1).some((o) => o !== ''))
      unsupported(cx, 'in training mode (running statistics as outputs) is not supported');
    if (attrInt(cx, 'spatial', 1) !== 1)
      unsupported(cx, 'with spatial = 0 (per-activation statistics) is not supported');
    const r = shapeOf(x).length;
    if (r < 2) unsupported(cx, `on a rank-${r} input (it needs [N, C, …])`);
    // [C] → [C, 1, …, 1]: broadcast over the dims after the channel.
    const perChannel = (i: number, hint: string) => {
      const c = need(cx, ins, i);
      const C = shapeOf(c)[0]!;
      return emit(cx, 'reshape', [c], { shape: [C, ...Array(r - 2).fill(1)] }, fresh(cx, hint));
    };
    const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) =>
      perChannel(i, ['scale', 'bias', 'mean', 'var'][i - 1]!),
    ) as [Operand, Operand, Operand, Operand];
    const eps = constOf(dtypeOfOperand(variance), [], [attrFloat(cx, 'epsilon', 1e-5)]);
    const std = emit(
      cx,
      'sqrt',
      [emit(cx, 'add', [variance, eps], {}, fresh(cx, 'var_eps'))],
      {},
      fresh(cx, 'std'),
    );
    const a = emit(cx, 'div', [scale, std], {}, fresh(cx, 'a'));
    const b = emit(
      cx,
      'sub',
      [bias, emit(cx, 'mul', [mean, a], {}, fresh(cx, 'mean_a'))],
      {},
      fresh(cx, 'b'),
    );
    return [emit(cx, 'add', [emit(cx, 'mul', [x, a], {}, fresh(cx, 'xa')), b])];
  },
  Trilu: (ins, cx) => {
    const x = need(cx, ins, 0);
    const upper = attrInt(cx, 'upper', 1) === 1;
    if (ins[1] && !isConst(ins[1])) return [triluComputedK(cx, x, ins[1], upper)];
    const k = ins[1] ? ints(needConst(cx, ins, 1, 'k'))[0]! : 0;
    const vx = val(cx, x);
    // Keep j - i ≤ k (lower) or j - i ≥ k (upper: the complement of j - i ≤ k - 1).
    const lower = cx.b.op('tril', [vx], { k: upper ? k - 1 : k }, fresh(cx, `tri`));
    const keep = upper ? cx.b.op('not', [lower], {}, fresh(cx, `keep`)) : lower;
    const zero = cx.b.constant(0, vx.type.dtype, [], fresh(cx, `zero`));
    return [dyn(cx.b.op('where', [keep, vx, zero], {}, out(cx)))];
  },
  ArgMax: argReduce('argmax'),
  ArgMin: argReduce('argmin'),
  /** CumSum: the axis is an input, and must be a constant (one integer). */
  CumSum: (ins, cx) => {
    const axis = ints(needConst(cx, ins, 1, 'axis'));
    if (axis.length !== 1) unsupported(cx, `axis must be one integer, got [${axis.join(',')}]`);
    return [
      emit(cx, 'cumsum', [need(cx, ins, 0)], {
        axis: axis[0]!,
        exclusive: attrInt(cx, 'exclusive', 0) === 1,
        reverse: attrInt(cx, 'reverse', 0) === 1,
      }),
    ];
  },
  /**
   * TopK: k a constant input (an attribute before opset 10); `sorted` 0 leaves the order
   * to the implementation, so the sorted order glimpse always gives is one.
   */
  TopK: (ins, cx) => {
    const k = cx.opset < 10 ? [attrInt(cx, 'k', -1)] : ints(needConst(cx, ins, 1, 'k'));
    if (k.length !== 1 || k[0]! < 0)
      unsupported(cx, `k must be one integer ≥ 0, got [${k.join(',')}]`);
    const x = need(cx, ins, 0);
    const attrs = {
      axis: attrInt(cx, 'axis', -1),
      k: k[0]!,
      largest: attrInt(cx, 'largest', 1) === 1,
    };
    if (isConst(x)) return evalOp('topk', [x], attrs, 2);
    return cx.b.opN('topk', [val(cx, x)], attrs, [out(cx, 0), out(cx, 1)]).map(dyn);
  },
  ReduceSum: reduce('reduce_sum'),
  ReduceMean: reduce('reduce_mean'),
  ReduceMax: reduce('reduce_max'),
  /**
   * ReduceMin as −max(−x): exact (negation is), NaN still wins, and reduce_max's +0 above −0
   * gives min's −0 below +0.
   */
  ReduceMin: (ins, cx) => {
    const x = need(cx, ins, 0);
    const neg = emit(cx, 'scale', [x], { factor: -1 }, fresh(cx, 'neg'));
    const m = reduce('reduce_max')([neg, ...ins.slice(1)], { ...cx, outputs: [fresh(cx, 'max')] });
    return [emit(cx, 'scale', [m[0]!], { factor: -1 })];
  },
  /** RMSNormalization (opset 23): x / √(mean(x²) + ε) · scale over the axes from `axis`. */
  RMSNormalization: (ins, cx) => {
    const [x, w] = [need(cx, ins, 0), need(cx, ins, 1)];
    const r = shapeOf(x).length;
    const ax = normAxis(attrInt(cx, 'axis', -1), r);
    if (ax === undefined) unsupported(cx, `axis out of range for rank ${r}`);
    const norm = shapeOf(x).slice(ax);
    const ws = shapeOf(w);
    if (ws.length !== norm.length || ws.some((d, i) => d !== norm[i]))
      unsupported(
        cx,
        `scale [${ws.join(',')}] not of the normalised shape [${norm.join(',')}] is not supported`,
      );
    if (attrInt(cx, 'stash_type', 1) !== 1)
      unsupported(cx, 'stash_type other than float is not supported');
    const eps = attrFloat(cx, 'epsilon', 1e-5);
    return [
      dyn(cx.b.op('rms_norm', [val(cx, x), val(cx, w, 'scale')], { axis: ax, eps }, out(cx))),
    ];
  },
  LayerNormalization: (ins, cx) => {
    const x = need(cx, ins, 0);
    const r = shapeOf(x).length;
    const ax = normAxis(attrInt(cx, 'axis', -1), r);
    if (ax === undefined) unsupported(cx, `axis out of range for rank ${r}`);
    const eps = attrFloat(cx, 'epsilon', 1e-5);
    const norm = shapeOf(x).slice(ax);
    const fits = (o: Operand | undefined) =>
      o !== undefined &&
      shapeOf(o).length === norm.length &&
      shapeOf(o).every((d, i) => d === norm[i]);
    const [w, bias] = [ins[1], ins[2]];
    if ((w && !fits(w)) || (bias && !fits(bias)))
      unsupported(
        cx,
        `scale/bias not of the normalised shape [${norm.join(',')}] are not supported`,
      );
    if (!w && bias) unsupported(cx, 'a bias without a scale');
    const vx = val(cx, x);
    const args = [
      vx,
      ...(w ? [val(cx, w, 'scale')] : []),
      ...(bias ? [val(cx, bias, 'bias')] : []),
    ];
    const y = cx.b.op('layer_norm', args, { axis: ax, eps }, out(cx));
    if (!cx.outputs[1] && !cx.outputs[2]) return [dyn(y)];
    const { mean, inv } = normStats(cx, vx, ax, eps, true, 1, 2);
    return [dyn(y), dyn(mean!), dyn(inv)];
  },
};

/**
 * A normalisation's optional statistics outputs (kept dims), spelled out as layer_norm and
 * rms_norm compute them: the mean (when `centre`), then 1/√(mean((x − mean)²) + ε) —
 * named as the node's outputs `meanAt` and `invAt`.
 */
export function normStats(
  cx: Cx,
  vx: Val,
  ax: number,
  eps: number,
  centre: boolean,
  meanAt: number,
  invAt: number,
): { mean: Val | undefined; inv: Val } {
  const r = vx.type.shape.length;
  const axes = Array.from({ length: r - ax }, (_, i) => ax + i);
  const mean = centre
    ? cx.b.op(
        'reduce_mean',
        [vx],
        { axes, keepdims: true },
        cx.outputs[meanAt] || fresh(cx, 'mean'),
      )
    : undefined;
  const d = mean ? cx.b.op('sub', [vx, mean], {}, fresh(cx, 'centred')) : vx;
  const v = cx.b.op(
    'reduce_mean',
    [cx.b.op('mul', [d, d], {}, fresh(cx, 'sq'))],
    { axes, keepdims: true },
    fresh(cx, 'var'),
  );
  const e = cx.b.constant(eps, vx.type.dtype, [], fresh(cx, 'eps'));
  const one = cx.b.constant(1, vx.type.dtype, [], fresh(cx, 'one'));
  const inv = cx.b.op(
    'div',
    [one, cx.b.op('sqrt', [cx.b.op('add', [v, e], {}, fresh(cx, 'vare'))], {}, fresh(cx, 'std'))],
    {},
    cx.outputs[invAt] || fresh(cx, 'inv'),
  );
  return { mean, inv };
}

function reduce(op: 'reduce_sum' | 'reduce_mean' | 'reduce_max'): Converter {
  return (ins, cx) => {
    const x = need(cx, ins, 0);
    const r = shapeOf(x).length;
    const keepdims = attrInt(cx, 'keepdims', 1) === 1;
    let axes = axesOf(cx, ins, 1, r);
    if (axes === undefined || axes.length === 0) {
      if (attrInt(cx, 'noop_with_empty_axes', 0) === 1) return [x];
      axes = Array.from({ length: r }, (_, i) => i);
    }
    return [dyn(cx.b.op(op, [val(cx, x)], { axes, keepdims }, out(cx)))];
  };
}
