import type { BmmAttrs } from '@glimpse/ir';
import { broadcastStrides, numel } from '@glimpse/ir';
import { gemm, needGemm } from './gemm.js';
import { walk } from './strided.js';
import type { KernelFactory } from './types.js';

/** linear: x [..., K] · Wᵀ (+ b); Wᵀ is read in place through strides. */
export const linear: KernelFactory<'linear'> = (_a, ctx) => {
  const xs = ctx.inShapes[0]!;
  const [N, K] = ctx.inShapes[1] as [number, number];
  const M = numel(xs) / (K || 1);
  const rows = K === 0 ? numel(ctx.outShapes[0]!) / (N || 1) : M;
  needGemm(ctx.scratch, K);
  const scratch = ctx.scratch;
  return ([x, w, b], [y]) =>
    // The bias joins the float64 sums before their one rounding to f32.
    gemm(
      rows,
      N,
      K,
      { data: x as Float32Array, off: 0, rs: K, cs: 1 },
      { data: w as Float32Array, off: 0, rs: 1, cs: K },
      y as Float32Array,
      0,
      N,
      scratch.simd(),
      b as Float32Array | undefined,
    );
};

/**
 * A bmm's geometry in elements: M, N, K, the batch shape, each operand's offset stride per
 * batch axis (0 where it broadcasts), and the row and column strides of A (M×K) and B
 * (K×N) as read — a transposed operand is read through swapped strides. Shared by the CPU
 * backends' kernels.
 */
export function bmmGeometry(
  at: BmmAttrs,
  inShapes: readonly (readonly number[])[],
  out: readonly number[],
) {
  const [sa, sb] = inShapes as [number[], number[]];
  const [M, N] = [out[out.length - 2]!, out[out.length - 1]!];
  const K = at.transpose_a ? sa[sa.length - 2]! : sa[sa.length - 1]!;
  const [ar, ac] = [sa[sa.length - 2]!, sa[sa.length - 1]!];
  const [br, bc] = [sb[sb.length - 2]!, sb[sb.length - 1]!];
  const batch = out.slice(0, -2);
  return {
    M,
    N,
    K,
    batch,
    strides: [
      broadcastStrides(sa.slice(0, -2), batch).map((s) => s * ar * ac),
      broadcastStrides(sb.slice(0, -2), batch).map((s) => s * br * bc),
    ],
    aRs: at.transpose_a ? 1 : ac,
    aCs: at.transpose_a ? ac : 1,
    bRs: at.transpose_b ? 1 : bc,
    bCs: at.transpose_b ? bc : 1,
  };
}

/** bmm over broadcast batch dims; each operand may be read transposed (strides swapped). */
export const bmm: KernelFactory<'bmm'> = (at, ctx) => {
  const { M, N, K, batch, strides, aRs, aCs, bRs, bCs } = bmmGeometry(
    at,
    ctx.inShapes,
    ctx.outShapes[0]!,
  );
  needGemm(ctx.scratch, K);
  const scratch = ctx.scratch;
  return ([a, b], [y]) => {
    const A = a as Float32Array;
    const B = b as Float32Array;
    walk(batch, strides, (i, [oa, ob]) =>
      gemm(
        M,
        N,
        K,
        { data: A, off: oa!, rs: aRs, cs: aCs },
        { data: B, off: ob!, rs: bRs, cs: bCs },
        y as Float32Array,
        i * M * N,
        N,
        scratch.simd(),
      ),
    );
  };
};
