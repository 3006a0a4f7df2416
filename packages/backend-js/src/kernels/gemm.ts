/**
 * Single-precision GEMM for the JS backend: C[M,N] (+)= A[M,K]·B[K,N] with A and B read
 * through arbitrary strides, so a transposed operand is read in place (no transposed copy
 * of the tensor is ever made). Blocked as in BLIS/GotoBLAS: a KC×NC block of B and a 4×KC
 * sliver of A are packed into small contiguous float64 scratch buffers that stay in cache
 * (float64 so the inner loop loads doubles directly: 3.8 vs 2.2 GFLOP/s with float32), and a
 * 4×4 register-tiled micro-kernel accumulates in JS doubles (locals V8 keeps in registers).
 */
const MR = 4;
const NR = 4;
const KC = 256;
const NC = 512;

/** Packing buffers, sized for the largest block; one serves every gemm of an instance. */
export class GemmScratch {
  static readonly BYTES = (KC * NC + KC * MR) * 8;
  readonly bp = new Float64Array(KC * NC);
  readonly ap = new Float64Array(KC * MR);
}

export interface MatRef {
  /** Operands are packed into float64 anyway, so either precision reads in place. */
  readonly data: Float32Array | Float64Array;
  readonly off: number;
  /** Stride between rows (the M or K index) and between columns (K or N index). */
  readonly rs: number;
  readonly cs: number;
}

export function gemm(
  M: number,
  N: number,
  K: number,
  A: MatRef,
  B: MatRef,
  C: Float32Array,
  cOff: number,
  ldc: number,
  scratch: GemmScratch,
): void {
  if (K === 0) {
    for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
    return;
  }
  const { bp, ap } = scratch;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      packB(B, pc, jc, kc, nc, bp);
      const first = pc === 0;
      for (let ic = 0; ic < M; ic += MR) {
        const mr = Math.min(MR, M - ic);
        packA(A, ic, pc, mr, kc, ap);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          micro(kc, ap, 0, bp, jr * kc, C, cOff + ic * ldc + jc + jr, ldc, mr, nr, first);
        }
      }
    }
  }
}

/** B[pc:pc+kc, jc:jc+nc] → panels of NR columns, each kc×NR row-major; pads with zeros. */
function packB(B: MatRef, pc: number, jc: number, kc: number, nc: number, bp: Float64Array) {
  const { data, off, rs, cs } = B;
  for (let jr = 0; jr < nc; jr += NR) {
    const base = jr * kc;
    const nr = Math.min(NR, nc - jr);
    for (let k = 0; k < kc; k++) {
      const src = off + (pc + k) * rs + (jc + jr) * cs;
      const dst = base + k * NR;
      for (let c = 0; c < NR; c++) bp[dst + c] = c < nr ? data[src + c * cs]! : 0;
    }
  }
}

/** A[ic:ic+mr, pc:pc+kc] → kc×MR column-interleaved; pads with zeros. */
function packA(A: MatRef, ic: number, pc: number, mr: number, kc: number, ap: Float64Array) {
  const { data, off, rs, cs } = A;
  for (let r = 0; r < MR; r++) {
    if (r >= mr) {
      for (let k = 0; k < kc; k++) ap[k * MR + r] = 0;
      continue;
    }
    let src = off + (ic + r) * rs + pc * cs;
    for (let k = 0; k < kc; k++, src += cs) ap[k * MR + r] = data[src]!;
  }
}

/**
 * C[mr×nr] (+)= A·B over kc, from packed operands: A as kc×4 (row r of step k at
 * pa0 + 4k + r), B as kc×4 (column c at pb0 + 4k + c). Exported for kernels that pack
 * their operands once and reuse them (attention packs K and V once per head).
 */
// The micro-kernel is written out by hand: 16 accumulators in locals is what makes V8 keep
// them in registers. prettier would put each on its own line; the grid is easier to check.
// prettier-ignore
export function micro(
  kc: number, ap: Float64Array, pa0: number, bp: Float64Array, pb0: number,
  C: Float32Array | Float64Array, c0: number, ldc: number, mr: number, nr: number, overwrite: boolean,
) {
  // Accumulating into C (a later K block) starts from C's values; a first block from 0.
  const full = mr === 4 && nr === 4;
  const ld = !overwrite && full;
  const r1 = c0 + ldc, r2 = c0 + 2 * ldc, r3 = c0 + 3 * ldc;
  let c00 = ld ? C[c0]! : 0, c01 = ld ? C[c0 + 1]! : 0, c02 = ld ? C[c0 + 2]! : 0, c03 = ld ? C[c0 + 3]! : 0;
  let c10 = ld ? C[r1]! : 0, c11 = ld ? C[r1 + 1]! : 0, c12 = ld ? C[r1 + 2]! : 0, c13 = ld ? C[r1 + 3]! : 0;
  let c20 = ld ? C[r2]! : 0, c21 = ld ? C[r2 + 1]! : 0, c22 = ld ? C[r2 + 2]! : 0, c23 = ld ? C[r2 + 3]! : 0;
  let c30 = ld ? C[r3]! : 0, c31 = ld ? C[r3 + 1]! : 0, c32 = ld ? C[r3 + 2]! : 0, c33 = ld ? C[r3 + 3]! : 0;
  let pa = pa0;
  let pb = pb0;
  for (let k = 0; k < kc; k++, pa += 4, pb += 4) {
    const a0 = ap[pa]!, a1 = ap[pa + 1]!, a2 = ap[pa + 2]!, a3 = ap[pa + 3]!;
    const b0 = bp[pb]!, b1 = bp[pb + 1]!, b2 = bp[pb + 2]!, b3 = bp[pb + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (full) {
    C[c0] = c00; C[c0 + 1] = c01; C[c0 + 2] = c02; C[c0 + 3] = c03;
    C[r1] = c10; C[r1 + 1] = c11; C[r1 + 2] = c12; C[r1 + 3] = c13;
    C[r2] = c20; C[r2 + 1] = c21; C[r2 + 2] = c22; C[r2 + 3] = c23;
    C[r3] = c30; C[r3 + 1] = c31; C[r3 + 2] = c32; C[r3 + 3] = c33;
    return;
  }
  const acc = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
  for (let r = 0; r < mr; r++)
    for (let c = 0; c < nr; c++) {
      const o = c0 + r * ldc + c;
      C[o] = (overwrite ? 0 : C[o]!) + acc[r * 4 + c]!;
    }
}
