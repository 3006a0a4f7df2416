/** ONNX Attention (opsets 23, 24) onto the fused attention op. */
import type { Dim, DType, Val } from '@glimpse/ir';
import type { Operand } from '../operand.js';
import { reserveConst, shapeOf } from '../operand.js';

import {
  attrFloat,
  attrInt,
  dyn,
  fresh,
  indices,
  isIntType,
  need,
  out,
  unsupported,
  val,
} from './context.js';
import type { Cx } from './context.js';

/**
 * ONNX Attention (opsets 23 and 24) onto the fused attention op, following the operator's
 * function: scores = softcap(scale·Q·Kᵀ) + bias, bias = mask (bool → 0/-inf, padded with
 * -inf / false when shorter than the keys) + causal + nonpad padding; rows whose bias is
 * -inf for every key get weights 0 (masked_rows=mask). 3-D inputs ([B, S, heads·d], with
 * q_num_heads/kv_num_heads) become [B, heads, S, d]; past_key/past_value are prepended to
 * K/V (present_key/value are those concatenations). is_causal is aligned top-left without
 * a cache, offset by the past length with past_key, and per batch by nonpad_kv_seqlen[b] − S_q
 * with nonpad_kv_seqlen alone (a boolean mask built from it). qk_matmul_output (modes 0–3:
 * scaled Q·Kᵀ, softcapped, plus bias, softmax) is computed unfused when asked for.
 */
export function attentionOp(ins: readonly (Operand | undefined)[], cx: Cx): Operand[] {
  const [q, k, v] = [need(cx, ins, 0), need(cx, ins, 1), need(cx, ins, 2)];
  const [mask, pastK, pastV, nonpad] = [ins[3], ins[4], ins[5], ins[6]];
  if ((pastK === undefined) !== (pastV === undefined))
    unsupported(cx, 'needs both past_key and past_value, or neither');
  const mode = attrInt(cx, 'qk_matmul_output_mode', 0);
  if (cx.outputs[3] && !(mode >= 0 && mode <= 3))
    unsupported(cx, `qk_matmul_output_mode ${mode} is not one of 0–3`);
  const b = cx.b;
  const threeD = shapeOf(q).length === 3;
  // [B, S, H·d] → [B, H, S, d]
  const to4 = (x: Operand, heads: number, hint: string): Val => {
    const vx = val(cx, x, hint);
    if (vx.type.shape.length === 4) return vx;
    if (vx.type.shape.length !== 3 || !(heads > 0))
      unsupported(
        cx,
        `${hint} must be 4-D, or 3-D with ${hint === 'q' ? 'q' : 'kv'}_num_heads set`,
      );
    return toHeads(cx, vx, heads, hint);
  };
  const q4 = to4(q, attrInt(cx, 'q_num_heads', 0), 'q');
  let k4 = to4(k, attrInt(cx, 'kv_num_heads', 0), 'k');
  let v4 = to4(v, attrInt(cx, 'kv_num_heads', 0), 'v');
  if (pastK && pastV) {
    const cat = (past: Operand, x: Val, i: number, hint: string) =>
      b.op(
        'concat',
        [val(cx, past, `past_${hint}`), x],
        { axis: 2 },
        cx.outputs[i] || fresh(cx, `present_${hint}`),
      );
    k4 = cat(pastK, k4, 1, 'key');
    v4 = cat(pastV, v4, 2, 'value');
  }
  const [T, total] = [q4.type.shape[2]!, k4.type.shape[2]!];
  const causal = attrInt(cx, 'is_causal', 0) === 1;
  let m = mask ? fullMask(cx, val(cx, mask, 'mask'), total) : undefined;
  const withMask = (keep: Val) => (m = m === undefined ? keep : combineMasks(cx, m, keep));
  // The causal frontier: key j is visible from query i when j ≤ i + offset; offset 0 without
  // a cache (the op's top_left), the past length with past_key (bottom_right when the new
  // keys are as many as the queries, else a mask), nonpad[b] − T per batch (a mask).
  let causalAttr: 'none' | 'top_left' | 'bottom_right' = 'none';
  if (causal && pastK) {
    const P = shapeOf(pastK)[2]!;
    if (total === P || shapeOf(k)[shapeOf(k).length - 2] === T) causalAttr = 'bottom_right';
    else withMask(frontierMask(cx, T, total, P));
  } else if (causal && !nonpad) causalAttr = 'top_left';
  if (nonpad)
    withMask(nonpadMask(cx, val(cx, nonpad, 'nonpad_kv_seqlen'), T, total, causal && !pastK));
  const scale = cx.attrs.has('scale') ? attrFloat(cx, 'scale', 1) : undefined;
  const softcap = attrFloat(cx, 'softcap', 0);
  const attrs = {
    causal: causalAttr,
    softcap,
    masked_rows: 'mask',
    ...(scale !== undefined ? { scale } : {}),
  } as const;
  let y = b.op(
    'attention',
    m ? [q4, k4, v4, m] : [q4, k4, v4],
    attrs,
    threeD ? fresh(cx, 'y_bhsd') : out(cx),
  );
  if (threeD) y = fromHeads(cx, y);
  const outs: Operand[] = [dyn(y), dyn(k4), dyn(v4)];
  if (cx.outputs[3]) outs.push(dyn(qkOutput(cx, mode, q4, k4, m, attrs)));
  return outs;
}

