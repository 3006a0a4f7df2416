import { normAxis, sameShape } from '@glimpse/ir';
import type { OpNode } from '../pattern.js';
import { op, oneOf, splat, val } from '../pattern.js';
import type { Decline, RewriteCtx, RewriteResult } from '../rule.js';
import { rewritePass } from '../rewrite.js';
import { decline, isDecline, rule } from '../rule.js';
import { isFloat, stored } from './canonicalize.js';

/** Axes sorted and non-negative; undefined unless they are the last ones of rank r. */
function trailing(axes: readonly number[], r: number): number[] | undefined {
  const a = axes.map((x) => normAxis(x, r)!).sort((p, q) => p - q);
  return a.length > 0 && a.every((x, i) => x === r - a.length + i) ? a : undefined;
}

/** ε as the backends store it, or why the op cannot take it. */
function epsilon(ctx: RewriteCtx, v: string, op: string): number | Decline {
  const eps = stored(ctx, v);
  return eps >= 0 && Number.isFinite(eps) ? eps : decline(`ε = ${eps}: ${op} takes a finite ε ≥ 0`);
}

/**
 * A normalisation `ln` (of x) times / plus `t`: the op with `t` as its weight / bias (`what`),
 * when t has the normalised shape and x's dtype; else why not.
 */
function withAffine(
  ctx: RewriteCtx,
  m: { x: string; $ln: OpNode<'layer_norm' | 'rms_norm'> },
  ins: string[],
  t: string,
  what: 'factor' | 'term',
): RewriteResult {
  const s = ctx.typeOf(m.x).shape;
  const want = s.slice(normAxis(m.$ln.attrs.axis, s.length));
  if (!sameShape(ctx.typeOf(t).shape, want) || ctx.typeOf(t).dtype !== ctx.typeOf(m.x).dtype)
    return decline(
      `the ${what} is [${ctx.typeOf(t).shape.join(',')}], not of the normalised shape [${want.join(',')}]`,
    );
  return ctx.emitLike(m.$ln, [...ins, t]);
}

/** x/√2 as exporters write it: divided by f32(√2), or scaled by f32(1/√2). */
const SQRT2 = Math.fround(Math.SQRT2);
const RSQRT2 = Math.fround(Math.SQRT1_2);
const overSqrt2 = oneOf(
  op('div', [val('x'), splat('c', (c) => c === SQRT2)]),
  op('scale', [val('x')], { where: (a) => Math.fround(a.factor) === RSQRT2 }),
);
/** 1 + erf(x/√2), either order. */
const onePlusErf = op('add', [op('erf', [overSqrt2]), splat('one', (c) => c === 1)], {
  commutative: true,
});

/** c·p, as an exporter writes it (times a constant) or canonicalize does (a scale). */
function times<const P>(c: number, p: P) {
  return oneOf(
    op('scale', [p], { where: (a) => Math.fround(a.factor) === c }),
    op('mul', [p, splat(`k${c}`, (k) => k === c)], { commutative: true }),
  );
}
const halved = <const P>(p: P) => times(0.5, p);

/** 1 + tanh(√(2/π)·(x + 0.044715·x³)), the constants as f32 holds them. */
const onePlusTanh = op(
  'add',
  [
    op('tanh', [
      times(
        Math.fround(Math.sqrt(2 / Math.PI)),
        op(
          'add',
          [
            val('x'),
            times(
              Math.fround(0.044715),
              op('mul', [val('x'), op('mul', [val('x'), val('x')])], { commutative: true }),
            ),
          ],
          { commutative: true },
        ),
      ),
    ]),
    splat('one', (c) => c === 1),
  ],
  { commutative: true },
);

/**
 * Normalisations and activations that exporters write as their formulas (ONNX before
 * opset 17 has no LayerNormalization; PyTorch exports nn.GELU through Erf) back to the op
 * that computes them: `layer_norm` and `gelu`.
 */
/** √(mean(x·x) + ε), the root mean square of RMSNorm. */
const rootMeanSquare = op('sqrt', [
  op('add', [op('reduce_mean', [op('mul', [val('x'), val('x')])], { as: 'ms' }), splat('eps')], {
    commutative: true,
  }),
]);

