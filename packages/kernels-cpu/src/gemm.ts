import type { Scratch, SimdScratch } from './scratch.js';

/**
 * GEMM for the JS backend: C[M,N] (+)= A[M,K]·B[K,N] with A and B read through arbitrary
 * strides, so a transposed operand is read in place (no transposed copy of the tensor is
 * ever made). Blocked as in BLIS/GotoBLAS: a KC×NC block of B and a 4×KC sliver of A are
 * packed as float64 into the SIMD micro-kernel's memory (cache-sized, contiguous), and the
 * 4×4 micro-kernel (simd.ts) accumulates each tile in float64.
 */
const MR = 4;
const NR = 4;
const KC = 256;
const NC = 512;

/**
 * Declare gemm's scratch regions for products of depth up to K; every kernel factory that
 * calls gemm does this. All of K is packed at once (an A sliver of MR×K, a B block of K×NC),
 * so that each output tile accumulates over the whole depth in float64 and is rounded to
 * f32 once — never partial sums.
 */
export function needGemm(s: Scratch, K = KC): void {
  const k = Math.max(1, K);
  s.needSimd('gemm.a', k * MR);
  s.needSimd('gemm.b', k * NC);
  s.needSimd('gemm.tile', MR * NR);
}

export interface MatRef {
  readonly data: Float32Array | Float64Array;
  readonly off: number;
  /** Stride between rows (the M or K index) and between columns (K or N index). */
  readonly rs: number;
  readonly cs: number;
}

/** C = A·B (+ bias over columns, added in float64 before the one rounding to C's type). */
export function gemm(
  M: number,
  N: number,
  K: number,
  A: MatRef,
  B: MatRef,
  C: Float32Array | Float64Array,
  cOff: number,
  ldc: number,
  s: SimdScratch,
  bias?: Float32Array,
): void {
  if (K === 0) {
    // An empty sum is +0; the bias is added to it (+0 + b: a −0 bias gives +0, as addmm).
    for (let i = 0; i < M; i++)
      for (let j = 0, o = cOff + i * ldc; j < N; j++) C[o + j] = bias ? 0 + bias[j]! : 0;
    return;
  }
  const mem = s.mem;
  const [aOff, bOff, tOff] = [s.at('gemm.a'), s.at('gemm.b'), s.at('gemm.tile')];
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    const ncp = Math.ceil(nc / NR) * NR;
    // Every KC-deep block of B for these columns, one after another (block pc at pc·ncp).
    for (let pc = 0; pc < K; pc += KC)
      packB(B, pc, jc, Math.min(KC, K - pc), nc, mem, bOff + pc * ncp);
    for (let ic = 0; ic < M; ic += MR) {
      const mr = Math.min(MR, M - ic);
      for (let pc = 0; pc < K; pc += KC)
        packA(A, ic, pc, mr, Math.min(KC, K - pc), mem, aOff + pc * MR);
      for (let jr = 0; jr < nc; jr += NR) {
        for (let pc = 0; pc < K; pc += KC) {
          const kc = Math.min(KC, K - pc);
          s.micro(
            kc,
            (aOff + pc * MR) * 8,
            (bOff + pc * ncp + jr * kc) * 8,
            tOff * 8,
            32,
            pc === 0 ? 0 : 1,
          );
        }
        storeTile(
          mem,
          tOff,
          C,
          cOff + ic * ldc + jc + jr,
          ldc,
          mr,
          Math.min(NR, nc - jr),
          true,
          bias,
          jc + jr,
        );
      }
    }
  }
}

/**
 * The micro-kernel's 4×4 tile (at `t`) into C: the first mr×nr entries, stored or added;
 * with `bias`, bias[j0 + column] is added (in float64) as it is stored.
 */
export function storeTile(
  mem: Float64Array,
  t: number,
  C: Float32Array | Float64Array,
  c0: number,
  ldc: number,
  mr: number,
  nr: number,
  overwrite: boolean,
  bias?: Float32Array,
  j0 = 0,
) {
  for (let r = 0; r < mr; r++)
    for (let c = 0, o = c0 + r * ldc; c < nr; c++) {
      const x = bias ? mem[t + r * 4 + c]! + bias[j0 + c]! : mem[t + r * 4 + c]!;
      C[o + c] = overwrite ? x : C[o + c]! + x;
    }
}

/** B[pc:pc+kc, jc:jc+nc] → panels of NR columns, each kc×NR row-major; pads with zeros. */
function packB(
  B: MatRef,
  pc: number,
  jc: number,
  kc: number,
  nc: number,
  mem: Float64Array,
  bOff: number,
) {
  const { data, off, rs, cs } = B;
  for (let jr = 0; jr < nc; jr += NR) {
    const base = bOff + jr * kc;
    const nr = Math.min(NR, nc - jr);
    for (let k = 0; k < kc; k++) {
      const src = off + (pc + k) * rs + (jc + jr) * cs;
      const dst = base + k * NR;
      for (let c = 0; c < NR; c++) mem[dst + c] = c < nr ? data[src + c * cs]! : 0;
    }
  }
}

/** A[ic:ic+mr, pc:pc+kc] → kc×MR column-interleaved; pads with zeros. */
function packA(
  A: MatRef,
  ic: number,
  pc: number,
  mr: number,
  kc: number,
  mem: Float64Array,
  aOff: number,
) {
  const { data, off, rs, cs } = A;
  for (let r = 0; r < MR; r++) {
    if (r >= mr) {
      for (let k = 0; k < kc; k++) mem[aOff + k * MR + r] = 0;
      continue;
    }
    let src = off + (ic + r) * rs + pc * cs;
    for (let k = 0; k < kc; k++, src += cs) mem[aOff + k * MR + r] = data[src]!;
  }
}
