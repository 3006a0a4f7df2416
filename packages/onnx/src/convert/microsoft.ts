/**
 * onnxruntime's `com.microsoft` operators that its transformer optimizer writes, each onto
 * the glimpse ops that compute exactly what the operator defines (its CPU kernel's order
 * of additions where it has one). Keyed `com.microsoft.<op>`; SimplifiedLayerNormalization
 * is registered in the default domain as onnxruntime has it.
 */
import type { Operand } from '../operand.js';
import { constOf, dtypeOfOperand, shapeOf } from '../operand.js';
import type { Val } from '@glimpse/ir';
import {
  attrFloat,
  attrInt,
  attrInts,
  dyn,
  emit,
  fresh,
  indices,
  need,
  out,
  unsupported,
  val,
} from './context.js';
import type { Converter, Cx } from './context.js';
import { additive, frontierMask, fromHeads, keyRange, toHeads } from './attention.js';
import { normStats } from './nn.js';
import { rotaryEmbedding } from './rotary.js';
import { groupQueryAttention } from './gqa.js';

const add = (cx: Cx, a: Operand, b: Operand | undefined, hint: string) =>
  b === undefined ? a : emit(cx, 'add', [a, b], {}, fresh(cx, hint));

/** input + skip (+ bias), as onnxruntime's kernels sum them; named as output 3 when asked. */
function skipSum(cx: Cx, input: Operand, skip: Operand, bias: Operand | undefined): Operand {
  const s = emit(
    cx,
    'add',
    [input, skip],
    {},
    bias || !cx.outputs[3] ? fresh(cx, 'skip') : cx.outputs[3],
  );
  return bias ? emit(cx, 'add', [s, bias], {}, cx.outputs[3] || fresh(cx, 'sum')) : s;
}

/** A normalisation over the last axis with its statistics outputs (1: mean, 2: 1/std). */
function lastAxisNorm(
  cx: Cx,
  op: 'layer_norm' | 'rms_norm',
  x: Operand,
  affine: Operand[],
  eps: number,
  sum?: Operand,
): Operand[] {
  const vx = val(cx, x, 'x');
  const r = vx.type.shape.length;
  const norm = vx.type.shape[r - 1];
  for (const p of affine)
    if (shapeOf(p).length !== 1 || shapeOf(p)[0] !== norm)
      unsupported(cx, `gamma/beta/bias of shape [${shapeOf(p).join(',')}] (want [${norm}])`);
  const y = cx.b.op(
    op,
    [vx, ...affine.map((p, i) => val(cx, p, `p${i}`))],
    { axis: -1, eps },
    out(cx),
  );
  const outs: Operand[] = [dyn(y)];
  if (cx.outputs[1] || cx.outputs[2]) {
    const { mean, inv } = normStats(cx, vx, r - 1, eps, op === 'layer_norm', 1, 2);
    outs.push(mean ? dyn(mean) : constOf(vx.type.dtype, [], [0]), dyn(inv));
  }
  if (sum) {
    while (outs.length < 3) outs.push(constOf(vx.type.dtype, [], [0]));
    outs.push(sum);
  }
  return outs;
}