/** [B, S, heads·d] → [B, heads, S, d]: the heads of a 3-D projection. */
export function toHeads(cx: Cx, x: Val, heads: number, hint: string): Val {
  const [B, S] = x.type.shape as [Dim, Dim];
  return cx.b.transpose(
    cx.b.reshape(x, [B, S, heads, -1], fresh(cx, `${hint}_heads`)),
    [0, 2, 1, 3],
    fresh(cx, `${hint}_bhsd`),
  );
}

/** [B, heads, S, d] → [B, S, heads·d], named as the node's output. */
export function fromHeads(cx: Cx, y: Val): Val {
  const t = cx.b.transpose(y, [0, 2, 1, 3], fresh(cx, 'y_bshd'));
  const [B, S] = t.type.shape as [Dim, Dim];
  return cx.b.reshape(t, [B, S, -1], out(cx));
}

/** The mask padded to `total` keys with -inf / false (ONNX allows a shorter one). */
function fullMask(cx: Cx, m: Val, total: Dim): Val {
  const ms = m.type.shape;
  const last = ms[ms.length - 1];
  if (typeof last !== 'number' || typeof total !== 'number' || last >= total) return m;
  const pad = [...ms.slice(0, -1), total - last];
  if (pad.some((d) => typeof d !== 'number')) unsupported(cx, 'a short mask with symbolic dims');
  const fill = m.type.dtype === 'bool' ? 0 : -Infinity;
  const b = cx.b;
  return b.op(
    'concat',
    [m, b.constant(fill, m.type.dtype, pad as number[], fresh(cx, `mask_pad`))],
    { axis: -1 },
    fresh(cx, `mask_full`),
  );
}

/**
 * keep[b, 0, i, j] = j < nonpad[b] (and, causal, j ≤ i + nonpad[b] − T): bool [B, 1, T|1, S],
 * from constant index grids compared with nonpad reshaped to [B, 1, 1, 1].
 */
function nonpadMask(cx: Cx, nonpad: Val, T: Dim, S: Dim, causal: boolean): Val {
  const b = cx.b;
  const dt = nonpad.type.dtype;
  if (!isIntType(dt) || nonpad.type.shape.length !== 1)
    unsupported(
      cx,
      `nonpad_kv_seqlen must be a 1-D integer tensor, got ${dt}[${nonpad.type.shape.join(',')}]`,
    );
  if (typeof T !== 'number' || typeof S !== 'number')
    unsupported(cx, `nonpad_kv_seqlen with symbolic sequence lengths (${T}, ${S})`);
  const B = nonpad.type.shape[0] as number;
  const pad = keyRange(cx, nonpad, B, S);
  if (!causal) return pad;
  const n = b.reshape(nonpad, [B, 1, 1, 1], fresh(cx, 'nonpad4'));
  // j ≤ i + nonpad − T  ⟺  j − i + T − 1 < nonpad
  reserveConst(dt, [T, S]);
  const grid = Array.from({ length: T * S }, (_, x) => (x % S) - Math.floor(x / S) + T - 1);
  const frontier = b.op(
    'less',
    [b.constant(grid, dt, [T, S], fresh(cx, 'causal_index')), n],
    {},
    fresh(cx, 'nonpad_causal'),
  );
  return b.op('and', [pad, frontier], {}, fresh(cx, 'nonpad_mask'));
}

/**
 * keep [B, 1, 1, T] from a 1-D mask index: key j is kept when start[b] ≤ j < end[b] — ends
 * are its first B entries, starts (0 without) the next B (onnxruntime's mask_index forms).
 */
export function keyRange(cx: Cx, mi: Val, B: number, T: number): Val {
  const b = cx.b;
  const keys = indices(cx, T, mi.type.dtype, [1, T], 'key_index');
  const twoParts = mi.type.shape[0] === 2 * B;
  const half = (from: number, hint: string) =>
    b.reshape(
      twoParts
        ? b.op('slice', [mi], { axis: 0, start: from, end: from + B }, fresh(cx, `${hint}1`))
        : mi,
      [B, 1],
      fresh(cx, hint),
    );
  let kept = b.op('less', [keys, half(0, 'ends')], {}, fresh(cx, 'before_end'));
  if (twoParts) {
    const early = b.op('less', [keys, half(B, 'starts')], {}, fresh(cx, 'before_start'));
    kept = b.op(
      'and',
      [kept, b.op('not', [early], {}, fresh(cx, 'from_start'))],
      {},
      fresh(cx, 'in_range'),
    );
  }
  return b.reshape(kept, [B, 1, 1, T], fresh(cx, 'keep'));
}

