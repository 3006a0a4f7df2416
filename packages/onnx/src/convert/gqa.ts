/**
 * GroupQueryAttention (com.microsoft): the decoder attention of onnxruntime's LLM exports,
 * with its key/value cache written per batch at the offset `seqlens_k` gives.
 */
import type { Val } from '@glimpse/ir';
import type { Operand } from '../operand.js';
import { shapeOf } from '../operand.js';
import { attrFloat, attrInt, dyn, fresh, indices, need, unsupported, val } from './context.js';
import type { Cx } from './context.js';
import { fromHeads } from './attention.js';
import { rotate } from './rotary.js';

/**
 * Query [B, S, N·H] with key and value [B, S, Nkv·H] (or all three packed in the query's
 * last axis), a cache past_key / past_value [B, Nkv, P, H], `seqlens_k` [B] (each batch's
 * total length − 1) and `total_sequence_length` (a scalar that must fold at import: it
 * sizes the present cache, max(P, total)). As onnxruntime's kernel computes it:
 *
 * - the first prompt is S = total: every batch's queries start at position 0; otherwise
 *   batch b's start at past_b = seqlens_k[b] + 1 − S;
 * - present[b, :, t] = past[b, :, t] for t < past_b, the new key t − past_b for
 *   past_b ≤ t < past_b + S, 0 after;
 * - `do_rotary`: queries and new keys rotated at their positions past_b + s (padding rows
 *   of the first prompt too) by cos_cache / sin_cache;
 * - query s sees the keys t ≤ past_b + s and t ≤ seqlens_k[b], and with `local_window_size`
 *   W ≥ 0 only the last W of them, t > past_b + s − W (a row left none is 0); scores
 *   scaled (default 1/√H) and softcapped (`softcap`).
 *
 * smooth_softmax, position_ids, attention_bias, head_sink and the qk output are refused.
 */
export function groupQueryAttention(ins: readonly (Operand | undefined)[], cx: Cx): Operand[] {
  const g = sizes(ins, cx);
  const heads = headVectors(cx, g);
  let [q4, k4] = [heads.q, heads.k];
  const { past, qpos, t } = positions(cx, g);
  if (attrInt(cx, 'do_rotary', 0) === 1) [q4, k4] = rotary(cx, ins, q4, k4, qpos);
  const rows = cacheRows(cx, g, past, t);
  const kp = present(cx, g, rows, k4, g.pastK, 1, 'key');
  const vp = present(cx, g, rows, heads.v, g.pastV, 2, 'value');
  const W = attrInt(cx, 'local_window_size', -1);
  const keep = visibleKeys(cx, g, qpos, t, W);
  const scale = attrFloat(cx, 'scale', 0);
  const y = cx.b.op(
    'attention',
    [cx.b.transpose(q4, [0, 2, 1, 3], fresh(cx, 'q_bhsd')), kp, vp, keep],
    {
      softcap: attrFloat(cx, 'softcap', 0),
      // Only a window can leave a row no key (W = 0; a padding row of the first prompt): its
      // output is 0, as onnxruntime's kernel writes it. Without one every row sees key
      // min(qpos, seqlens_k[b]), and 'mask' — the same there — is what ONNX Attention states.
      masked_rows: W >= 0 ? 'zero' : 'mask',
      ...(scale ? { scale } : {}),
    },
    fresh(cx, 'y_bhsd'),
  );
  return [dyn(fromHeads(cx, y)), dyn(kp), dyn(vp)];
}

/** The operands and sizes of one GroupQueryAttention node, checked at import. */
interface Gqa {
  readonly q: Operand;
  readonly k?: Operand;
  readonly v?: Operand;
  readonly pastK?: Operand;
  readonly pastV?: Operand;
  /** Each batch's total length − 1, [B]. */
  readonly seqlens: Val;
  readonly B: number;
  /** New tokens. */
  readonly S: number;
  /** Query heads, key/value heads, and the head size. */
  readonly N: number;
  readonly Nkv: number;
  readonly H: number;
  /** Rows of the past cache. */
  readonly P: number;
  /** Rows of the present cache: max(P, total_sequence_length). */
  readonly Tp: number;
  /** The first prompt (S = total): every batch's queries start at position 0. */
  readonly first: boolean;
}