export const MICROSOFT: Record<string, Converter> = {
  'com.microsoft.Gelu': (ins, cx) => [emit(cx, 'gelu', [need(cx, ins, 0)])],
  /** gelu_tanh(X + bias). */
  'com.microsoft.FastGelu': (ins, cx) => [
    emit(cx, 'gelu_tanh', [add(cx, need(cx, ins, 0), ins[1], 'biased')]),
  ],
  'com.microsoft.BiasGelu': (ins, cx) => [
    emit(cx, 'gelu', [add(cx, need(cx, ins, 0), need(cx, ins, 1), 'biased')]),
  ],
  /** x · sigmoid(α·x), α = 1.702 by default. */
  'com.microsoft.QuickGelu': (ins, cx) => {
    const x = need(cx, ins, 0);
    const ax = emit(cx, 'scale', [x], { factor: attrFloat(cx, 'alpha', 1.702) }, fresh(cx, 'ax'));
    return [emit(cx, 'mul', [x, emit(cx, 'sigmoid', [ax], {}, fresh(cx, 'gate'))])];
  },
  /** (X + bias) + skip. */
  'com.microsoft.BiasAdd': (ins, cx) => [
    emit(cx, 'add', [add(cx, need(cx, ins, 0), need(cx, ins, 1), 'biased'), need(cx, ins, 2)]),
  ],
  /** x = X + bias, split in halves along the last axis: left · gelu(right). */
  'com.microsoft.BiasSplitGelu': (ins, cx) => {
    const x = add(cx, need(cx, ins, 0), need(cx, ins, 1), 'biased');
    const s = shapeOf(x);
    const n = s[s.length - 1];
    if (typeof n !== 'number' || n % 2 !== 0)
      unsupported(cx, `on a last axis of ${n} (it needs an even size)`);
    const vx = val(cx, x, 'x');
    const [l, r] = cx.b.opN('split', [vx], { axis: -1, sizes: [n / 2, n / 2] }, [
      fresh(cx, 'left'),
      fresh(cx, 'right'),
    ]);
    return [dyn(cx.b.op('mul', [l!, cx.b.op('gelu', [r!], {}, fresh(cx, 'gelu'))], {}, out(cx)))];
  },
  /** LayerNorm(input + skip (+ bias)) · gamma (+ beta); outputs mean, 1/std and the sum too. */
  'com.microsoft.SkipLayerNormalization': (ins, cx) => {
    const [input, skip, gamma, beta, bias] = [
      need(cx, ins, 0),
      need(cx, ins, 1),
      need(cx, ins, 2),
      ins[3],
      ins[4],
    ];
    const sum = skipSum(cx, input, skip, bias);
    const eps = attrFloat(cx, 'epsilon', 1e-12);
    return lastAxisNorm(
      cx,
      'layer_norm',
      sum,
      beta ? [gamma, beta] : [gamma],
      eps,
      cx.outputs[3] ? sum : undefined,
    );
  },
  /** RMSNorm(input + skip (+ bias)) · gamma; outputs 1/std and the sum too. */
  'com.microsoft.SkipSimplifiedLayerNormalization': (ins, cx) => {
    const [input, skip, gamma, bias] = [
      need(cx, ins, 0),
      need(cx, ins, 1),
      need(cx, ins, 2),
      ins[3],
    ];
    const sum = skipSum(cx, input, skip, bias);
    const eps = attrFloat(cx, 'epsilon', 1e-12);
    return lastAxisNorm(cx, 'rms_norm', sum, [gamma], eps, cx.outputs[3] ? sum : undefined);
  },
  'com.microsoft.RotaryEmbedding': rotaryEmbedding,
  'com.microsoft.GroupQueryAttention': groupQueryAttention,
  'com.microsoft.MultiHeadAttention': multiHeadAttention,
  'com.microsoft.Attention': packedAttention,
  'com.microsoft.EmbedLayerNormalization': embedLayerNormalization,
  /** RMSNorm over the axes from `axis` (onnxruntime registers it in the default domain). */
  SimplifiedLayerNormalization: (ins, cx) => {
    const [x, scale] = [need(cx, ins, 0), need(cx, ins, 1)];
    const r = shapeOf(x).length;
    const a = attrInt(cx, 'axis', -1);
    if (a !== -1 && a !== r - 1) unsupported(cx, `axis ${a} other than the last is not supported`);
    if (dtypeOfOperand(x) !== dtypeOfOperand(scale) && attrInt(cx, 'stash_type', 1) !== 1)
      unsupported(cx, 'stash_type other than float is not supported');
    const outs = lastAxisNorm(cx, 'rms_norm', x, [scale], attrFloat(cx, 'epsilon', 1e-5));
    // Its optional output 1 is 1/std (no mean output).
    return cx.outputs[1] ? [outs[0]!, outs[2]!] : outs.slice(0, 1);
  },
};

/**
 * MultiHeadAttention (com.microsoft). Query [B, S, N·d] with key and value [B, L, N·d] and
 * [B, L, N·dv], or key and value already as heads [B, N, L, d] (cross attention: no bias
 * added to them), or key/value packed [B, L, N, 2, d], or all three packed in the query
 * [B, S, N, 3, d]. The optional bias [N·d + N·d + N·dv] is added per projection, heads
 * split, `past_key` / `past_value` [B, N, P, d] prepended (the concatenations are
 * `present_key` / `present_value`; as onnxruntime does, only when the node has both present
 * outputs — without them the past is ignored), then the fused attention op — scale (default 1/√d),
 * `unidirectional` as a causal mask aligned to the last key, and the additive bias
 * onnxruntime builds: `mask_filter_value` (−10000 by default) on each key that
 * `key_padding_mask` hides — [B] key lengths, or [B, T] / [B, S, T] with 0 to hide — plus
 * `attention_bias` [B|1, N|1, S, T].
 */
