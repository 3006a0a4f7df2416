import { normAxis, rotaryDim, sameShape, sliceRange } from '@glimpse/ir';
import type { OpNode } from '../pattern.js';
import { anyValue, op, oneOf, splat, val } from '../pattern.js';
import type { Decline, RewriteCtx } from '../rule.js';
import { rewritePass } from '../rewrite.js';
import { decline, rule } from '../rule.js';

/**
 * Rotary position embeddings as Hugging Face's Llama family writes them (apply_rotary_pos_emb):
 * x·cos + rotate_half(x)·sin with rotate_half(x) = cat(−x[..., R/2:], x[..., :R/2]), each
 * operand order; with partial rotary (Phi) that on x[..., :R], then x[..., R:] appended.
 */

/** The [start, end) a slice takes of the last axis of `x`, or undefined if another axis or size unknown. */
function lastAxisRange(
  ctx: RewriteCtx,
  x: string,
  s: OpNode<'slice'>,
): [number, number] | undefined {
  const shape = ctx.typeOf(x).shape;
  const n = shape.at(-1);
  if (typeof n !== 'number' || normAxis(s.attrs.axis, shape.length) !== shape.length - 1)
    return undefined;
  return sliceRange(n, s.attrs.start, s.attrs.end);
}

/** Why slices `lo`, `hi` are not x's two halves (x[..., :n/2], x[..., n/2:]) — or nothing. */
function notHalves(
  ctx: RewriteCtx,
  x: string,
  lo: OpNode<'slice'>,
  hi: OpNode<'slice'>,
): Decline | undefined {
  const n = ctx.typeOf(x).shape.at(-1);
  const [a, b] = [lastAxisRange(ctx, x, lo), lastAxisRange(ctx, x, hi)];
  if (typeof n === 'number' && a?.join() === `0,${n / 2}` && b?.join() === `${n / 2},${n}`)
    return undefined;
  const cut = (r: [number, number] | undefined, s: OpNode<'slice'>) =>
    r ? `x[…, ${r.join(':')}]` : `a cut along axis ${s.attrs.axis}`;
  return decline(
    `the rotated halves are ${cut(a, lo)} and ${cut(b, hi)}, not the two halves of x's last axis (of ${n})`,
  );
}

/** cat(−x[..., n/2:], x[..., :n/2]): rotate_half(x), Neg as a scale or as ·(−1). */
const hi = op('slice', [val('x')], { as: 'hi' });
const rotateHalf = op(
  'concat',
  [
    oneOf(
      op('scale', [hi], { as: 'neg' }),
      op('mul', [hi, splat('minusOne', (c) => c === -1)], { commutative: true }),
    ),
    op('slice', [val('x')], { as: 'lo' }),
  ],
  { as: 'cat' },
);

export const fuseRotary = rewritePass(
  'fuse-rotary',
  'rotate-half rotary embeddings (x·cos + rotate_half(x)·sin, partial rotary too) → one rotary op',
  {
    pass: 'the op is defined as the written formula with cos and sin at full width, whatever they hold: each output is x·cos + (∓partner)·sin, the products and the sum rounded in that order (a·b ≡ b·a and a + b ≡ b + a in IEEE arithmetic, and −x is exact), so NaN, ±inf and ±0 come out as written',
    rules: {
      rotary:
        'x·cos + cat(−x[..., n/2:], x[..., :n/2])·sin along the last axis (−x as scale −1 or a product with −1), either order of each product and the sum: the op’s definition (rotate-half), cos and sin broadcasting to x',
      'rotary-partial':
        'cat(rotary(x[..., :R]), x[..., R:]) along the last axis: the op with rotary_dim R passes the features past R unchanged',
    },
  },
  [
    rule(
      'rotary',
      op(
        'add',
        [
          op('mul', [rotateHalf, val('sin')], { commutative: true }),
          // x·cos in either order: which operand is x is known once rotate_half matched.
          op('mul', [anyValue, anyValue], { as: 'xc' }),
        ],
        { as: 'out', commutative: true },
      ),
      (m, ctx) => {
        const [p, q] = m.$xc.inputs as [string, string];
        const cos = p === m.x ? q : q === m.x ? p : undefined;
        if (cos === undefined) return undefined;
        const xs = ctx.typeOf(m.x).shape;
        const r = xs.length;
        const halves = notHalves(ctx, m.x, m.$lo, m.$hi);
        if (halves) return halves;
        if (normAxis(m.$cat.attrs.axis, r) !== r - 1)
          return decline(`the halves are joined along axis ${m.$cat.attrs.axis}, not the last`);
        if (m.$neg && m.$neg.attrs.factor !== -1)
          return decline(`the moved half is scaled by ${m.$neg.attrs.factor}, not negated`);
        const ys = ctx.typeOf(m.out).shape;
        if (!sameShape(ys, xs))
          return decline(
            `cos or sin broadcasts x [${xs.join(',')}] to [${ys.join(',')}]: rotary keeps x's shape`,
          );
        return ctx.emit('rotary', [m.x, cos, m.sin], {});
      },
    ),
    rule(
      'rotary-partial',
      op(
        'concat',
        [
          op('rotary', [op('slice', [val('x')], { as: 'head' }), val('cos'), val('sin')], {
            as: 'rot',
            singleUse: true,
          }),
          op('slice', [val('x')], { as: 'tail' }),
        ],
        { as: 'out' },
      ),
      (m, ctx) => {
        const xs = ctx.typeOf(m.x).shape;
        const d = xs.at(-1);
        const R = ctx.typeOf(m.head).shape.at(-1) as number;
        const [a, b] = [lastAxisRange(ctx, m.x, m.$head), lastAxisRange(ctx, m.x, m.$tail)];
        if (
          typeof d !== 'number' ||
          normAxis(m.$out.attrs.axis, xs.length) !== xs.length - 1 ||
          a?.join() !== `0,${R}` ||
          b?.join() !== `${R},${d}`
        )
          return decline(
            `cat(rotary(x[…, ${a?.join(':') ?? '?'}]), x[…, ${b?.join(':') ?? '?'}]) along axis ${m.$out.attrs.axis} is not x's first ${R} features rotated and the rest of its ${d} appended`,
          );
        // An inner rotary of fewer than R features passes the rest of x[..., :R] as well.
        return ctx.emit('rotary', [m.x, m.cos, m.sin], {
          interleaved: m.$rot.attrs.interleaved,
          rotary_dim: rotaryDim(m.$rot.attrs, R),
        });
      },
    ),
  ],
);