/** The node's inputs, attributes and sizes, or the refusal of what it does not support. */
function sizes(ins: readonly (Operand | undefined)[], cx: Cx): Gqa {
  const [q, k, v, pastK, pastV] = ins;
  const seqlens = val(cx, need(cx, ins, 5), 'seqlens_k');
  const totalOp = need(cx, ins, 6);
  for (const [i, what] of [
    [9, 'position_ids'],
    [10, 'attention_bias'],
    [11, 'head_sink'],
  ] as const)
    if (ins[i]) unsupported(cx, `with ${what} is not supported`);
  if (attrInt(cx, 'smooth_softmax', 0) !== 0)
    unsupported(cx, 'with smooth_softmax is not supported');
  if (attrInt(cx, 'qk_output', 0) !== 0 || cx.outputs[3])
    unsupported(cx, 'with the qk output is not supported');
  if (!q) unsupported(cx, 'needs a query');
  if ((k === undefined) !== (v === undefined))
    unsupported(cx, 'needs both key and value, or neither (packed QKV)');
  if ((pastK === undefined) !== (pastV === undefined))
    unsupported(cx, 'needs both past_key and past_value, or neither');
  const N = attrInt(cx, 'num_heads', 0);
  const Nkv = attrInt(cx, 'kv_num_heads', 0);
  if (!(N > 0 && Nkv > 0) || N % Nkv !== 0)
    unsupported(cx, `num_heads ${N} must be a positive multiple of kv_num_heads ${Nkv}`);
  const qs = shapeOf(q);
  if (qs.length !== 3 || qs.some((d) => typeof d !== 'number'))
    unsupported(cx, `on a query of shape [${qs.join(',')}] (want a static [B, S, hidden])`);
  const [B, S, Dq] = qs as [number, number, number];
  const H = k ? Dq / N : Dq / (N + 2 * Nkv);
  if (!Number.isInteger(H)) unsupported(cx, `a query hidden size ${Dq} for ${N} heads`);
  if (seqlens.type.shape.length !== 1 || seqlens.type.shape[0] !== B)
    unsupported(cx, `seqlens_k of shape [${seqlens.type.shape.join(',')}] (want [${B}])`);
  if (totalOp.kind !== 'const')
    unsupported(
      cx,
      'with a computed total_sequence_length is not supported: it sizes the present cache, so it must be constant or fold to one (fix the input shapes at import: importOnnx(…, { shapes }), glimpse run --shape)',
    );
  const total = totalOp.data[0]!;
  const P = pastK ? (shapeOf(pastK)[2] as number) : 0;
  if (typeof P !== 'number') unsupported(cx, 'with a past of symbolic length');
  // It sizes allocations: only what a cache of P plus S new tokens can hold.
  if (!Number.isInteger(total) || total < S || total > P + S)
    unsupported(
      cx,
      `total_sequence_length ${total} for ${S} new tokens on a past of ${P} (want ${S} ≤ total ≤ ${P + S})`,
    );
  const first = S === total;
  if (!first && S > 1 && B > 1)
    unsupported(
      cx,
      `a continued prompt (S ${S} ≠ total ${total}) with batch ${B} (onnxruntime takes batch 1)`,
    );
  return { q, k, v, pastK, pastV, seqlens, B, S, N, Nkv, H, P, Tp: Math.max(P, total), first };
}

/** A constant of seqlens_k's integer type. */
const grid = (cx: Cx, g: Gqa, values: number[], shape: number[], hint: string) =>
  cx.b.constant(values, g.seqlens.type.dtype, shape, fresh(cx, hint));

/** The projections as head vectors [B, S, heads, H] (split first when packed). */
function headVectors(cx: Cx, g: Gqa): { q: Val; k: Val; v: Val } {
  const { B, S, N, Nkv, H } = g;
  let [qv, kv, vv]: Val[] = [];
  if (g.k && g.v)
    [qv, kv, vv] = [val(cx, g.q, 'query'), val(cx, g.k, 'key'), val(cx, g.v, 'value')];
  else
    [qv, kv, vv] = cx.b.opN(
      'split',
      [val(cx, g.q, 'qkv')],
      { axis: 2, sizes: [N * H, Nkv * H, Nkv * H] },
      ['q', 'k', 'v'].map((h) => fresh(cx, h)),
    );
  const split = (x: Val, heads: number, hint: string) =>
    cx.b.reshape(x, [B, S, heads, H], fresh(cx, `${hint}_bshd`));
  const [q, k] = [split(qv!, N, 'q'), split(kv!, Nkv, 'k')];
  return { q, k, v: split(vv!, Nkv, 'v') };
}

/**
 * past_b [B, 1] (0 in the first prompt, else seqlens_k[b] + 1 − S), each query's position
 * qpos [B, S] (past_b + s), and the cache's positions t [Tp] (key indices).
 */
function positions(cx: Cx, g: Gqa): { past: Val; qpos: Val; t: Val } {
  const { b } = cx;
  const { B, S, Tp } = g;
  const i32 = g.seqlens.type.dtype;
  const sl = b.reshape(g.seqlens, [B, 1], fresh(cx, 'seqlens_b'));
  const past = g.first
    ? grid(cx, g, [0], [1, 1], 'past_len')
    : b.op('add', [sl, grid(cx, g, [1 - S], [], 'one_minus_s')], {}, fresh(cx, 'past_len'));
  const qpos = b.op('add', [past, indices(cx, S, i32, [1, S], 's')], {}, fresh(cx, 'qpos'));
  const t = indices(cx, Tp, i32, [Tp], 't');
  return { past, qpos, t };
}

