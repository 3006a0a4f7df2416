/** Rotary position embeddings: onnxruntime's RotaryEmbedding, and the rotation GQA does inside. */
import type { Val } from '@glimpse/ir';
import type { Operand } from '../operand.js';
import { shapeOf } from '../operand.js';
import { attrInt, dyn, fresh, indices, need, out, unsupported, val } from './context.js';
import type { Cx } from './context.js';

/**
 * RotaryEmbedding (com.microsoft): input [B, S, N·H] (num_heads given) or [B, N, S, H];
 * position_ids [B, S], or [1] (an offset: positions offset + s); caches [max, ≥ R/2].
 */
export function rotaryEmbedding(ins: readonly (Operand | undefined)[], cx: Cx): Operand[] {
  const [x, pos, cosC, sinC] = [0, 1, 2, 3].map((i) => need(cx, ins, i)) as [
    Operand,
    Operand,
    Operand,
    Operand,
  ];
  const b = cx.b;
  const xs = shapeOf(x);
  if (attrInt(cx, 'is_packed_batching', 0) !== 0)
    unsupported(cx, 'with is_packed_batching is not supported');
  const heads = attrInt(cx, 'num_heads', 0);
  let vx = val(cx, x, 'x');
  // The head vectors: [B, S, N, H] (3-D input) or [B, N, S, H].
  const threeD = xs.length === 3;
  if (threeD) {
    const [B, S, NH] = xs as [number, number, number];
    if (!(heads > 0) || NH % heads !== 0)
      unsupported(cx, `a 3-D input needs num_heads dividing ${NH}`);
    vx = b.reshape(vx, [B, S, heads, NH / heads], fresh(cx, 'heads'));
  } else if (xs.length !== 4) unsupported(cx, `on a rank-${xs.length} input`);
  const hs = vx.type.shape as number[];
  const S = threeD ? hs[1]! : hs[2]!;
  // Positions [B, S]: given, or an offset plus 0..S−1.
  let p = val(cx, pos, 'pos');
  if (p.type.shape.length === 1) {
    const steps = indices(cx, S, p.type.dtype, [1, S], 'steps');
    p = b.op('add', [b.reshape(p, [1, 1], fresh(cx, 'offset')), steps], {}, fresh(cx, 'positions'));
  }
  const y = rotate(cx, vx, p, [val(cx, cosC, 'cos'), val(cx, sinC, 'sin')], {
    seqAxis: threeD ? 1 : 2,
    dims: attrInt(cx, 'rotary_embedding_dim', 0) || hs[3]!,
    interleaved: attrInt(cx, 'interleaved', 0) === 1,
  });
  return [dyn(b.reshape(y, xs as number[], out(cx)))];
}

/**
 * Head vectors x [B, S, N, H] (seqAxis 1) or [B, N, S, H] (seqAxis 2), each one's first
 * `dims` features rotated by the angle cached at its position p [B|1, S] — pairs
 * (x[i], x[i + R/2]), or (x[2i], x[2i + 1]) when `interleaved`: (a·cos − b·sin,
 * b·cos + a·sin) with cos, sin = caches[p][i]; the other features pass unchanged. One
 * `rotary` op (a·cos − b·sin ≡ a·cos + (−b)·sin in IEEE arithmetic): the caches' rows
 * widened to the op's full width, both members of a pair reading their angle.
 */
export function rotate(
  cx: Cx,
  x: Val,
  p: Val,
  [cosC, sinC]: [Val, Val],
  o: { seqAxis: 1 | 2; dims: number; interleaved: boolean },
): Val {
  const b = cx.b;
  const H = x.type.shape[3] as number;
  const R = o.dims;
  if (R % 2 !== 0 || R <= 0 || R > H) unsupported(cx, `rotary dims ${R} for heads of ${H}`);
  const half = R / 2;
  const angle = (cache: Val, hint: string) => {
    if ((cache.type.shape[1] as number) < half)
      unsupported(cx, `${hint}_cache of width ${cache.type.shape[1]} for ${R} rotary dims`);
    const c = b.op('gather', [cache, p], { axis: 0 }, fresh(cx, `${hint}_at`)); // [B|1, S, ≥R/2]
    const [cb, cs] = c.type.shape as [number, number];
    const cut =
      c.type.shape[2] === half
        ? c
        : b.op('slice', [c], { axis: 2, start: 0, end: half }, fresh(cx, `${hint}_r`));
    // Full width: [a, a] (rotate-half), or each angle twice in place (interleaved pairs).
    const twice = o.interleaved
      ? b.reshape(cut, [cb, cs, half, 1], fresh(cx, `${hint}_pair`))
      : cut;
    const full = b.op('concat', [twice, twice], { axis: -1 }, fresh(cx, `${hint}_full`));
    // Broadcast over the heads: [B, S, 1, R] or [B, 1, S, R].
    const shape = o.seqAxis === 1 ? [cb, cs, 1, R] : [cb, 1, cs, R];
    return b.reshape(full, shape, fresh(cx, `${hint}_b`));
  };
  return b.op(
    'rotary',
    [x, angle(cosC, 'cos'), angle(sinC, 'sin')],
    { interleaved: o.interleaved, ...(R < H ? { rotary_dim: R } : {}) },
    fresh(cx, 'rotated'),
  );
}