function multiHeadAttention(ins: readonly (Operand | undefined)[], cx: Cx): Operand[] {
  const b = cx.b;
  const [q, k, v, bias, kpm, attnBias, pastK, pastV] = ins;
  if (!q) unsupported(cx, 'needs a query');
  const N = attrInt(cx, 'num_heads', 0);
  if (!(N > 0)) unsupported(cx, `with num_heads ${N}`);
  if ((pastK === undefined) !== (pastV === undefined))
    unsupported(cx, 'needs both past_key and past_value, or neither');
  const rank = (x: Operand | undefined) => (x ? shapeOf(x).length : 0);
  // [B, L, N·d] → [B, L, N, d]
  const bsnh = (x: Operand, hint: string): Val => {
    const vx = val(cx, x, hint);
    const [B, L, D] = vx.type.shape;
    if (typeof D !== 'number' || D % N !== 0)
      unsupported(cx, `num_heads ${N} does not divide the ${hint} width ${D}`);
    return b.reshape(vx, [B!, L!, N, D / N], fresh(cx, `${hint}_bsnh`));
  };
  // [B, L, N, n, d] → n × [B, L, N, d]
  const unpack = (x: Operand, n: number, hint: string): Val[] => {
    const vx = val(cx, x, hint);
    const s = vx.type.shape;
    if (s[2] !== N || s[3] !== n)
      unsupported(
        cx,
        `with a packed ${hint} of shape [${s.join(',')}] (want [B, L, ${N}, ${n}, d])`,
      );
    return b
      .opN(
        'split',
        [vx],
        { axis: 3, sizes: new Array<number>(n).fill(1) },
        [...hint].map((h) => fresh(cx, `${h}_5`)),
      )
      .map((p, i) => b.reshape(p, [s[0]!, s[1]!, N, s[4]!], fresh(cx, `${hint[i]}_bsnh`)));
  };
  let qh: Val, kh: Val, vh: Val;
  const kvHeads = rank(k) === 4 && rank(v) === 4;
  if (!k && !v && rank(q) === 5) [qh, kh, vh] = unpack(q, 3, 'qkv') as [Val, Val, Val];
  else if (rank(q) === 3 && k && !v && rank(k) === 5)
    [qh, kh, vh] = [bsnh(q, 'q'), ...unpack(k, 2, 'kv')] as [Val, Val, Val];
  else if (rank(q) === 3 && k && v && (kvHeads || (rank(k) === 3 && rank(v) === 3)))
    [qh, kh, vh] = kvHeads
      ? [bsnh(q, 'q'), val(cx, k, 'k'), val(cx, v, 'v')]
      : [bsnh(q, 'q'), bsnh(k, 'k'), bsnh(v, 'v')];
  else
    unsupported(
      cx,
      `with query/key/value of ranks ${rank(q)}/${rank(k)}/${rank(v)} (want 3/3/3, 3/4/4, packed KV 3/5/–, or packed QKV 5/–/–)`,
    );
  const [d, dv] = [qh.type.shape[3] as number, vh.type.shape[3] as number];
  const withBias = (x: Val, from: number, width: number, hint: string) => {
    if (!bias) return x;
    const bb = b.op(
      'slice',
      [val(cx, bias, 'bias')],
      { axis: 0, start: from, end: from + N * width },
      fresh(cx, `${hint}_bias`),
    );
    const bh = b.reshape(bb, [N, width], fresh(cx, `${hint}_bias_heads`));
    return b.op('add', [x, bh], {}, fresh(cx, `${hint}_biased`));
  };
  const bnsh = (x: Val, hint: string) => b.transpose(x, [0, 2, 1, 3], fresh(cx, `${hint}_bnsh`));
  const q4 = bnsh(withBias(qh, 0, d, 'q'), 'q');
  const kv = kvHeads
    ? [kh, vh]
    : [bnsh(withBias(kh, N * d, d, 'k'), 'k'), bnsh(withBias(vh, 2 * N * d, dv, 'v'), 'v')];
  // onnxruntime (CPU and web alike) attends to the past only when the node asks for the
  // present outputs: without them the past is ignored, the new keys alone attended to.
  // With one present and not the other its kernel reads keys and values misaligned.
  const presents = [cx.outputs[1], cx.outputs[2]].filter((o) => o).length;
  if (pastK && presents === 1)
    unsupported(
      cx,
      'with past_key/past_value and only one of present_key/present_value: onnxruntime then pairs past keys with the wrong values',
    );
  if (pastK && presents === 0 && (kpm || attnBias))
    unsupported(
      cx,
      'with past_key/past_value, no present outputs and a key_padding_mask or attention_bias: onnxruntime then sizes the mask for the past and new keys but attends to the new keys alone',
    );
  const past =
    pastK && pastV && presents === 2
      ? [val(cx, pastK, 'past_key'), val(cx, pastV, 'past_value')]
      : [];
  const [k4, v4] = withPast(cx, kv, past, [1, 2]) as [Val, Val];
  const [B, , S] = q4.type.shape as [number, number, number];
  const T = k4.type.shape[2] as number;
  let keep: Val | undefined;
  if (kpm) {
    const km = val(cx, kpm, 'key_padding_mask');
    const ms = km.type.shape;
    if (ms.length === 1 && ms[0] === B) keep = keyRange(cx, km, B, T);
    else if ((ms.length === 2 || ms.length === 3) && ms[ms.length - 1] === T)
      keep = nonzero(cx, km, ms.length === 2 ? [B, 1, 1, T] : [B, 1, S, T]);
    else
      unsupported(
        cx,
        `key_padding_mask of shape [${ms.join(',')}] (want [${B}], [${B}, ${T}] or [${B}, ${S}, ${T}])`,
      );
  }
  return [dyn(attend(cx, q4, k4, v4, keep, attnBias, true)), dyn(k4), dyn(v4)];
}

