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

/** bmm over broadcast batch dims; each operand may be read transposed (strides swapped). */
export const bmm: KernelFactory<'bmm'> = (at, ctx) => {
  const [sa, sb] = ctx.inShapes as [number[], number[]];
  const out = ctx.outShapes[0]!;
  const [M, N] = [out[out.length - 2]!, out[out.length - 1]!];
  const K = at.transpose_a ? sa[sa.length - 2]! : sa[sa.length - 1]!;
  const [ar, ac] = [sa[sa.length - 2]!, sa[sa.length - 1]!];
  const [br, bc] = [sb[sb.length - 2]!, sb[sb.length - 1]!];
  const batch = out.slice(0, -2);
  const strides = [
    broadcastStrides(sa.slice(0, -2), batch).map((s) => s * ar * ac),
    broadcastStrides(sb.slice(0, -2), batch).map((s) => s * br * bc),
  ];
  const aRs = at.transpose_a ? 1 : ac;
  const aCs = at.transpose_a ? ac : 1;
  const bRs = at.transpose_b ? 1 : bc;
  const bCs = at.transpose_b ? bc : 1;
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
