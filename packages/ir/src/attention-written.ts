import type { GraphBuilder, Val } from './builder.js';
import { UnsupportedError } from './errors.js';
import type { AttentionAttrs } from './ops/index.js';
import { BSHD_PERM } from './ops/index.js';

/** The values of the written-out attention a caller may want besides its output. */
export interface WrittenAttention {
  /** The output, as the op's (layout included). */
  readonly y: Val;
  /** Masked scores, bhsd order [..., Hq, T, S]. */
  readonly scores: Val;
  /** Softmax weights after the masked_rows rule, bhsd order. */
  readonly p: Val;
  /** v in bhsd order with kv heads repeated to Hq (what p multiplies). */
  readonly v: Val;
}

/**
 * `attention` written out as the plain ops it stands for, from its definition
 * (packages/ir/src/ops/attention.ts): q·kᵀ (bmm), scale, softcap (scale·tanh·scale), the
 * mask (add, or where with mask_fill), the causal mask (where(tril, s, -inf); with a
 * causal_fill other than -inf, where(tril, s, fill) before the mask), softmax, the
 * masked_rows rule (where on the row maximum of the hiding bias), ·v; bshd through bhsd
 * transposes, GQA by repeating kv heads (reshape, expand, reshape). Backends lower a fused
 * node they decline to this, and the precision tests hold fused kernels to it: its f32
 * evaluation is the "plain f32 computation" of docs/design.md.
 */
export function writtenAttention(
  b: GraphBuilder,
  q: Val,
  k: Val,
  v: Val,
  mask: Val | undefined,
  a: AttentionAttrs,
): WrittenAttention {
  const bshd = a.layout === 'bshd';
  if (bshd) [q, k, v] = [q, k, v].map((x) => b.transpose(x, [...BSHD_PERM])) as [Val, Val, Val];
  const r = q.type.shape.length;
  const dh = q.type.shape[r - 1] as number;
  const dtype = q.type.dtype;
  // GQA: repeat each kv head group times (reshape, expand, reshape).
  if (r >= 3) {
    const hq = q.type.shape[r - 3] as number;
    const hkv = k.type.shape[r - 3] as number;
    if (hq !== hkv) {
      const rep = (x: Val) => {
        const s = x.type.shape;
        const lead = s.slice(0, r - 3);
        const [S, d] = s.slice(r - 2);
        const e = b.reshape(x, [...lead, hkv, 1, S!, d!]);
        const x2 = b.op('expand', [e], { shape: [...lead, hkv, hq / hkv, S!, d!] });
        return b.reshape(x2, [...lead, hq, S!, d!]);
      };
      [k, v] = [rep(k), rep(v)];
    }
  }
  let s = b.op('scale', [b.bmm(q, k, { transpose_b: true })], {
    factor: a.scale ?? 1 / Math.sqrt(dh),
  });
  if (a.softcap > 0) {
    const t = b.op('tanh', [b.op('scale', [s], { factor: 1 / a.softcap })], {});
    s = b.op('scale', [t], { factor: a.softcap });
  }
  const ninf = b.constant(-Infinity, dtype, []);
  const zero = b.constant(0, dtype, []);
  const tril = () => {
    const [T, S] = s.type.shape.slice(-2);
    if (a.causal === 'bottom_right' && (typeof T !== 'number' || typeof S !== 'number'))
      throw new UnsupportedError('causal=bottom_right written out needs concrete T and S');
    return b.op('tril', [s], {
      k: a.causal === 'top_left' ? 0 : (S as number) - (T as number),
    });
  };
  // causal_fill other than -inf: where(tril, s, fill) before the mask (it hides no key).
  const lastCausal = a.causal !== 'none' && a.causal_fill === -Infinity;
  if (a.causal !== 'none' && !lastCausal)
    s = b.op('where', [tril(), s, b.constant(a.causal_fill, dtype, [])], {});
  // bias: -inf where a key is hidden (masked_rows=mask looks for rows it hides entirely).
  const byMask = a.masked_rows === 'mask';
  let bias: Val | undefined;
  if (mask !== undefined) {
    if (mask.type.dtype === 'bool') {
      s = b.op('where', [mask, s, b.constant(a.mask_fill, dtype, [])], {});
      if (byMask && a.mask_fill === -Infinity) bias = b.op('where', [mask, zero, ninf], {});
    } else {
      s = b.op('add', [s, mask], {});
      bias = mask;
    }
  }
  if (lastCausal) {
    const tri = tril();
    s = b.op('where', [tri, s, ninf], {});
    if (byMask) {
      const c = b.op('where', [tri, zero, ninf], {});
      bias = bias === undefined ? c : b.op('add', [bias, c], {});
    }
  }
  let p = b.op('softmax', [s], { axis: -1 });
  const rowMax = (x: Val) =>
    b.op('reduce_max', [x], { axes: [x.type.shape.length - 1], keepdims: true });
  // mask: a row whose every key is hidden has weights 0 (its output Σ 0·v).
  if (byMask && bias !== undefined) {
    const full = b.op('expand', [bias], { shape: s.type.shape });
    p = b.op('where', [b.op('equal', [rowMax(full), ninf], {}), zero, p], {});
  }
  let y = b.bmm(p, v);
  // zero: a row whose scores are all -inf is 0.
  if (a.masked_rows === 'zero')
    y = b.op('where', [b.op('equal', [rowMax(s), ninf], {}), zero, y], {});
  if (bshd) y = b.transpose(y, [...BSHD_PERM]);
  return { y, scores: s, p, v };
}
