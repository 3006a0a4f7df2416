import type { AttentionAttrs, Dim, Node } from '@glimpse/ir';
import { sameShape } from '@glimpse/ir';
import type { MatchEnv, OpNode } from '../pattern.js';
import { matchAt, op, splat, val } from '../pattern.js';
import type { Decline, RewriteCtx } from '../rule.js';
import { rewritePass } from '../rewrite.js';
import { decline, isDecline, rule } from '../rule.js';
import { causalAlignment, from, peelCausalFill } from './fuse-attention-causal.js';

/**
 * `softmax(scale·q·kᵀ [softcap] [mask] [causal]) · v` → `attention(q, k, v, mask?)`.
 *
 * The outer part is one pattern: a `bmm` whose left operand is a single-use last-axis
 * `softmax`, or ONNX's guarded form `where(max(bias) = -inf, 0, softmax(s + bias))` (rows
 * whose bias masks every key get weights 0: masked_rows=mask, fused only when the guard
 * reads exactly the mask the scores add and there is no separate causal mask). Inside, the
 * score expression is peeled from the outside in, in the order the attention op applies
 * things (scale → softcap → mask → causal), each layer checked to be shape-preserving, each
 * constant it relies on re-read from the graph:
 *
 *   causal   where(tril(·)[k=0], s, -inf)               → causal=top_left (k = S−T: bottom_right)
 *   mask     where(m, s, c) | where(m, c, s) (masked_fill, via not) | add(s, m) either order
 *   fill     under the mask: where(tril(·) or a constant lower-triangular buffer, s, c), c a
 *            constant other than -inf → causal with causal_fill=c (eager attention's finfo.min)
 *   softcap  scale(tanh(scale(s, 1/c)), c)
 *   scale    scale(s, f)                                   (canonicalize made every form this)
 *   scores   bmm(q, kᵀ): kᵀ is bmm's transpose_b, or k := transpose(kᵀ) over the last two axes
 *
 * Any operand layout fuses exactly: k is *defined* as the transpose of what the matmul
 * reads, so a permutation that only looks like kᵀ still gives the same numbers (the
 * transposes then compose in canonicalize). Kv heads repeated by reshape–expand–reshape
 * (GQA written out) are unwrapped, since the op maps query heads to kv heads itself.
 * Scores used elsewhere too (returned, as ONNX's qk_matmul_output is) stay for those uses
 * and are recomputed inside the op: the probabilities are still never stored.
 * Declined: a softmax over another axis, probabilities used elsewhere, a non-constant
 * scale (it is a `mul`, not a `scale`), shapes the op cannot express.
 */
// The patterns are loose on purpose: what the rewrite checks itself (the softmax axis, the
// probabilities' other uses) it can then name when it declines.
const probs = op('softmax', [val('s')], { as: 'p' });
const outer = op('bmm', [probs, val('v')], { as: 'out' });
const guarded = op(
  'bmm',
  [op('where', [val('rowMasked'), splat('zero', (c) => c === 0), probs], { as: 'w' }), val('v')],
  { as: 'out' },
);
/** PyTorch 2's SDPA export: where(isnan(p), 0, p) — any NaN weight (a row the softmax made NaN) is 0. */
const nanGuarded = op(
  'bmm',
  [
    op(
      'where',
      [op('isnan', [val('tested')]), splat('zero', (c) => c === 0 && !Object.is(c, -0)), probs],
      { as: 'w' },
    ),
    val('v'),
  ],
  { as: 'out' },
);
/** rowMasked = (reduce_max(bias over its last axis, keepdims) = -inf). */
const rowMaskedBy = op(
  'equal',
  [
    op('reduce_max', [val('bias')], {
      where: (a, n, e) => a.keepdims && a.axes.length === 1 && isLastAxis(a.axes[0]!, e, n),
    }),
    splat('ninf', (c) => c === -Infinity),
  ],
  { commutative: true },
);

function isLastAxis(axis: number, e: MatchEnv, n: Pick<Node, 'inputs'>): boolean {
  const r = e.typeOf(n.inputs[0]!).shape.length;
  return axis === -1 || axis === r - 1;
}

interface Scores {
  q: string;
  k: string;
  attrs: Partial<AttentionAttrs>;
  mask?: string;
}

