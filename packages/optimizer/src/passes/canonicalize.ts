import { fromNumbers, normAxis, sameShape, toNumbers } from '@glimpse/ir';
import type { OpNode } from '../pattern.js';
import { op, splat, val } from '../pattern.js';
import type { Decline, RewriteCtx, RewriteResult } from '../rule.js';
import { rewritePass } from '../rewrite.js';
import { decline, isDecline, rule } from '../rule.js';

export const isFloat = (ctx: RewriteCtx, v: string) => ['f32', 'f16'].includes(ctx.typeOf(v).dtype);
/** The value's shape is unchanged by the op (no broadcasting up by the constant). */
const keepsShape = (ctx: RewriteCtx, x: string, out: string) =>
  sameShape(ctx.typeOf(x).shape, ctx.typeOf(out).shape);
/** A splat constant's element as the backends store it (an f32 `0.1` is fround(0.1)). */
export const stored = (ctx: RewriteCtx, v: string) =>
  toNumbers(fromNumbers(ctx.typeOf(v).dtype, [], [ctx.env.constant(v)![0]!]))[0]!;
const first = (ctx: RewriteCtx, v: string) => ctx.env.constant(v)![0]!;

const F32_MAX = 3.4028234663852886e38;
const F32_MIN_NORMAL = 2 ** -126;
const special = (c: number) => !Number.isFinite(c) || c === 0 || Math.abs(c) === 1;
/** ±2^k: multiplying by it is exact (short of overflow and underflow). */
export const isPowerOfTwo = (c: number) => {
  const m = Math.abs(c);
  return m > 0 && Number.isFinite(m) && 2 ** Math.round(Math.log2(m)) === m;
};

/**
 * The one factor that replaces scale a then scale b, or why there is none: (x·a)·b and
 * x·(a·b) must agree bit for bit for every x. Special factors (NaN, ±inf, ±0, ±1) do, signs
 * of zero included. Two others only as powers of two (no rounding) on the same side of 1
 * with a normal-f32 product: then no x overflows or underflows in one order only.
 */
function combinedScale(a: number, b: number): number | Decline {
  const p = a * b;
  if (special(a) || special(b)) return p;
  if (Math.abs(a) >= 1 !== Math.abs(b) >= 1)
    return decline(
      `factors ${a} and ${b} lie on both sides of 1: x·${a} may overflow or underflow where x·${p} does not`,
    );
  if (Math.abs(p) > F32_MAX || Math.abs(p) < F32_MIN_NORMAL)
    return decline(`the product of ${a} and ${b} is not a normal f32 number`);
  if (!isPowerOfTwo(a) || !isPowerOfTwo(b))
    return decline(`x·${a}·${b} rounds twice and x·${p} once: only powers of two combine exactly`);
  return p;
}

/**
 * 1/c when x/c and x·(1/c) agree for every x: c a power of two with a normal reciprocal
 * (both round once, exactly alike), or c = ±0 (±inf), ±inf (±0), NaN — where division and
 * multiplication by the reciprocal give the same special values, signs included.
 */
function exactReciprocal(c: number): number | Decline {
  const r = 1 / c;
  if (Number.isNaN(c) || c === 0 || !Number.isFinite(c)) return r;
  const ok =
    Math.fround(r) === r &&
    r * c === 1 &&
    Math.abs(r) <= F32_MAX &&
    Math.abs(r) >= F32_MIN_NORMAL &&
    Math.abs(c) >= F32_MIN_NORMAL;
  return ok ? r : decline(`1/${c} is not exact in f32: x/${c} and x·(1/${c}) round differently`);
}

/**
 * bmm(a, b) with one operand's scale c moved to the product: (a·c)·b = (a·b)·c. Only for c
 * a power of two ≥ 1: scaling by it is exact, so every term and every partial sum is the
 * written one times c, bit for bit, and none is larger than the written one (no new f32
 * overflow; a positive c keeps the sign of an exactly cancelling sum's zero).
 */
function scaleOutOfBmm(
  m: { a: string; b: string; $s: OpNode<'scale'>; $out: OpNode<'bmm'> },
  ctx: RewriteCtx,
): RewriteResult {
  const f = m.$s.attrs.factor;
  if (!(isPowerOfTwo(f) && f >= 1))
    return decline(
      f > 0 && f < 1 && Number.isFinite(f)
        ? `factor ${f} < 1: moved past the sum, the product could overflow where the scaled operand does not (fuse-attention takes a scaled q or k itself)`
        : Number.isFinite(f) && f > 1
          ? `factor ${f} is not a power of two: the terms round differently scaled before the sum than the sum scaled after`
          : `factor ${f}: NaN, ±inf, ±0 or a sign would reach the sum differently than its result`,
    );
  const mm = ctx.emit('bmm', [m.a, m.b], m.$out.attrs);
  return ctx.emit('scale', [mm], { factor: f });
}