/** The past [B, N, P, d] of each of `kv` prepended along the keys, named as outputs `at`. */
function withPast(cx: Cx, kv: Val[], past: Val[], at: readonly number[] = []): Val[] {
  if (past.length === 0) return kv;
  return kv.map((x, i) =>
    cx.b.op(
      'concat',
      [past[i]!, x],
      { axis: 2 },
      (at[i] !== undefined && cx.outputs[at[i]!]) || fresh(cx, `present${i}`),
    ),
  );
}

/** `mask` ≠ 0 (a key kept), viewed as `shape`. */
function nonzero(cx: Cx, mask: Val, shape: readonly number[]): Val {
  const b = cx.b;
  const zero = b.constant(0, mask.type.dtype, [], fresh(cx, 'mask_zero'));
  const masked = b.op('equal', [mask, zero], {}, fresh(cx, 'masked'));
  return b.reshape(b.op('not', [masked], {}, fresh(cx, 'kept')), [...shape], fresh(cx, 'keep'));
}

/**
 * The fused attention of onnxruntime's attention operators on heads [B, N, S|T, d]:
 * `mask_filter_value` (−10000 by default) added where `keep` is false, plus
 * `attention_bias`; `scale` (default 1/√d); with `causalOp`, `unidirectional` as the op's
 * causal mask aligned to the last key; out as [B, S, N·dv].
 */
function attend(
  cx: Cx,
  q4: Val,
  k4: Val,
  v4: Val,
  keep: Val | undefined,
  attnBias: Operand | undefined,
  causalOp: boolean,
): Val {
  const b = cx.b;
  const fill = attrFloat(cx, 'mask_filter_value', -10000);
  let m = keep && additive(cx, keep, q4.type.dtype, fill);
  if (attnBias) {
    const ab = val(cx, attnBias, 'attention_bias');
    m = m ? b.op('add', [m, ab], {}, fresh(cx, 'bias_all')) : ab;
  }
  const scale = cx.attrs.has('scale') ? attrFloat(cx, 'scale', 0) : undefined;
  const causal = causalOp && attrInt(cx, 'unidirectional', 0) === 1;
  const attrs = {
    causal: causal ? ('bottom_right' as const) : ('none' as const),
    ...(scale ? { scale } : {}),
  };
  const y = b.op('attention', m ? [q4, k4, v4, m] : [q4, k4, v4], attrs, fresh(cx, 'y_bnsh'));
  return fromHeads(cx, y);
}