/** A scale op's factor as the written graph multiplies by it: an f32 (the scale op's rule). */
const factorOf = (n: OpNode<'scale'>) => Math.fround(n.attrs.factor);

/** Peel the score expression `s` down to its bmm; a decline says where it stopped. */
function peel(s: string, ctx: RewriteCtx): Scores | Decline {
  const env = ctx.env;
  const attrs: Partial<AttentionAttrs> = {};
  let mask: string | undefined;
  const shape = ctx.typeOf(s).shape;
  const layer = (v: string) => sameShape(ctx.typeOf(v).shape, shape);

  // causal: where(tril(x)[k], inner, -inf)
  const causal = matchAt(
    op('where', [
      op('tril', [val('x')], { as: 't' }),
      val('inner'),
      splat('fill', (c) => c === -Infinity),
    ]),
    s,
    env,
  );
  if (causal && layer(s)) {
    const align = causalAlignment(causal.t!, shape, env);
    if (isDecline(align)) return align;
    attrs.causal = align.causal;
    s = causal.inner!;
  }
  // mask: boolean where (either polarity) or additive
  const keep = matchAt(op('where', [val('m'), val('inner'), splat('fill')]), s, env);
  const fillFirst = keep
    ? undefined
    : matchAt(op('where', [val('m'), splat('fill'), val('inner')]), s, env);
  const add =
    keep || fillFirst
      ? undefined
      : matchAt(op('add', [val('inner'), val('m')], { commutative: true }), s, env);
  const masked = keep ?? fillFirst ?? add;
  if (masked && layer(s)) {
    if (add) {
      const r = peelAdditive(s, ctx, layer);
      if (isDecline(r)) return r;
      return twoCausal(attrs, r.attrs) ?? { ...r, attrs: { ...attrs, ...r.attrs } };
    }
    // The fill as the backends store it (an f32 constant written as -1e9 is fround(-1e9)).
    attrs.mask_fill = Math.fround(ctx.env.constant((keep ?? fillFirst)!.fill!)![0]!);
    mask = fillFirst ? ctx.emit('not', [masked.m!], {}, 'keep') : masked.m!;
    s = masked.inner!;
    // where(m, where(causal, s, c), fill): a causal fill under the boolean mask.
    const filled = peelCausalFill(s, ctx);
    if (isDecline(filled)) return filled;
    if (filled) {
      const why = twoCausal(attrs, filled.attrs);
      if (why) return why;
      Object.assign(attrs, filled.attrs);
      s = filled.inner;
    }
  }
  const inner = peelInner(s, ctx);
  return isDecline(inner)
    ? inner
    : {
        q: inner.q,
        k: inner.k,
        attrs: { ...attrs, ...inner.attrs },
        ...(mask !== undefined ? { mask } : {}),
      };
}

/** Scores under two causal masks (one outside the mask, one inside) have no attention form. */
function twoCausal(outer: Partial<AttentionAttrs>, inner: Partial<AttentionAttrs>) {
  return outer.causal !== undefined && inner.causal !== undefined
    ? decline('two causal masks, one each side of the mask: the op has one')
    : undefined;
}

/**
 * Additive masks, possibly several (a padding mask plus a bias): add(add(s, m1), m2) fuses
 * with mask m1 + m2 — the same sum up to the order of the additions. Either operand of each
 * add may be the scores: the one that peels down to a bmm.
 */
function peelAdditive(
  s: string,
  ctx: RewriteCtx,
  layer: (v: string) => boolean,
): (Scores & { mask: string }) | Decline {
  const add = matchAt(op('add', [val('a'), val('b')]), s, ctx.env);
  if (!add || !layer(s)) return decline(`no matmul q·kᵀ under the additive mask %${s}`);
  let why: Decline | undefined;
  for (const [sv, mv] of [
    [add.a!, add.b!],
    [add.b!, add.a!],
  ] as const) {
    const deeper = peelAdditive(sv, ctx, layer);
    if (!isDecline(deeper))
      return { ...deeper, mask: ctx.emit('add', [deeper.mask, mv], {}, 'mask') };
    // An add under the add: why it did not peel says more than that it is not a matmul.
    if (matchAt(op('add', [val('a'), val('b')]), sv, ctx.env) && layer(sv)) why ??= deeper;
    // add(where(causal, s, c), mask): eager attention's causal fill before the mask.
    const filled = peelCausalFill(sv, ctx);
    if (isDecline(filled)) {
      why ??= filled;
      continue;
    }
    const inner = peelInner(filled?.inner ?? sv, ctx);
    if (!isDecline(inner))
      return { ...inner, attrs: { ...inner.attrs, ...filled?.attrs }, mask: mv };
    why ??= inner;
  }
  return why!;
}

