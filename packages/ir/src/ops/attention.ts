import type { Dim } from '../shape.js';
import { broadcastShapes, broadcastStrides, numel, sameShape, stridesOf } from '../shape.js';
import type { TensorType } from '../types.js';
import type { OpDef } from './define.js';
import { defineOp, fail, FLOATS } from './define.js';

export interface AttentionAttrs {
  /** Multiplier of q·kᵀ; absent means 1/√dh. */
  scale?: number;
  causal: 'none' | 'top_left' | 'bottom_right';
  /** Score of a causally hidden key before the mask; -inf: -inf after the mask (see the op). */
  causal_fill: number;
  softcap: number;
  mask_fill: number;
  masked_rows: 'nan' | 'zero' | 'mask';
  /** bhsd: q/k/v/output [..., heads, seq, d]; bshd: [B, seq, heads, d] (heads inside, as linear layers produce them). */
  layout: 'bhsd' | 'bshd';
}

/** [B, S, H, d] ↔ [B, H, S, d]. */
export const BSHD_PERM = [0, 2, 1, 3] as const;
const toBhsd = (s: readonly Dim[]) => BSHD_PERM.map((p) => s[p]!);

/** Element strides (lead, head, row) of an operand; its feature axis is contiguous. */
export type AttentionStrides = readonly [lead: number, head: number, row: number];

/**
 * The geometry of one attention node under concrete shapes, in [..., H, S, d] terms
 * whatever the layout (`bshd` only changes strides). The reference and every backend's
 * kernel read it from here; nothing else decodes an attention node's shapes.
 */
export interface AttentionGeometry {
  /** Leading (batch) axes of q, and their product. */
  readonly lead: readonly number[];
  readonly nLead: number;
  readonly Hq: number;
  readonly Hkv: number;
  /** Query heads per kv head (GQA): query head h reads kv head ⌊h / group⌋. */
  readonly group: number;
  readonly T: number;
  readonly S: number;
  readonly dh: number;
  readonly dv: number;
  /**
   * Strides of q, k, v and the output. Lead axes are contiguous among themselves in every
   * layout, so the flat lead index times the innermost lead stride is the offset.
   */
  readonly q: AttentionStrides;
  readonly k: AttentionStrides;
  readonly v: AttentionStrides;
  readonly o: AttentionStrides;
  /** Multiplier of q·kᵀ (the attribute, or 1/√dh). */
  readonly scale: number;
  /**
   * Row i sees keys j ≤ i + causalOffset; undefined without a causal mask or with a
   * `causal_fill` other than -inf. The hidden keys' scores are -inf whatever the mask, so
   * kernels may skip them (only their v rows' non-finite values still count: 0·v).
   */
  readonly causalOffset: number | undefined;
  /**
   * A causal mask with a `causal_fill` other than -inf: the scores of keys j > i + offset
   * are `value` before the mask applies. Every key takes part in the softmax; none is skipped.
   */
  readonly causalFill?: { readonly offset: number; readonly value: number };
  /**
   * Mask strides over the scores [...lead, Hq, T, S] (0 on broadcast axes): per lead axis,
   * then head, query row, key. Undefined without a mask.
   */
  readonly mask?: { readonly lead: readonly number[]; h: number; t: number; s: number };
}