/**
 * Attention (com.microsoft): input [B, S, hidden] times the packed weights [hidden, q + k + v]
 * plus bias, split by `qkv_hidden_sizes` (three equal parts by default; values may be
 * wider or narrower) into heads; `past` [2, B, N, P, d] prepended (`present` is the
 * concatenation); `mask_index` as onnxruntime reads it — [B] key end positions, [2B] ends
 * then starts, [B, T] or [B, S, T] 1 to keep, or [B, 1, M, M] over absolute positions —
 * each masked key adding `mask_filter_value`, plus `attention_bias`; then the fused
 * attention op.
 */
function packedAttention(ins: readonly (Operand | undefined)[], cx: Cx): Operand[] {
  const b = cx.b;
  const [x, w, bias, maskIndex, past, attnBias] = ins;
  if (!x || !w) unsupported(cx, 'needs input and weights');
  if (ins[6]) unsupported(cx, 'with past_sequence_length is not supported');
  if (attrInt(cx, 'do_rotary', 0) !== 0) unsupported(cx, 'with do_rotary is not supported');
  const N = attrInt(cx, 'num_heads', 0);
  const xs = shapeOf(x);
  const ws = shapeOf(w);
  if (xs.length !== 3 || ws.length !== 2)
    unsupported(cx, `on input [${xs.join(',')}] and weights [${ws.join(',')}]`);
  const total = ws[1] as number;
  const sizes = attrInts(cx, 'qkv_hidden_sizes') ?? [total / 3, total / 3, total / 3];
  const [Dq, Dk, Dv] = sizes as [number, number, number];
  // Queries and keys meet in a dot product: their widths agree; the values' may differ.
  if (sizes.length !== 3 || Dq !== Dk || Dq + Dk + Dv !== total || !(N > 0) || Dq % N || Dv % N)
    unsupported(
      cx,
      `qkv_hidden_sizes [${sizes.join(',')}] with ${N} heads and weights of ${total} columns`,
    );
  if (past && Dv !== Dq)
    unsupported(
      cx,
      `with past and value heads of another width (qkv_hidden_sizes [${sizes.join(',')}])`,
    );
  let qkv = b.bmm(val(cx, x, 'x'), val(cx, w, 'weights'), {}, fresh(cx, 'qkv'));
  if (bias) qkv = b.op('add', [qkv, val(cx, bias, 'bias')], {}, fresh(cx, 'qkv_b'));
  const [B, S] = xs as [number, number];
  const parts = b
    .opN(
      'split',
      [qkv],
      { axis: 2, sizes: [Dq, Dk, Dv] },
      ['q', 'k', 'v'].map((h) => fresh(cx, h)),
    )
    .map((p, i) => toHeads(cx, p, N, 'qkv'[i]!));
  // past [2, B, N, P, d]: its keys and values, each [B, N, P, d].
  const pasts = past
    ? b
        .opN('split', [val(cx, past, 'past')], { axis: 0, sizes: [1, 1] }, [
          fresh(cx, 'past_k5'),
          fresh(cx, 'past_v5'),
        ])
        .map((t, i) => b.reshape(t, t.type.shape.slice(1), fresh(cx, `past${i}`)))
    : [];
  const [k4, v4] = withPast(cx, [parts[1]!, parts[2]!], pasts) as [Val, Val];
  const T = k4.type.shape[2] as number;
  // onnxruntime's CPU kernel marks every key the mask index or the causal order hides and
  // adds mask_filter_value to those scores once (not −inf for the causal part).
  let keep: Val | undefined;
  if (maskIndex) {
    const mi = val(cx, maskIndex, 'mask_index');
    const ms = mi.type.shape;
    if (ms.length === 2 || ms.length === 3) {
      if (ms[ms.length - 1] !== T) unsupported(cx, `mask_index [${ms.join(',')}] for ${T} keys`);
      keep = nonzero(cx, mi, ms.length === 2 ? [B, 1, 1, T] : [B, 1, S, T]);
    } else if (ms.length === 4) {
      // Megatron's [B, 1, M, M] over absolute positions: query i (after P past keys) reads
      // row P + i, its first T columns.
      const M = ms[2] as number;
      if (ms[1] !== 1 || ms[3] !== M || M < T)
        unsupported(cx, `mask_index [${ms.join(',')}] (want [${B}, 1, M, M] with M ≥ ${T})`);
      const rows = b.op('slice', [mi], { axis: 2, start: T - S, end: T }, fresh(cx, 'mask_rows'));
      const cut = b.op('slice', [rows], { axis: 3, start: 0, end: T }, fresh(cx, 'mask_cut'));
      keep = nonzero(cx, cut, [B, 1, S, T]);
    } else if (ms.length === 1 && (ms[0] === B || ms[0] === 2 * B)) {
      keep = keyRange(cx, mi, B, T);
    } else unsupported(cx, `mask_index of shape [${ms.join(',')}] is not supported`);
  }
  if (attrInt(cx, 'unidirectional', 0) === 1) {
    // How onnxruntime's kernel combines a causal order with a mask index where both hide a
    // row's keys is not pinned down here (its outputs matched neither −inf nor
    // mask_filter_value for the causal part): refused rather than guessed.
    if (keep) unsupported(cx, 'with both mask_index and unidirectional is not supported');
    // Query i (after T − S past keys) sees keys j ≤ T − S + i.
    keep = frontierMask(cx, S, T, T - S);
  }
  const outs: Operand[] = [dyn(attend(cx, parts[0]!, k4, v4, keep, attnBias, false))];
  if (cx.outputs[1]) {
    const kk = b.reshape(k4, [1, ...k4.type.shape], fresh(cx, 'present_k5'));
    const vv = b.reshape(v4, [1, ...v4.type.shape], fresh(cx, 'present_v5'));
    outs.push(dyn(b.op('concat', [kk, vv], { axis: 0 }, cx.outputs[1])));
  }
  return outs;
}