/** softcap → scale → bmm(q, kᵀ). */
function peelInner(
  s: string,
  ctx: RewriteCtx,
): { q: string; k: string; attrs: Partial<AttentionAttrs> } | Decline {
  const env = ctx.env;
  const attrs: Partial<AttentionAttrs> = { scale: 1 };
  const shape = ctx.typeOf(s).shape;
  const layer = (v: string) => sameShape(ctx.typeOf(v).shape, shape);
  // softcap: c·tanh(f·inner) is softcap c of scores f·c·inner (canonicalize has merged any
  // scale of the scores into f, so the scale is recovered from f and c).
  const cap = matchAt(
    op('scale', [op('tanh', [op('scale', [val('inner')], { as: 'pre' })], { as: 't' })], {
      as: 'post',
    }),
    s,
    env,
  );
  if (cap && layer(s) && layer(cap.t!) && layer(cap.pre!)) {
    const c = factorOf(cap.$post!);
    const f = factorOf(cap.$pre!);
    // c·tanh(x/c) with c = inf is NaN, while inf·tanh(f·s) is ±inf: only a finite cap fuses.
    if (c > 0 && Number.isFinite(c) && Number.isFinite(f)) {
      attrs.softcap = c;
      attrs.scale = f * c;
      s = cap.inner!;
    }
  }
  // The op applies its scale in one product inside the kernel (no stored intermediate to
  // overflow between the factors): factors multiply, unless finite ones over- or underflow.
  const combine = (f: number): Decline | undefined => {
    const a = attrs.scale!;
    const c = a * f;
    const finite = (x: number) => Number.isFinite(x) && x !== 0;
    if (finite(a) && finite(f) && !(finite(c) && Math.abs(c) >= 2 ** -126 && Math.abs(c) <= 3.4e38))
      return decline(`the scales ${a} and ${f} multiply to ${c}, not a normal f32 number`);
    attrs.scale = c;
    return undefined;
  };
  const sc = matchAt(op('scale', [val('inner')], { as: 'sc' }), s, env);
  if (sc && layer(s)) {
    const why = combine(factorOf(sc.$sc!));
    if (why) return why;
    s = sc.inner!;
  }
  // s / c for a c without an exact reciprocal (canonicalize keeps the div): the op's scale
  // 1/c rounds the logits once more, within the attention op's precision contract.
  const dv = matchAt(op('div', [val('inner'), splat('c')]), s, env);
  if (dv && layer(s)) {
    const c = Math.fround(env.constant(dv.c!)![0]!);
    if (!Number.isFinite(c) || c === 0)
      return decline(`the scores are divided by ${c}: only a finite, non-zero divisor fuses`);
    const why = combine(1 / c);
    if (why) return why;
    s = dv.inner!;
  }
  const mm = matchAt(op('bmm', [val('a'), val('b')], { as: 'mm' }), s, env);
  if (!mm)
    return decline(
      `the scores ${from(s, env)} are not a matmul q·kᵀ (with scale, softcap, mask or causal)`,
    );
  const n = mm.$mm!.attrs;
  // A scale on q or on k (q·(1/√d) before the product, as Hugging Face writes it) is the
  // op's scale: the kernels form the dot product without storing it, so no f32 overflow of
  // an unscaled product can appear that the written graph did not have (on the JS backend;
  // see docs/passes.md for WGSL). Only finite, non-zero factors: 0 or inf on an operand
  // reaches the sum differently than on the product.
  const unscaled = (v: string): string | Decline => {
    const p = matchAt(op('scale', [val('x')], { as: 'sc' }), v, env);
    if (!p) return v;
    const f = factorOf(p.$sc!);
    if (!Number.isFinite(f) || f === 0)
      return decline(`the operand %${v} is scaled by ${f}: only a finite, non-zero factor fuses`);
    const why = combine(f);
    return why ?? p.x!;
  };
  const a = unscaled(mm.a!);
  if (isDecline(a)) return a;
  const b = unscaled(mm.b!);
  if (isDecline(b)) return b;
  const q = n.transpose_a ? swapLast2(a, ctx) : a;
  const k = n.transpose_b ? b : swapLast2(b, ctx);
  return { q, k, attrs };
}