export function attentionGeometry(
  inShapes: readonly (readonly number[])[],
  outShape: readonly number[],
  a: Pick<AttentionAttrs, 'layout' | 'scale' | 'causal'> & { causal_fill?: number },
): AttentionGeometry {
  const bshd = a.layout === 'bshd';
  // bhsd view of an operand's shape and strides.
  const view = (shape: readonly number[]) => {
    const st = stridesOf(shape);
    return bshd
      ? { shape: BSHD_PERM.map((p) => shape[p]!), st: BSHD_PERM.map((p) => st[p]!) }
      : { shape: [...shape], st };
  };
  const [q, k, v] = inShapes.slice(0, 3).map(view) as [
    ReturnType<typeof view>,
    ReturnType<typeof view>,
    ReturnType<typeof view>,
  ];
  const r = q.shape.length;
  const lead = q.shape.slice(0, Math.max(0, r - 3));
  // A rank-2 operand has one head, a rank-3 one no lead axes.
  const strides = (x: typeof q): AttentionStrides => [
    r >= 4 ? x.st[r - 4]! : 0,
    r >= 3 ? x.st[r - 3]! : 0,
    x.st[r - 2]!,
  ];
  const Hq = r >= 3 ? q.shape[r - 3]! : 1;
  const Hkv = r >= 3 ? k.shape[r - 3]! : 1;
  const T = q.shape[r - 2]!;
  const S = k.shape[r - 2]!;
  const dh = q.shape[r - 1]!;
  const m = inShapes[3];
  let mask: AttentionGeometry['mask'];
  if (m) {
    const scores = [...lead, ...(r >= 3 ? [Hq] : []), T, S];
    const st = broadcastStrides(m, scores);
    const n = scores.length;
    mask = {
      lead: st.slice(0, lead.length),
      h: r >= 3 ? st[n - 3]! : 0,
      t: st[n - 2]!,
      s: st[n - 1]!,
    };
  }
  const offset = a.causal === 'none' ? undefined : a.causal === 'bottom_right' ? S - T : 0;
  const fill = a.causal_fill ?? -Infinity;
  const filled = offset !== undefined && fill !== -Infinity;
  return {
    lead,
    nLead: numel(lead),
    Hq,
    Hkv,
    group: Hkv > 0 ? Hq / Hkv : 1,
    T,
    S,
    dh,
    dv: v.shape[r - 1]!,
    q: strides(q),
    k: strides(k),
    v: strides(v),
    o: strides(view(outShape)),
    scale: a.scale ?? 1 / Math.sqrt(dh),
    causalOffset: filled ? undefined : offset,
    ...(filled ? { causalFill: { offset, value: fill } } : {}),
    ...(mask ? { mask } : {}),
  };
}

/** Offset of lead index `l` (flat over `g.lead`) in the mask. */
export function maskLeadOffset(g: AttentionGeometry, l: number): number {
  let off = 0;
  for (let a = g.lead.length - 1; a >= 0; a--) {
    off += (l % g.lead[a]!) * g.mask!.lead[a]!;
    l = Math.floor(l / g.lead[a]!);
  }
  return off;
}

/**
 * Fused scaled-dot-product attention:
 *   s = scale · q·kᵀ;  s = softcap·tanh(s/softcap) if softcap > 0;
 *   additive mask: s += mask;  boolean mask: s = mask ? s : mask_fill;
 *   causal: s[i, j] = -inf where j > i + offset (offset 0 top-left, S - T bottom-right);
 *   p = softmax(s) over keys;  out = p·v.
 * With a causal_fill c other than -inf the causal mask comes first instead: s[i, j] = c
 * where j > i + offset, then the mask applies to it as to any score (c + mask, or mask_fill
 * where a boolean mask is false) — where(tril, s, finfo.min) + mask, as eager Hugging Face
 * attention writes it. A finite c is not -inf: a row whose visible keys all score ≈ c
 * spreads its weight over the hidden keys too, and no key is skipped. Such a causal mask
 * hides no key for masked_rows=mask.
 * Shapes: q [..., Hq, T, dh], k [..., Hkv, S, dh], v [..., Hkv, S, dv] with Hq a multiple of
 * Hkv (GQA: query head h reads kv head ⌊h / (Hq/Hkv)⌋); rank-2/3 inputs have no head axis.
 * Rows with nothing to attend to follow `masked_rows`:
 *   nan   a row whose every score is -inf is NaN (what the unfused softmax gives);
 *   zero  such a row is 0;
 *   mask  a row whose every key is masked — by the causal mask, an additive mask of -inf,
 *         or a false boolean mask with mask_fill -inf — has weights 0, whatever its scores
 *         (ONNX Attention: where(max(bias) = -inf, 0, softmax(s))·v); its output is Σ 0·v,
 *         so 0, or NaN in a column of v holding NaN or ±inf. Other rows are as for nan.
 */
