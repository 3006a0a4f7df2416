/**
 * onnxruntime's `com.microsoft` operators that its transformer optimizer writes, each onto
 * the glimpse ops that compute exactly what the operator defines (its CPU kernel's order
 * of additions where it has one). Keyed `com.microsoft.<op>`; SimplifiedLayerNormalization
 * is registered in the default domain as onnxruntime has it.
 */
import type { Operand } from '../operand.js';
import { constOf, dtypeOfOperand, shapeOf } from '../operand.js';
import { attrFloat, attrInt, dyn, emit, fresh, need, out, unsupported, val } from './context.js';
import type { Converter, Cx } from './context.js';
import { normStats } from './nn.js';

const add = (cx: Cx, a: Operand, b: Operand | undefined, hint: string) =>
  b === undefined ? a : emit(cx, 'add', [a, b], {}, fresh(cx, hint));

/** input + skip (+ bias), as onnxruntime's kernels sum them; named as output 3 when asked. */
function skipSum(cx: Cx, input: Operand, skip: Operand, bias: Operand | undefined): Operand {
  const s = emit(
    cx,
    'add',
    [input, skip],
    {},
    bias || !cx.outputs[3] ? fresh(cx, 'skip') : cx.outputs[3],
  );
  return bias ? emit(cx, 'add', [s, bias], {}, cx.outputs[3] || fresh(cx, 'sum')) : s;
}

/** A normalisation over the last axis with its statistics outputs (1: mean, 2: 1/std). */
function lastAxisNorm(
  cx: Cx,
  op: 'layer_norm' | 'rms_norm',
  x: Operand,
  affine: Operand[],
  eps: number,
  sum?: Operand,
): Operand[] {
  const vx = val(cx, x, 'x');
  const r = vx.type.shape.length;
  const norm = vx.type.shape[r - 1];
  for (const p of affine)
    if (shapeOf(p).length !== 1 || shapeOf(p)[0] !== norm)
      unsupported(cx, `gamma/beta/bias of shape [${shapeOf(p).join(',')}] (want [${norm}])`);
  const y = cx.b.op(
    op,
    [vx, ...affine.map((p, i) => val(cx, p, `p${i}`))],
    { axis: -1, eps },
    out(cx),
  );
  const outs: Operand[] = [dyn(y)];
  if (cx.outputs[1] || cx.outputs[2]) {
    const { mean, inv } = normStats(cx, vx, r - 1, eps, op === 'layer_norm', 1, 2);
    outs.push(mean ? dyn(mean) : constOf(vx.type.dtype, [], [0]), dyn(inv));
  }
  if (sum) {
    while (outs.length < 3) outs.push(constOf(vx.type.dtype, [], [0]));
    outs.push(sum);
  }
  return outs;
}

export const MICROSOFT: Record<string, Converter> = {
  'com.microsoft.Gelu': (ins, cx) => [emit(cx, 'gelu', [need(cx, ins, 0)])],
  /** gelu_tanh(X + bias). */
  'com.microsoft.FastGelu': (ins, cx) => [
    emit(cx, 'gelu_tanh', [add(cx, need(cx, ins, 0), ins[1], 'biased')]),
  ],
  'com.microsoft.BiasGelu': (ins, cx) => [
    emit(cx, 'gelu', [add(cx, need(cx, ins, 0), need(cx, ins, 1), 'biased')]),
  ],
  /** x · sigmoid(α·x), α = 1.702 by default. */
  'com.microsoft.QuickGelu': (ins, cx) => {
    const x = need(cx, ins, 0);
    const ax = emit(cx, 'scale', [x], { factor: attrFloat(cx, 'alpha', 1.702) }, fresh(cx, 'ax'));
    return [emit(cx, 'mul', [x, emit(cx, 'sigmoid', [ax], {}, fresh(cx, 'gate'))])];
  },
  /** (X + bias) + skip. */
  'com.microsoft.BiasAdd': (ins, cx) => [
    emit(cx, 'add', [add(cx, need(cx, ins, 0), need(cx, ins, 1), 'biased'), need(cx, ins, 2)]),
  ],
  /** x = X + bias, split in halves along the last axis: left · gelu(right). */
  'com.microsoft.BiasSplitGelu': (ins, cx) => {
    const x = add(cx, need(cx, ins, 0), need(cx, ins, 1), 'biased');
    const s = shapeOf(x);
    const n = s[s.length - 1];
    if (typeof n !== 'number' || n % 2 !== 0)
      unsupported(cx, `on a last axis of ${n} (it needs an even size)`);
    const vx = val(cx, x, 'x');
    const [l, r] = cx.b.opN('split', [vx], { axis: -1, sizes: [n / 2, n / 2] }, [
      fresh(cx, 'left'),
      fresh(cx, 'right'),
    ]);
    return [dyn(cx.b.op('mul', [l!, cx.b.op('gelu', [r!], {}, fresh(cx, 'gelu'))], {}, out(cx)))];
  },
  /** LayerNorm(input + skip (+ bias)) · gamma (+ beta); outputs mean, 1/std and the sum too. */
  'com.microsoft.SkipLayerNormalization': (ins, cx) => {
    const [input, skip, gamma, beta, bias] = [
      need(cx, ins, 0),
      need(cx, ins, 1),
      need(cx, ins, 2),
      ins[3],
      ins[4],
    ];
    const sum = skipSum(cx, input, skip, bias);
    const eps = attrFloat(cx, 'epsilon', 1e-12);
    return lastAxisNorm(
      cx,
      'layer_norm',
      sum,
      beta ? [gamma, beta] : [gamma],
      eps,
      cx.outputs[3] ? sum : undefined,
    );
  },
  /** RMSNorm(input + skip (+ bias)) · gamma; outputs 1/std and the sum too. */
  'com.microsoft.SkipSimplifiedLayerNormalization': (ins, cx) => {
    const [input, skip, gamma, bias] = [
      need(cx, ins, 0),
      need(cx, ins, 1),
      need(cx, ins, 2),
      ins[3],
    ];
    const sum = skipSum(cx, input, skip, bias);
    const eps = attrFloat(cx, 'epsilon', 1e-12);
    return lastAxisNorm(cx, 'rms_norm', sum, [gamma], eps, cx.outputs[3] ? sum : undefined);
  },
  /** RMSNorm over the axes from `axis` (onnxruntime registers it in the default domain). */
  SimplifiedLayerNormalization: (ins, cx) => {
    const [x, scale] = [need(cx, ins, 0), need(cx, ins, 1)];
    const r = shapeOf(x).length;
    const a = attrInt(cx, 'axis', -1);
    if (a !== -1 && a !== r - 1) unsupported(cx, `axis ${a} other than the last is not supported`);
    if (dtypeOfOperand(x) !== dtypeOfOperand(scale) && attrInt(cx, 'stash_type', 1) !== 1)
      unsupported(cx, 'stash_type other than float is not supported');
    const outs = lastAxisNorm(cx, 'rms_norm', x, [scale], attrFloat(cx, 'epsilon', 1e-5));
    // Its optional output 1 is 1/std (no mean output).
    return cx.outputs[1] ? [outs[0]!, outs[2]!] : outs.slice(0, 1);
  },
};
