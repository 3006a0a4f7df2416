import { sameShape } from '@glimpse/ir';
import { op, splat, val } from '../pattern.js';
import type { RewriteCtx } from '../rewrite.js';
import { rewritePass, rule } from '../rewrite.js';

const isFloat = (ctx: RewriteCtx, v: string) => ['f32', 'f16'].includes(ctx.typeOf(v).dtype);
/** The value's shape is unchanged by the op (no broadcasting up by the constant). */
const keepsShape = (ctx: RewriteCtx, x: string, out: string) =>
  sameShape(ctx.typeOf(x).shape, ctx.typeOf(out).shape);
const first = (ctx: RewriteCtx, v: string) => ctx.env.constant(v)![0]!;
/** bmm(a, b) with one operand's scale moved to the product. */
function scaleOutOfBmm(
  m: { a: string; b: string; s: string; out: string },
  ctx: RewriteCtx,
): string {
  const f = (ctx.env.producer(m.s)!.attrs as { factor: number }).factor;
  const mm = ctx.emit('bmm', [m.a, m.b], ctx.env.producer(m.out)!.attrs as never);
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
 * `where(c, b, a)`, and a `where` on a constant condition picks its branch.
 */
export const canonicalize = rewritePass(
  'canonicalize',
  'one form for scales, transposes, reshapes and negated conditions',
  [
    rule(
      'div-by-constant',
      op('div', [val('x'), splat('c', (c) => c !== 0)], { as: 'out' }),
      (m, ctx) =>
        isFloat(ctx, m.x) && keepsShape(ctx, m.x, m.out)
          ? ctx.emit('scale', [m.x], { factor: 1 / first(ctx, m.c) })
          : undefined,
    ),
    rule(
      'mul-by-constant',
      op('mul', [val('x'), splat('c')], { as: 'out', commutative: true }),
      (m, ctx) =>
        isFloat(ctx, m.x) && keepsShape(ctx, m.x, m.out)
          ? ctx.emit('scale', [m.x], { factor: first(ctx, m.c) })
          : undefined,
    ),
    rule(
      'scale-of-scale',
      op('scale', [op('scale', [val('x')], { as: 'inner' })], { as: 'out' }),
      (m, ctx) => {
        const a = (ctx.env.producer(m.inner)!.attrs as { factor: number }).factor;
        const b = (ctx.env.producer(m.out)!.attrs as { factor: number }).factor;
        return ctx.emit('scale', [m.x], { factor: a * b });
      },
    ),
    rule('scale-by-one', op('scale', [val('x')], { where: (a) => a.factor === 1 }), (m) => m.x),
    rule(
      'transpose-of-transpose',
      op('transpose', [op('transpose', [val('x')], { as: 'inner' })], { as: 'out' }),
      (m, ctx) => {
        const p1 = (ctx.env.producer(m.inner)!.attrs as { perm: number[] }).perm;
        const p2 = (ctx.env.producer(m.out)!.attrs as { perm: number[] }).perm;
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
      (m, ctx) => {
        const f = (ctx.env.producer(m.s)!.attrs as { factor: number }).factor;
        return ctx.emit(
          'scale',
          [ctx.emit('transpose', [m.x], ctx.env.producer(m.out)!.attrs as never)],
          { factor: f },
        );
      },
    ),
    rule(
      'scale-out-of-reshape',
      op('reshape', [op('scale', [val('x')], { as: 's', singleUse: true })], { as: 'out' }),
      (m, ctx) => {
        const f = (ctx.env.producer(m.s)!.attrs as { factor: number }).factor;
        return ctx.emit('scale', [ctx.emit('reshape', [m.x], { shape: ctx.typeOf(m.out).shape })], {
          factor: f,
        });
      },
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
  ],
);