const isSwapLast2 = (perm: readonly number[]) => {
  const r = perm.length;
  return (
    r >= 2 &&
    perm[r - 2] === r - 1 &&
    perm[r - 1] === r - 2 &&
    perm.slice(0, -2).every((p, i) => p === i)
  );
};
export { isSwapLast2 };

/**
 * One form for each scaling a user or exporter may write — `x / c`, `x * c`, `c * x`,
 * chained scales, a scale on an operand of a matmul or before a transpose/reshape — so that
 * fusion needs to recognise only `scale`. Plus: transpose and reshape chains collapse,
 * identities (and expands to the same shape) vanish, `where(not c, a, b)` becomes
 * `where(c, b, a)`, a `where` on a constant condition picks its branch, and a softmax of
 * scores already shifted by their row maximum reads the scores.
 */
export const canonicalize = rewritePass(
  'canonicalize',
  'one form for scales, transposes, reshapes and negated conditions',
  {
    pass: 'each rule is an identity for every value, NaN, ±inf and ±0 included, or declines (below)',
    rules: {
      'div-by-constant':
        'only when x/c ≡ x·(1/c) for every x: c a power of two with a normal reciprocal (both round once, alike), or c = ±0, ±inf, NaN (division by them and multiplication by their reciprocals agree, signs included)',
      'mul-by-constant': 'scale is that product, by the constant as the backends store it',
      'scale-of-scale':
        'only when (x·a)·b ≡ x·(a·b) bit for bit: a special factor (NaN, ±inf, ±0, ±1) on either side, or two powers of two on one side of 1 with a normal-f32 product — then no x overflows, underflows or rounds in one order only',
      'scale-by-one': 'x·1 is x for every x',
      'transpose-of-transpose': 'data movement',
      'identity-transpose': 'data movement',
      'reshape-of-reshape': 'data movement',
      'identity-reshape': 'data movement',
      'scale-out-of-bmm-a':
        'only for c a power of two ≥ 1: every term and partial sum is the written one times c, bit for bit, none larger (no new f32 overflow), and a positive c keeps the sign of an exactly cancelling sum’s zero; other factors decline (fuse-attention takes a scaled q or k itself)',
      'scale-out-of-bmm-b': 'as scale-out-of-bmm-a',
      'scale-out-of-transpose': 'data movement commutes with an elementwise product, any factor',
      'scale-out-of-reshape': 'data movement commutes with an elementwise product, any factor',
      'where-of-not': 'selection only: the same element is picked',
      'where-of-constant': 'selection only: the branch the constant condition picks everywhere',
      'identity-expand': 'data movement',
      'add-through-unsqueeze':
        'data movement: adding m to x viewed with leading 1s prepended, then viewing back, adds m without those leading dims (each of size 1) to x, element for element',
      'softmax-of-shifted':
        'softmax(x − max(x)) ≡ softmax(x) bit for bit: the softmax subtracts its row maximum, which for x − max(x) is exactly 0, so both exponentiate the same differences; rows with NaN or +inf are NaN either way',
    },
  },
  [
    rule('div-by-constant', op('div', [val('x'), splat('c')], { as: 'out' }), (m, ctx) => {
      if (!isFloat(ctx, m.x) || !keepsShape(ctx, m.x, m.out)) return undefined;
      const r = exactReciprocal(stored(ctx, m.c));
      return isDecline(r) ? r : ctx.emit('scale', [m.x], { factor: r });
    }),
    rule(
      'mul-by-constant',
      op('mul', [val('x'), splat('c')], { as: 'out', commutative: true }),
      (m, ctx) =>
        isFloat(ctx, m.x) && keepsShape(ctx, m.x, m.out)
          ? ctx.emit('scale', [m.x], { factor: stored(ctx, m.c) })
          : undefined,
    ),
    rule(
      'scale-of-scale',
      op('scale', [op('scale', [val('x')], { as: 'inner' })], { as: 'out' }),
      (m, ctx) => {
        const f = combinedScale(m.$inner.attrs.factor, m.$out.attrs.factor);
        return isDecline(f) ? f : ctx.emit('scale', [m.x], { factor: f });
      },
    ),
    rule('scale-by-one', op('scale', [val('x')], { where: (a) => a.factor === 1 }), (m) => m.x),
    rule(
      'transpose-of-transpose',
      op('transpose', [op('transpose', [val('x')], { as: 'inner' })], { as: 'out' }),
      (m, ctx) => {
        const [p1, p2] = [m.$inner.attrs.perm, m.$out.attrs.perm];
        return ctx.emit('transpose', [m.x], { perm: p2.map((p) => p1[p]!) });
      },
    ),
    rule(
      'identity-transpose',
      op('transpose', [val('x')], { where: (a) => a.perm.every((p, i) => p === i) }),
      (m) => m.x,
    ),
    rule(
      'reshape-of-reshape',
      op('reshape', [op('reshape', [val('x')])], { as: 'out' }),
      (m, ctx) => ctx.emit('reshape', [m.x], { shape: ctx.typeOf(m.out).shape }),
    ),
    rule('identity-reshape', op('reshape', [val('x')], { as: 'out' }), (m, ctx) =>
      sameShape(ctx.typeOf(m.x).shape, ctx.typeOf(m.out).shape) ? m.x : undefined,
    ),
    // (a·c)·b = (a·b)·c: move the scale to the product, where attention fusion expects it.
    rule(
      'scale-out-of-bmm-a',
      op('bmm', [op('scale', [val('a')], { as: 's', singleUse: true }), val('b')], { as: 'out' }),
      scaleOutOfBmm,
    ),
    rule(
      'scale-out-of-bmm-b',
      op('bmm', [val('a'), op('scale', [val('b')], { as: 's', singleUse: true })], { as: 'out' }),
      scaleOutOfBmm,
    ),
    rule(
      'scale-out-of-transpose',
      op('transpose', [op('scale', [val('x')], { as: 's', singleUse: true })], { as: 'out' }),
      (m, ctx) =>
        ctx.emit('scale', [ctx.emit('transpose', [m.x], m.$out.attrs)], {
          factor: m.$s.attrs.factor,
        }),
    ),
    rule(
      'scale-out-of-reshape',
      op('reshape', [op('scale', [val('x')], { as: 's', singleUse: true })], { as: 'out' }),
      (m, ctx) =>
        ctx.emit('scale', [ctx.emit('reshape', [m.x], { shape: ctx.typeOf(m.out).shape })], {
          factor: m.$s.attrs.factor,
        }),
    ),
    rule('where-of-not', op('where', [op('not', [val('c')]), val('a'), val('b')]), (m, ctx) =>
      ctx.emit('where', [m.c, m.b, m.a], {}),
    ),
    // A condition known to be all true or all false picks a branch (when that branch
    // already has the result's shape): ONNX's Attention function guards fully masked rows
    // this way, and with a constant mask the guard folds to "none".
    rule(
      'where-of-constant',
      op('where', [splat('c'), val('a'), val('b')], { as: 'out' }),
      (m, ctx) => {
        const pick = first(ctx, m.c) !== 0 ? m.a : m.b;
        return keepsShape(ctx, pick, m.out) && ctx.typeOf(pick).dtype === ctx.typeOf(m.out).dtype
          ? pick
          : undefined;
      },
    ),
    rule('identity-expand', op('expand', [val('x')], { as: 'out' }), (m, ctx) =>
      sameShape(ctx.typeOf(m.x).shape, ctx.typeOf(m.out).shape) ? m.x : undefined,
    ),
    // Swin adds its shifted-window mask to the scores viewed as [B, windows, heads, T, T]
    // (a leading 1 prepended), then views them back: the add happens on the scores.
    rule(
      'add-through-unsqueeze',
      op(
        'reshape',
        [
          op('add', [op('reshape', [val('x')], { as: 'up' }), val('m')], {
            as: 'sum',
            commutative: true,
            singleUse: true,
          }),
        ],
        { as: 'out' },
      ),
      (m, ctx) => {
        const [xs, up, ms] = [ctx.typeOf(m.x).shape, ctx.typeOf(m.up).shape, ctx.typeOf(m.m).shape];
        const k = up.length - xs.length;
        const lead = up.slice(0, k);
        if (
          k <= 0 ||
          !lead.every((d) => d === 1) ||
          !sameShape(up.slice(k), xs) ||
          !sameShape(ctx.typeOf(m.out).shape, xs) ||
          !sameShape(ctx.typeOf(m.sum).shape, up) ||
          ms.length > up.length
        )
          return undefined;
        // m's dims that fall on the prepended ones must be 1 as well.
        const extra = ms.length - xs.length;
        if (extra > 0 && !ms.slice(0, extra).every((d) => d === 1))
          return decline(`the term's leading dims [${ms.slice(0, extra).join(',')}] are not 1`);
        const m2 = extra > 0 ? ctx.emit('reshape', [m.m], { shape: ms.slice(extra) }) : m.m;
        return ctx.emit('add', [m.x, m2], {});
      },
    ),
    // torchaudio's attention (wav2vec2, HuBERT) shifts the scores by their row maximum
    // before the softmax, which does so itself.
    rule(
      'softmax-of-shifted',
      op(
        'softmax',
        [op('sub', [val('x'), op('reduce_max', [val('y')], { as: 'm' })], { as: 'd' })],
        {
          as: 'out',
        },
      ),
      (m, ctx) => {
        if (m.x !== m.y || !isFloat(ctx, m.x) || !keepsShape(ctx, m.x, m.d)) return undefined;
        const r = ctx.typeOf(m.x).shape.length;
        const axis = normAxis(m.$out.attrs.axis, r);
        const red = m.$m.attrs;
        if (!red.keepdims || red.axes.length !== 1 || normAxis(red.axes[0]!, r) !== axis)
          return decline(
            `the maximum is over axes [${red.axes.join(',')}]${red.keepdims ? '' : ' without keepdims'}, not the softmax's axis ${axis}: the shift differs within a row`,
          );
        return ctx.emit('softmax', [m.x], m.$out.attrs);
      },
    ),
  ],
);
