/**
 * The plain, unfused computation of an `attention` op, as a graph of primitive ops (bmm,
 * scale, tanh, add/where masks, softmax, bmm), so that a backend's fused kernel can be held
 * to docs/design.md's precision contract row by row: its error against the float64 reference at
 * most twice that of this graph run on the same backend (test/special.ts,
 * expectRowsEqual). Written from the op's definition (packages/ir/src/ops/attention.ts),
 * not from any kernel; `checkUnfused` verifies it equals the op on the reference.
 */
import type { AttentionAttrs, Graph, Tensor, Val } from '@glimpse/ir';
import { buildGraph, BSHD_PERM, interpret } from '@glimpse/ir';
import { assertClose } from './helpers.js';
import { expectRowsEqual, infColumns } from './special.js';

export function unfusedAttention(g: Graph, options: { scores?: boolean } = {}): Graph {
  const node = g.nodes.find((n) => n.op === 'attention')!;
  const a = node.attrs as unknown as AttentionAttrs;
  return buildGraph(`${g.name}_unfused`, (b) => {
    const ins = g.inputs.map((i) => b.input(i.name, i.type.dtype, i.type.shape));
    const get = (name: string | undefined) =>
      name === undefined ? undefined : ins[g.inputs.findIndex((i) => i.name === name)]!;
    let q = get(node.inputs[0])!;
    let k = get(node.inputs[1])!;
    let v = get(node.inputs[2])!;
    const mask = get(node.inputs[3]);
    const bshd = a.layout === 'bshd';
    if (bshd) [q, k, v] = [q, k, v].map((x) => b.transpose(x, [...BSHD_PERM])) as [Val, Val, Val];
    const r = q.type.shape.length;
    const dh = q.type.shape[r - 1] as number;
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
    const ninf = b.constant(-Infinity, 'f32', []);
    // bias: -inf where a key is masked, for masked_rows=mask (rows whose every key is masked).
    let bias: Val | undefined;
    if (mask !== undefined) {
      if (mask.type.dtype === 'bool') {
        s = b.op('where', [mask, s, b.constant(a.mask_fill, 'f32', [])], {});
        if (a.mask_fill === -Infinity)
          bias = b.op('where', [mask, b.constant(0, 'f32', []), ninf], {});
      } else {
        s = b.op('add', [s, mask], {});
        bias = mask;
      }
    }
    if (a.causal !== 'none') {
      const [T, S] = s.type.shape.slice(-2) as [number, number];
      const tri = b.op('tril', [s], { k: a.causal === 'top_left' ? 0 : S - T });
      s = b.op('where', [tri, s, ninf], {});
      const zero = b.constant(0, 'f32', []);
      const c = b.op('where', [tri, zero, ninf], {});
      bias = bias === undefined ? c : b.op('add', [bias, c], {});
    }
    let p = b.op('softmax', [s], { axis: -1 });
    const zero = b.constant(0, 'f32', []);
    const rowMax = (x: Val) =>
      b.op('reduce_max', [x], { axes: [x.type.shape.length - 1], keepdims: true });
    // mask: such a row's weights are 0 (its output Σ 0·v); zero: its output is 0.
    if (a.masked_rows === 'mask' && bias !== undefined) {
      const full = b.op('expand', [bias], { shape: s.type.shape });
      p = b.op('where', [b.op('equal', [rowMax(full), ninf], {}), zero, p], {});
    }
    let y = b.bmm(p, v);
    if (a.masked_rows === 'zero')
      y = b.op('where', [b.op('equal', [rowMax(s), ninf], {}), zero, y], {});
    if (bshd) y = b.transpose(y, [...BSHD_PERM]);
    const out = b.op('scale', [y], { factor: 1 }, node.outputs[0]);
    if (!options.scores) return out;
    // When asked: the masked scores (bhsd order, [..., Hq, T, S]) and Σ p·|v| (ordered as
    // the output): the scales of a row's rounding errors.
    let w = b.bmm(p, b.op('sqrt', [b.op('mul', [v, v], {})], {}));
    if (bshd) w = b.transpose(w, [...BSHD_PERM]);
    return [
      out,
      b.op('scale', [s], { factor: 1 }, 'scores'),
      b.op('scale', [w], { factor: 1 }, 'weighted'),
    ];
  });
}

/**
 * An attention op's output on a backend, row by row under the precision contract: against
 * the float64 reference, at most twice the error of the unfused graph on the same backend
 * (special values as the unfused graph gives them). The unfused graph is first checked to
 * be the op on the reference itself.
 */
export async function expectAttentionContract(
  what: string,
  g: Graph,
  inputs: Record<string, Tensor>,
  run: (g: Graph) => Tensor | Promise<Tensor>,
) {
  const ref = interpret(g, inputs).y!;
  // The unfused graph on the reference, with the scores and Σp|v| the floor below needs.
  const extra = interpret(unfusedAttention(g, { scores: true }), inputs);
  assertClose(
    { ...ref, data: Float32Array.from(extra.y!.data) },
    ref,
    { rtol: 1e-6, atol: 1e-6 },
    `${what}: the unfused graph on the reference`,
  );
  const node = g.nodes.find((n) => n.op === 'attention')!;
  const v = inputs[node.inputs[2]!]!;
  // A row's naive error is floored at the standard rounding bound of the plain f32
  // computation of that row, from its own values (the reference): the weighted sum's
  // 2⁻²⁴·(S + dh)·Σp|v|, and the logits' |logit|·2⁻²⁴ each, which exp turns into relative
  // error of the weights, 2⁻²⁴·2·|logit|max·Σp|v| — large for an ill-conditioned row (huge
  // logits that compete) in any order of operations, tiny for an ordinary one.
  const scores = extra.scores!;
  const weighted = extra.weighted!;
  const S = scores.shape.at(-1) ?? 1;
  const dh = g.typeOf(node.inputs[0]!).shape.at(-1) as number;
  const dv = ref.shape.at(-1) ?? 1;
  const rows = ref.data.length / Math.max(1, dv);
  const bshd = (node.attrs as { layout?: string }).layout === 'bshd';
  const [, T, H] = bshd ? (ref.shape as number[]) : [0, 0, 0];
  const floors = Array.from({ length: rows }, (_, r) => {
    // Output row r → its scores row (bshd outputs are [B, T, H, dv], scores [B, H, T, S]).
    const sr = bshd
      ? (Math.floor(r / (T! * H!)) * H! + (r % H!)) * T! + (Math.floor(r / H!) % T!)
      : r;
    // Only logits that compete with the row's maximum (within e^100 of its weight) carry
    // their rounding into the weights: a lone dominant logit, however large, gives weight 1.
    const row = Array.from(scores.data.subarray(sr * S, sr * S + S)).filter(Number.isFinite);
    const m = Math.max(-Infinity, ...row);
    const rivals = row.filter((x) => x >= m - 100);
    const logit = rivals.length > 1 ? Math.max(...rivals.map(Math.abs)) : 0;
    let w = 0;
    for (let c = r * dv; c < r * dv + dv; c++)
      if (Number.isFinite(weighted.data[c]!)) w = Math.max(w, weighted.data[c]!);
    return 2 ** -24 * (S + dh + 2 * logit) * w;
  });
  expectRowsEqual(
    what,
    await run(g),
    await run(unfusedAttention(g)),
    ref,
    infColumns(v, dv),
    floors,
  );
}
