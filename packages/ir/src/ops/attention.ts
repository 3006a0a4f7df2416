import type { Dim } from '../shape.js';
import { broadcastShapes, sameShape } from '../shape.js';
import type { TensorType } from '../types.js';
import type { OpDef } from './define.js';
import { defineOp, fail, FLOATS } from './define.js';

export interface AttentionAttrs {
  /** Multiplier of q·kᵀ; absent means 1/√dh. */
  scale?: number;
  causal: 'none' | 'top_left' | 'bottom_right';
  softcap: number;
  mask_fill: number;
  masked_rows: 'nan' | 'zero' | 'mask';
  /** bhsd: q/k/v/output [..., heads, seq, d]; bshd: [B, seq, heads, d] (heads inside, as linear layers produce them). */
  layout: 'bhsd' | 'bshd';
}

/** [B, S, H, d] ↔ [B, H, S, d]. */
export const BSHD_PERM = [0, 2, 1, 3] as const;
const toBhsd = (s: readonly Dim[]) => BSHD_PERM.map((p) => s[p]!);

/**
 * Fused scaled-dot-product attention:
 *   s = scale · q·kᵀ;  s = softcap·tanh(s/softcap) if softcap > 0;
 *   additive mask: s += mask;  boolean mask: s = mask ? s : mask_fill;
 *   causal: s[i, j] = -inf where j > i + offset (offset 0 top-left, S - T bottom-right);
 *   p = softmax(s) over keys;  out = p·v.
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
});