export const attention: OpDef<AttentionAttrs> = defineOp<AttentionAttrs>({
  name: 'attention',
  doc: 'fused softmax(scale·q·kᵀ + mask)·v without materialising the scores',
  inputs: [
    { name: 'q', dtypes: FLOATS },
    { name: 'k', dtypes: FLOATS },
    { name: 'v', dtypes: FLOATS },
    { name: 'mask', optional: true },
  ],
  attrs: {
    scale: { kind: 'float', doc: 'multiplier of q·kᵀ (default 1/√dh)' },
    causal: {
      kind: 'enum',
      values: ['none', 'top_left', 'bottom_right'],
      default: 'none',
      doc: 'causal mask and its alignment',
    },
    causal_fill: {
      kind: 'float',
      default: -Infinity,
      doc: 'score of a causally hidden key: -inf (set after the mask, whatever it holds; kernels skip such keys), or any other value, set before the mask applies (eager attention: where(tril, s, finfo.min) + mask; no key skipped)',
    },
    softcap: { kind: 'float', default: 0, doc: 'softcap·tanh(s/softcap) when > 0' },
    mask_fill: { kind: 'float', default: -Infinity, doc: 'score where a boolean mask is false' },
    masked_rows: {
      kind: 'enum',
      values: ['nan', 'zero', 'mask'],
      default: 'nan',
      doc: 'rows with nothing to attend to: nan (all scores -inf → NaN, as softmax), zero (→ 0), mask (every key masked → weights 0, as ONNX)',
    },
    layout: {
      kind: 'enum',
      values: ['bhsd', 'bshd'],
      default: 'bhsd',
      doc: 'q/k/v/output as [..., H, S, d] or [B, S, H, d] (rank 4); the mask is always [..., H, T, S]',
    },
  },
  infer: (inputs, attrs) => {
    if (attrs.layout === 'bshd') {
      if (inputs.slice(0, 3).some((t) => t.shape.length !== 4))
        fail('layout bshd needs rank-4 q, k, v', inputs);
      const asBhsd = inputs.map((t, i) => (i < 3 ? { ...t, shape: toBhsd(t.shape) } : t));
      const [out] = attention.infer(asBhsd, { ...attrs, layout: 'bhsd' });
      return [{ ...out!, shape: toBhsd(out!.shape) }];
    }
    const [q, k, v, m] = inputs as [TensorType, TensorType, TensorType, TensorType | undefined];
    const r = q.shape.length;
    if (r < 2 || k.shape.length !== r || v.shape.length !== r)
      fail('q, k and v must have the same rank ≥ 2', inputs);
    if (k.dtype !== q.dtype || v.dtype !== q.dtype) fail('q, k, v dtypes differ', inputs);
    const dh = q.shape[r - 1]!;
    const [S, dk] = [k.shape[r - 2]!, k.shape[r - 1]!];
    if (dk !== dh) fail(`q has head size ${dh}, k has ${dk}`, inputs);
    if (v.shape[r - 2] !== S) fail(`k has ${S} keys, v has ${v.shape[r - 2]}`, inputs);
    for (let i = 0; i < r - 2; i++) {
      const [a, b, c] = [q.shape[i]!, k.shape[i]!, v.shape[i]!];
      if (b !== c) fail(`k and v differ on axis ${i}`, inputs);
      const gqa = r >= 3 && i === r - 3 && typeof a === 'number' && typeof b === 'number';
      if (a !== b && !(gqa && b > 0 && a % (b as number) === 0))
        fail(`q and k differ on axis ${i} (${a} vs ${b})`, inputs);
    }
    const out = [...q.shape.slice(0, -1), v.shape[r - 1]!];
    if (m !== undefined) {
      if (m.dtype !== 'bool' && m.dtype !== q.dtype)
        fail(`mask must be bool or ${q.dtype}, got ${m.dtype}`, inputs);
      const scores = [...q.shape.slice(0, -1), S];
      const b = broadcastShapes([m.shape, scores]);
      if (typeof b === 'string' || !sameShape(b, scores))
        fail(`mask does not broadcast to the scores [${scores.join(',')}]`, inputs);
    }
    return [{ dtype: q.dtype, shape: out }];
  },
  traits: {
    category: 'attention',
    fused: true,
    flops: (i, o, a) => {
      const g = attentionGeometry(i, o[0]!, a);
      return g.nLead * g.Hq * g.T * g.S * (2 * g.dh + 2 * g.dv + 5);
    },
  },
});
