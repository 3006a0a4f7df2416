import { stored } from './canonicalize.js';
import type { AttentionAttrs, Dim } from '@glimpse/ir';
import { sameShape } from '@glimpse/ir';
import type { MatchEnv } from '../pattern.js';
import { matchAt, op, val } from '../pattern.js';
import type { Decline, RewriteCtx } from '../rule.js';
import { decline, isDecline } from '../rule.js';

/** Where a value comes from, for decline reasons: `%s (relu)` or `%s (an input or param)`. */
export function from(v: string, env: MatchEnv): string {
  const n = env.producer(v);
  return `%${v} (${n === undefined ? 'an input or param' : n.op})`;
}

/**
 * The alignment of a causal condition over scores of shape `scores`: `tril(x)[k]` or a
 * constant boolean buffer (a sliced lower-triangular buffer, as eager Hugging Face
 * attention holds one) that is true exactly where j ≤ i + k, with k = 0 (top-left) or
 * k = S − T (bottom-right), the same for every leading index.
 */
export function causalAlignment(
  cond: string,
  scores: readonly Dim[],
  env: MatchEnv,
): Pick<AttentionAttrs, 'causal'> | Decline {
  const [T, S] = scores.slice(-2) as [Dim, Dim];
  const br = typeof T === 'number' && typeof S === 'number' ? S - T : undefined;
  const aligned = (k: number, what: string) =>
    k === 0
      ? { causal: 'top_left' as const }
      : k === br
        ? { causal: 'bottom_right' as const }
        : decline(
            `the causal mask ${what} is tril k=${k}: neither top-left (k=0) nor bottom-right (k=S−T)`,
          );
  const t = matchAt(op('tril', [val('x')], { as: 't' }), cond, env);
  if (t) {
    const shape = env.typeOf(cond).shape;
    if (shape[0] !== T || shape[1] !== S)
      return decline(
        `the causal mask %${cond} is [${shape.join(',')}], not the scores' last two axes [${T},${S}]`,
      );
    return aligned(t.$t!.attrs.k, `%${cond}`);
  }
  const ty = env.typeOf(cond);
  const c = env.constant(cond);
  if (c === undefined || ty.dtype !== 'bool')
    return decline(
      `the causal condition ${from(cond, env)} is neither tril nor a constant boolean buffer`,
    );
  const lead = ty.shape.slice(0, -2);
  if (!sameShape(ty.shape.slice(-2), [T, S]) || lead.some((d) => d !== 1))
    return decline(
      `the causal buffer %${cond} is [${ty.shape.join(',')}], not [..1, T, S] of the scores [${scores.join(',')}]`,
    );
  const [nT, nS] = [T as number, S as number];
  // k from the first row that is neither all true nor all false, then every element checked.
  let k: number | undefined;
  for (let i = 0; i < nT && k === undefined; i++) {
    let n = 0;
    while (n < nS && c[i * nS + n] !== 0) n++;
    if (n > 0 && n < nS) k = n - 1 - i;
  }
  const at = (k0: number) => {
    for (let i = 0; i < nT; i++)
      for (let j = 0; j < nS; j++) if ((c[i * nS + j] !== 0) !== j <= i + k0) return false;
    return true;
  };
  // A buffer without such a row (all true, say) matches k = 0 or S − T, or no alignment.
  for (const k0 of k === undefined ? [0, ...(br !== undefined ? [br] : [])] : [k])
    if (at(k0)) return aligned(k0, `%${cond}`);
  return decline(`the causal buffer %${cond} is not lower-triangular (true where j ≤ i + k)`);
}

/**
 * `where(causal, s, c)` under a mask — eager attention's `where(buffer, s, finfo.min)`
 * before the padding mask is added — is a causal mask with causal_fill c: hidden keys score
 * c before the mask, exactly as the where gives them to it. c must be a constant other
 * than -inf (the op's -inf causal mask applies after the mask: -inf + mask is NaN where the
 * mask is +inf or NaN, -inf there in the op). `undefined`: `s` is not such a where.
 */
export function peelCausalFill(
  s: string,
  ctx: RewriteCtx,
): { inner: string; attrs: Pick<AttentionAttrs, 'causal' | 'causal_fill'> } | Decline | undefined {
  const env = ctx.env;
  const w = matchAt(op('where', [val('cond'), val('inner'), val('fill')]), s, env);
  if (!w || !sameShape(ctx.typeOf(w.inner!).shape, ctx.typeOf(s).shape)) return undefined;
  const c = env.constant(w.fill!);
  if (c === undefined || c.length === 0 || !c.every((x) => Object.is(x, c[0])))
    return decline(`the fill ${from(w.fill!, env)} of the causal where %${s} is not a constant`);
  // The fill as the backends store it in its dtype (f32: fround; f16: finfo(f32).min is -inf).
  const fill = stored(ctx, w.fill!);
  if (fill === -Infinity)
    return decline(
      `the causal where %${s} fills -inf before the mask: the op's -inf causal mask applies after it (they differ where the mask is +inf or NaN)`,
    );
  const align = causalAlignment(w.cond!, ctx.typeOf(s).shape, env);
  if (isDecline(align)) return align;
  return { inner: w.inner!, attrs: { ...align, causal_fill: fill } };
}