/** `do_rotary`: queries and new keys rotated at their positions by cos_cache / sin_cache. */
function rotary(
  cx: Cx,
  ins: readonly (Operand | undefined)[],
  q4: Val,
  k4: Val,
  qpos: Val,
): [Val, Val] {
  const [cosC, sinC] = [ins[7], ins[8]];
  if (!cosC || !sinC) unsupported(cx, 'with do_rotary needs cos_cache and sin_cache');
  const caches: [Val, Val] = [val(cx, cosC, 'cos_cache'), val(cx, sinC, 'sin_cache')];
  const o = {
    seqAxis: 1 as const,
    dims: 2 * (caches[0].type.shape[1] as number),
    interleaved: attrInt(cx, 'rotary_interleaved', 0) === 1,
  };
  const q = rotate(cx, q4, qpos, caches, o);
  return [q, rotate(cx, k4, qpos, caches, o)];
}

/**
 * The rows the present caches gather, [B, Nkv, Tp]: from [past (P rows), new (S rows), one
 * zero row] of each batch and head, flattened to [B·Nkv·(P + S + 1), H] so that one gather
 * of whole rows picks per batch, in the cache's own layout.
 */
function cacheRows(cx: Cx, g: Gqa, past: Val, t: Val): Val {
  const { b } = cx;
  const { B, S, Nkv, P, Tp } = g;
  const L = P + S + 1;
  const fromPast = grid(
    cx,
    g,
    Array.from({ length: Tp }, (_, i) => (i < P ? i : P + S)),
    [Tp],
    'past_row',
  );
  const inPast = b.op('less', [t, past], {}, fresh(cx, 'in_past'));
  const end = b.op('add', [past, grid(cx, g, [S], [], 'S')], {}, fresh(cx, 'new_end'));
  const inNew = b.op('less', [t, end], {}, fresh(cx, 'in_new'));
  // new row t − past_b sits at P + t − past_b
  const newRow = b.op(
    'sub',
    [b.op('add', [t, grid(cx, g, [P], [], 'P')], {}, fresh(cx, 't_p')), past],
    {},
    fresh(cx, 'new_row'),
  );
  const row = b.op(
    'where',
    [
      inPast,
      fromPast,
      b.op(
        'where',
        [inNew, newRow, grid(cx, g, [P + S], [], 'zero_row')],
        {},
        fresh(cx, 'new_or_0'),
      ),
    ],
    {},
    fresh(cx, 'row'),
  );
  const base = Array.from({ length: B * Nkv }, (_, i) => i * L);
  const rows = b.reshape(row, [row.type.shape[0]!, 1, Tp], fresh(cx, 'row_b'));
  return b.op('add', [rows, grid(cx, g, base, [B, Nkv, 1], 'head_base')], {}, fresh(cx, 'rows'));
}

/** The present key or value cache [B, Nkv, Tp, H] (output `i`): `rows` of past, new, zero. */
function present(
  cx: Cx,
  g: Gqa,
  rows: Val,
  nw: Val,
  pst: Operand | undefined,
  i: number,
  hint: string,
): Val {
  const { b } = cx;
  const { B, Nkv, H, P, S } = g;
  const parts: Val[] = [];
  if (pst) {
    const pv = val(cx, pst, `past_${hint}`);
    const ps = pv.type.shape;
    if (ps.length !== 4 || ps[0] !== B || ps[1] !== Nkv || ps[3] !== H)
      unsupported(cx, `past_${hint} of shape [${ps.join(',')}] (want [${B},${Nkv},P,${H}])`);
    parts.push(pv);
  }
  parts.push(
    b.transpose(nw, [0, 2, 1, 3], fresh(cx, `${hint}_bnsh`)),
    b.constant(0, nw.type.dtype, [B, Nkv, 1, H], fresh(cx, `${hint}_zero`)),
  );
  const all = b.op('concat', parts, { axis: 2 }, fresh(cx, `${hint}_all`)); // [B, Nkv, L, H]
  const flat = b.reshape(all, [B * Nkv * (P + S + 1), H], fresh(cx, `${hint}_flat`));
  return b.op('gather', [flat, rows], { axis: 0 }, cx.outputs[i] || fresh(cx, `present_${hint}`));
}

/**
 * Which keys each query sees, [B, 1, S, Tp]: query s of batch b sees key t when t ≤ qpos
 * and t ≤ seqlens_k[b] (a padding row of the first prompt sees only the real keys), and
 * with a window W ≥ 0, t > qpos − W.
 */
function visibleKeys(cx: Cx, g: Gqa, qpos: Val, t: Val, W: number): Val {
  const { b } = cx;
  const { B, S } = g;
  const qp = b.reshape(qpos, [qpos.type.shape[0]!, 1, S, 1], fresh(cx, 'qpos4'));
  const upTo = (last: Val, hint: string) =>
    b.op('not', [b.op('less', [last, t], {}, fresh(cx, `after_${hint}`))], {}, fresh(cx, hint));
  const seen = b.op(
    'and',
    [upTo(qp, 'causal'), upTo(b.reshape(g.seqlens, [B, 1, 1, 1], fresh(cx, 'seqlens4')), 'real')],
    {},
    fresh(cx, 'seen'),
  );
  if (W < 0) return seen;
  const lo = b.op('add', [qp, grid(cx, g, [-W], [], 'window')], {}, fresh(cx, 'window_lo'));
  return b.op(
    'and',
    [seen, b.op('less', [lo, t], {}, fresh(cx, 'in_window'))],
    {},
    fresh(cx, 'keep'),
  );
}