function swapLast2(v: string, ctx: RewriteCtx): string {
  const r = ctx.typeOf(v).shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return ctx.emit('transpose', [v], { perm }, 't');
}

/** reshape(expand(reshape(k → [.., Hkv, 1, S, d]) → [.., Hkv, g, S, d]) → [.., Hkv·g, S, d]) → k. */
function unrepeat(v: string, ctx: RewriteCtx): { base: string; group: number } | undefined {
  const m = matchAt(
    op('reshape', [op('expand', [op('reshape', [val('k')], { as: 'r1' })], { as: 'e' })]),
    v,
    ctx.env,
  );
  if (!m) return undefined;
  const k = ctx.typeOf(m.k!).shape;
  const r1 = ctx.typeOf(m.r1!).shape;
  const e = ctx.typeOf(m.e!).shape;
  const out = ctx.typeOf(v).shape;
  const n = k.length;
  if (n < 3 || r1.length !== n + 1 || e.length !== n + 1 || out.length !== n) return undefined;
  const lead = k.slice(0, n - 3);
  const [hkv, S, d] = k.slice(n - 3) as [Dim, Dim, Dim];
  const g = e[n - 2];
  const same = (a: readonly Dim[], b: readonly Dim[]) => sameShape(a, b);
  if (typeof hkv !== 'number' || typeof g !== 'number') return undefined;
  if (
    !same(r1, [...lead, hkv, 1, S, d]) ||
    !same(e, [...lead, hkv, g, S, d]) ||
    !same(out, [...lead, hkv * g, S, d])
  )
    return undefined;
  return { base: m.k!, group: g };
}

export const fuseAttention = rewritePass(
  'fuse-attention',
  'softmax(q·kᵀ·scale + mask)·v → one attention op',
  {
    pass: 'the op’s attributes reproduce the written graph: scale, softcap, mask fill (as stored in f32), causal alignment (of tril or of a constant buffer checked element by element), causal fill (a constant other than -inf, as stored in f32, set before the mask as the where under it sets it), masked_rows; a scale on q or k or a division of the scores is taken only when finite and non-zero, a softcap only when finite; a softmax row with +inf or NaN gives NaN in the op as in softmax. The kernels form q·kᵀ without storing it (the JS backend sums in float64), so the JS backend adds no f32 overflow; on WGSL, with the scale written on q, a product q·kᵀ beyond 3.4e38 whose scaled value is in range overflows where the written graph does not. Sums are reordered (online softmax): finite values follow the precision contract',
    rules: {
      'fuse-attention': 'see the pass',
      'fuse-attention-nan-guard':
        'PyTorch’s SDPA guard where(isnan(p), 0, p)·v: the fused op gives a NaN row exactly where the softmax does, and where its output is NaN the guarded sum Σ 0·v is NaN in v’s non-finite columns, +0 elsewhere — what where(isnan(y), Σ v·0, y) gives',
      'fuse-attention-guarded':
        'ONNX’s guard where(max(bias) = -inf, 0, softmax(s + bias)) is masked_rows=mask: rows whose every key is masked get weights 0 in both',
    },
  },
  [
    rule('fuse-attention', outer, (m, ctx) => fuse(m, ctx)),
    rule('fuse-attention-nan-guard', nanGuarded, (m, ctx) => {
      if (m.tested !== m.p)
        return decline(`the guard tests %${m.tested} for NaN, not the probabilities %${m.p}`);
      if (ctx.env.uses(m.w) !== 1)
        return decline(`the guarded probabilities %${m.w} have other uses: they must be stored`);
      if (!sameShape(ctx.typeOf(m.w).shape, ctx.typeOf(m.p).shape))
        return decline(`the guard %${m.w} broadcasts the probabilities to another shape`);
      if (m.$out.attrs.transpose_b) return decline(`the matmul reads v transposed (transpose_b)`);
      const y = fuse(m, ctx, undefined, 2);
      if (isDecline(y)) return y;
      // A row the softmax made NaN (every key masked, a NaN or +inf score) has weights 0:
      // Σ 0·v, NaN in v's non-finite columns and +0 elsewhere — a sum over the keys of
      // v·0. Every other NaN of the op's output is in such a column too (it comes from v),
      // so where the output is NaN that sum is the guarded graph's value.
      const zeroV = ctx.emit('mul', [m.v, m.zero], {}, 'zero_v');
      const rowValue = ctx.emit('reduce_sum', [zeroV], { axes: [-2], keepdims: true }, 'nan_row');
      const isNan = ctx.emit('isnan', [y], {}, 'nan');
      return ctx.emit('where', [isNan, rowValue, y], {}, 'guarded');
    }),
    rule('fuse-attention-guarded', guarded, (m, ctx) => {
      const g = matchAt(rowMaskedBy, m.rowMasked, ctx.env);
      if (!g)
        return decline(
          `the where's condition ${from(m.rowMasked, ctx.env)} is not (reduce_max(mask over keys) = -inf)`,
        );
      if (ctx.env.uses(m.w) !== 1)
        return decline(`the guarded probabilities %${m.w} have other uses: they must be stored`);
      if (!sameShape(ctx.typeOf(m.w).shape, ctx.typeOf(m.p).shape))
        return decline(`the guard %${m.w} broadcasts the probabilities to another shape`);
      return fuse(m, ctx, g.bias!);
    }),
  ],
);