/**
 * EmbedLayerNormalization (com.microsoft): LayerNorm(word[ids] + position[p] (+ segment[seg]))
 * · gamma + beta, p = 0…S−1 or `position_ids`; the optional mask gives `mask_index`, each
 * batch's count of 1s (int32), and output 2 is the sum before the norm.
 */
function embedLayerNormalization(ins: readonly (Operand | undefined)[], cx: Cx): Operand[] {
  const b = cx.b;
  const [ids, seg, word, posEmb, segEmb, gamma, beta, mask, posIds] = ins;
  if (!ids || !word || !posEmb || !gamma || !beta)
    unsupported(cx, 'needs input_ids, word and position embeddings, gamma and beta');
  if ((seg === undefined) !== (segEmb === undefined))
    unsupported(cx, 'needs both segment_ids and segment_embedding, or neither');
  const vid = val(cx, ids, 'input_ids');
  const [B, S] = vid.type.shape as [number, number];
  const wordAt = b.op(
    'gather',
    [val(cx, word, 'word_embedding'), vid],
    { axis: 0 },
    fresh(cx, 'words'),
  );
  const positions = posIds
    ? val(cx, posIds, 'position_ids')
    : indices(cx, S, 'i32', [1, S], 'positions');
  const posAt = b.op(
    'gather',
    [val(cx, posEmb, 'position_embedding'), positions],
    { axis: 0 },
    fresh(cx, 'pos'),
  );
  let sum = b.op('add', [wordAt, posAt], {}, fresh(cx, 'word_pos'));
  if (seg && segEmb) {
    const segAt = b.op(
      'gather',
      [val(cx, segEmb, 'segment_embedding'), val(cx, seg, 'segment_ids')],
      { axis: 0 },
      fresh(cx, 'segs'),
    );
    sum = b.op('add', [sum, segAt], {}, cx.outputs[2] || fresh(cx, 'embedding_sum'));
  } else if (cx.outputs[2]) sum = b.reshape(sum, sum.type.shape, cx.outputs[2]);
  const eps = attrFloat(cx, 'epsilon', 1e-12);
  const y = b.op(
    'layer_norm',
    [sum, val(cx, gamma, 'gamma'), val(cx, beta, 'beta')],
    { axis: -1, eps },
    out(cx),
  );
  const outs: Operand[] = [dyn(y)];
  if (cx.outputs[1]) {
    if (!mask) {
      outs.push(constOf('i32', [B], new Array<number>(B).fill(0)));
    } else {
      const m = b.op('cast', [val(cx, mask, 'mask')], { to: 'f32' }, fresh(cx, 'mask_f'));
      const n = b.op('reduce_sum', [m], { axes: [1], keepdims: false }, fresh(cx, 'mask_n'));
      outs.push(dyn(b.op('cast', [n], { to: 'i32' }, cx.outputs[1])));
    }
  }
  if (cx.outputs[2]) {
    while (outs.length < 2) outs.push(constOf('i32', [B], new Array<number>(B).fill(0)));
    outs.push(dyn(sum));
  }
  return outs;
}