/** bool [T, S]: j ≤ i + offset (a causal frontier the op's two alignments do not express). */
export function frontierMask(cx: Cx, T: Dim, S: Dim, offset: Dim): Val {
  if (typeof T !== 'number' || typeof S !== 'number' || typeof offset !== 'number')
    unsupported(cx, `is_causal with a past of symbolic length and ${T} queries ≠ new keys`);
  reserveConst('bool', [T, S]);
  const grid = Array.from({ length: T * S }, (_, x) =>
    x % S <= Math.floor(x / S) + offset ? 1 : 0,
  );
  return cx.b.constant(grid, 'bool', [T, S], fresh(cx, `causal`));
}

/** A user mask and a boolean keep-mask: `and` for bool, + where(keep, 0, -inf) for additive. */
function combineMasks(cx: Cx, m: Val, keep: Val): Val {
  const b = cx.b;
  if (m.type.dtype === 'bool') return b.op('and', [m, keep], {}, fresh(cx, 'mask_all'));
  return b.op('add', [m, additive(cx, keep, m.type.dtype)], {}, fresh(cx, 'mask_all'));
}

/**
 * bool → 0 where true, `fill` where false: ONNX's conversion of boolean masks (−inf), and
 * onnxruntime's additive masks (its mask_filter_value).
 */
export function additive(cx: Cx, m: Val, dtype: DType, fill = -Infinity): Val {
  const b = cx.b;
  return b.op(
    'where',
    [
      m,
      b.constant(0, dtype, [], fresh(cx, 'zero')),
      b.constant(fill, dtype, [], fresh(cx, 'ninf')),
    ],
    {},
    fresh(cx, 'bias'),
  );
}

/**
 * qk_matmul_output, unfused, in the function's order: 0 the scaled Q·Kᵀ, 1 after softcap,
 * 2 plus the bias (mask and causal), 3 the softmax with fully masked rows 0.
 */
function qkOutput(
  cx: Cx,
  mode: number,
  q4: Val,
  k4: Val,
  m: Val | undefined,
  a: { causal: 'none' | 'top_left' | 'bottom_right'; softcap: number; scale?: number },
): Val {
  const b = cx.b;
  const name = (last: number) => (mode === last ? cx.outputs[3]! : fresh(cx, `qk${last}`));
  const [Hq, Hkv] = [q4.type.shape[1]!, k4.type.shape[1]!];
  let kq = k4;
  if (Hq !== Hkv) {
    // GQA: query head h reads kv head ⌊h / g⌋ — repeat each kv head g times.
    if (typeof Hq !== 'number' || typeof Hkv !== 'number')
      unsupported(cx, 'qk_matmul_output with symbolic head counts');
    const [B, , S, d] = k4.type.shape as [Dim, Dim, Dim, Dim];
    const g = Hq / Hkv;
    const r5 = b.reshape(k4, [B, Hkv, 1, S, d], fresh(cx, 'k_rep5'));
    kq = b.reshape(
      b.op('expand', [r5], { shape: [B, Hkv, g, S, d] }, fresh(cx, 'k_repx')),
      [B, Hq, S, d],
      fresh(cx, 'k_rep'),
    );
  }
  const dh = q4.type.shape[3] as number;
  const qk = b.bmm(q4, kq, { transpose_b: true }, fresh(cx, 'qk'));
  let x = b.op('scale', [qk], { factor: a.scale ?? 1 / Math.sqrt(dh) }, name(0));
  if (mode === 0) return x;
  if (a.softcap > 0) {
    const t = b.op(
      'tanh',
      [b.op('scale', [x], { factor: 1 / a.softcap }, fresh(cx, 'qk_capin'))],
      {},
      fresh(cx, 'qk_tanh'),
    );
    x = b.op('scale', [t], { factor: a.softcap }, name(1));
  }
  if (mode === 1) return x;
  // The bias: the (additive) mask plus the causal -inf triangle.
  let bias = m && (m.type.dtype === 'bool' ? additive(cx, m, x.type.dtype) : m);
  if (a.causal !== 'none') {
    const [T, S] = x.type.shape.slice(2) as [Dim, Dim];
    const k =
      a.causal === 'top_left'
        ? 0
        : typeof T === 'number' && typeof S === 'number'
          ? S - T
          : undefined;
    if (k === undefined) unsupported(cx, 'qk_matmul_output with a cache of symbolic length');
    const tri = additive(cx, b.op('tril', [x], { k }, fresh(cx, 'causal')), x.type.dtype);
    bias = bias ? b.op('add', [bias, tri], {}, fresh(cx, 'bias_all')) : tri;
  }
  if (bias) x = b.op('add', [x, bias], {}, name(2));
  if (mode === 2) return x;
  const p = b.op('softmax', [x], { axis: -1 }, bias ? fresh(cx, 'qk_softmax') : name(3));
  if (!bias) return p;
  const r = bias.type.shape.length;
  const rowMax = b.op(
    'reduce_max',
    [bias],
    { axes: [r - 1], keepdims: true },
    fresh(cx, 'bias_rowmax'),
  );
  const none = b.op(
    'equal',
    [rowMax, b.constant(-Infinity, x.type.dtype, [], fresh(cx, 'ninf'))],
    {},
    fresh(cx, 'row_masked'),
  );
  return b.op('where', [none, b.constant(0, x.type.dtype, [], fresh(cx, 'zero')), p], {}, name(3));
}