export const fuseNorm = rewritePass(
  'fuse-norm',
  'decomposed LayerNorm → layer_norm and RMSNorm → rms_norm (with their affine), Erf-form GELU → gelu, tanh-form GELU → gelu_tanh',
  {
    pass: 'each rule replaces a formula by the op defined as that formula: in exact arithmetic the same function; in f32 the op rounds once where the formula rounds at every step (within the precision contract), and the special values are the formula’s: NaN and ±inf in a row make it NaN, gelu(−inf) is NaN, gelu(±0) is ±0',
    rules: {
      'layer-norm':
        '(x − mean(x)) / √(mean((x − mean(x))²) + ε) over the same trailing axes, keepdims: layer_norm’s definition (biased variance), ε as the backends store it',
      'layer-norm-weight':
        'a layer_norm without weight times a tensor of the normalised shape: layer_norm’s n·weight',
      'layer-norm-bias':
        'a layer_norm with a weight plus a tensor of the normalised shape: layer_norm’s n·weight + bias',
      'rms-norm':
        'x · (1/√(mean(x²) + ε)) or x / √(mean(x²) + ε) over trailing axes, kept: rms_norm’s definition, ε as the backends store it',
      'rms-norm-weight': 'an rms_norm without weight times a tensor of the normalised shape',
      'gelu-erf': '½·x·(1 + erf(x/√2)), in either grouping: gelu’s definition (nn.GELU())',
      'gelu-tanh':
        "½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), in either grouping: gelu_tanh’s definition (nn.GELU(approximate='tanh'), GPT-2’s NewGELU)",
    },
  },
  [
    rule(
      'layer-norm',
      op(
        'div',
        [
          op('sub', [val('x'), op('reduce_mean', [val('x')], { as: 'mean' })], { as: 'd' }),
          op('sqrt', [
            op(
              'add',
              [op('reduce_mean', [op('mul', [val('d'), val('d')])], { as: 'var' }), splat('eps')],
              { commutative: true },
            ),
          ]),
        ],
        { as: 'out' },
      ),
      (m, ctx) => {
        if (!isFloat(ctx, m.x) || !sameShape(ctx.typeOf(m.x).shape, ctx.typeOf(m.out).shape))
          return undefined;
        const r = ctx.typeOf(m.x).shape.length;
        const [a1, a2] = [m.$mean.attrs, m.$var.attrs];
        const [axes, axes2] = [trailing(a1.axes, r), trailing(a2.axes, r)];
        if (!a1.keepdims || !a2.keepdims || !axes || axes.join() !== axes2?.join())
          return decline(
            `the means are over axes [${a1.axes.join(',')}] and [${a2.axes.join(',')}]: layer_norm normalises the same trailing axes, kept`,
          );
        const eps = epsilon(ctx, m.eps, 'layer_norm');
        return isDecline(eps) ? eps : ctx.emit('layer_norm', [m.x], { axis: axes[0]! - r, eps });
      },
    ),
    rule(
      'layer-norm-weight',
      op('mul', [op('layer_norm', [val('x')], { as: 'ln', singleUse: true }), val('w')], {
        as: 'out',
        commutative: true,
      }),
      (m, ctx) => withAffine(ctx, m, [m.x], m.w, 'factor'),
    ),
    rule(
      'layer-norm-bias',
      op('add', [op('layer_norm', [val('x'), val('w')], { as: 'ln', singleUse: true }), val('b')], {
        as: 'out',
        commutative: true,
      }),
      (m, ctx) => withAffine(ctx, m, [m.x, m.w], m.b, 'term'),
    ),
    rule(
      'rms-norm',
      oneOf(
        op('mul', [val('x'), op('div', [splat('one', (c) => c === 1), rootMeanSquare])], {
          as: 'out',
          commutative: true,
        }),
        op('div', [val('x'), rootMeanSquare], { as: 'out' }),
      ),
      (m, ctx) => {
        if (!isFloat(ctx, m.x) || !sameShape(ctx.typeOf(m.x).shape, ctx.typeOf(m.out).shape))
          return undefined;
        const r = ctx.typeOf(m.x).shape.length;
        const a = m.$ms.attrs;
        const axes = trailing(a.axes, r);
        if (!a.keepdims || !axes)
          return decline(
            `the mean square is over axes [${a.axes.join(',')}]${a.keepdims ? '' : ' without keepdims'}: rms_norm normalises trailing axes, kept`,
          );
        const eps = epsilon(ctx, m.eps, 'rms_norm');
        return isDecline(eps) ? eps : ctx.emit('rms_norm', [m.x], { axis: axes[0]! - r, eps });
      },
    ),
    rule(
      'rms-norm-weight',
      op('mul', [op('rms_norm', [val('x')], { as: 'ln', singleUse: true }), val('w')], {
        as: 'out',
        commutative: true,
      }),
      (m, ctx) => withAffine(ctx, m, [m.x], m.w, 'factor'),
    ),
    rule(
      'gelu-erf',
      oneOf(
        halved(op('mul', [val('x'), onePlusErf], { commutative: true })),
        op('mul', [halved(val('x')), onePlusErf], { commutative: true }),
      ),
      (m, ctx) => (isFloat(ctx, m.x) ? ctx.emit('gelu', [m.x], {}) : undefined),
    ),
    rule(
      'gelu-tanh',
      oneOf(
        halved(op('mul', [val('x'), onePlusTanh], { commutative: true })),
        op('mul', [halved(val('x')), onePlusTanh], { commutative: true }),
      ),
      (m, ctx) => (isFloat(ctx, m.x) ? ctx.emit('gelu_tanh', [m.x], {}) : undefined),
    ),
  ],
);
