/**
 * The plain, unfused computation of an `attention` op as a graph of primitive ops (the
 * IR's `writtenAttention`, which backends also lower declined nodes to), so that a
 * backend's fused kernel can be held to docs/design.md's precision contract row by row: its
 * error against the float64 reference at most twice that of this graph run on the same
 * backend (test/special.ts, expectRowsEqual). `expectAttentionContract` first checks that
 * the written-out graph equals the op on the float64 reference, so it is an oracle only
 * once the reference says so.
 */
import type { AttentionAttrs, Graph, Tensor, Val } from '@glimpse/ir';
import { buildGraph, BSHD_PERM, interpret, writtenAttention } from '@glimpse/ir';
import { assertClose } from './helpers.js';
import { expectRowsEqual, infColumns } from './special.js';

export function unfusedAttention(g: Graph, options: { scores?: boolean } = {}): Graph {
  const node = g.nodes.find((n) => n.op === 'attention')!;
  const a = node.attrs as unknown as AttentionAttrs;
  return buildGraph(`${g.name}_unfused`, (b) => {
    const ins = g.inputs.map((i) => b.input(i.name, i.type.dtype, i.type.shape));
    const get = (name: string | undefined) =>
      name === undefined ? undefined : ins[g.inputs.findIndex((i) => i.name === name)]!;
    const [q, k, v, mask] = [0, 1, 2, 3].map((i) => get(node.inputs[i])) as [Val, Val, Val, Val];
    const w = writtenAttention(b, q, k, v, mask, a);
    const out = b.op('scale', [w.y], { factor: 1 }, node.outputs[0]);
    if (!options.scores) return out;
    // When asked: the masked scores (bhsd order, [..., Hq, T, S]) and Σ p·|v| (ordered as
    // the output): the scales of a row's rounding errors.
    let weighted = b.bmm(w.p, b.op('sqrt', [b.op('mul', [w.v, w.v], {})], {}));
    if (a.layout === 'bshd') weighted = b.transpose(weighted, [...BSHD_PERM]);
    return [
      out,
      b.op('scale', [w.scores], { factor: 1 }, 'scores'),
      b.op('scale', [weighted], { factor: 1 }, 'weighted'),
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