/**
 * The attention op for `out = bmm(p, v)`, p the softmax of scores `s`; with `guardBias`, p
 * was guarded by the rows of that bias (masked_rows=mask): the mask must be that bias.
 */
function fuse(
  m: { s: string; p: string; v: string; out: string; $p: OpNode<'softmax'>; $out: OpNode<'bmm'> },
  ctx: RewriteCtx,
  guardBias?: string,
  /** Uses the probabilities have in the written graph (a NaN guard reads them twice). */
  probUses = 1,
): string | Decline {
  const axis = m.$p.attrs.axis;
  if (!isLastAxis(axis, ctx.env, m.$p))
    return decline(
      `softmax over axis ${axis}, not the key axis (the last, ${ctx.typeOf(m.s).shape.length - 1}) of the scores`,
    );
  if (ctx.env.uses(m.p) !== probUses || ctx.env.isOutput(m.p))
    return decline(`the probabilities %${m.p} are used elsewhere too: they must be stored`);
  if (m.$out.attrs.transpose_a)
    return decline(`the matmul reads the probabilities transposed (transpose_a)`);
  const sc = peel(m.s, ctx);
  if (isDecline(sc)) return sc;
  if (guardBias !== undefined) {
    if (sc.mask !== guardBias)
      return decline(`the row guard reads %${guardBias}, not the mask the scores add`);
    if ((sc.attrs.causal ?? 'none') !== 'none')
      return decline(`a row guard with a separate causal mask has no attention form`);
    sc.attrs.masked_rows = 'mask';
  }
  let v = m.$out.attrs.transpose_b ? swapLast2(m.v, ctx) : m.v;
  let k = sc.k;
  // GQA written out: both k and v repeated by the same group → the op's own head mapping.
  const ku = unrepeat(k, ctx);
  const vu = unrepeat(v, ctx);
  if (ku && vu && ku.group === vu.group) {
    k = ku.base;
    v = vu.base;
  }
  const inputs = [sc.q, k, v, ...(sc.mask !== undefined ? [sc.mask] : [])];
  const y = ctx.emit('attention', inputs, sc.attrs, 'attention');
  // The fused op must produce exactly the matmul's shape (no broadcasting it cannot do).
  const got = ctx.typeOf(y).shape;
  const want = ctx.typeOf(m.out).shape;
  return sameShape(got, want)
    ? y
    : decline(
        `the attention op would give [${got.join(',')}], the matmul gives [${want.join(',')}]`,
      );
}
