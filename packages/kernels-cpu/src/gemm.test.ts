import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gemm, needGemm } from './gemm.js';
import { Scratch } from './scratch.js';

function simdScratch() {
  const s = new Scratch();
  needGemm(s, 300);
  return s.simd();
}

/** One f32 ulp of x: the sums are float64 throughout and rounded once. */
const ulp = (x: number) => 2 ** (Math.floor(Math.log2(Math.max(Math.abs(x), 2 ** -126))) - 23);

/** Naive float64 matmul through the same strides: the oracle. */
function naive(
  M: number,
  N: number,
  K: number,
  a: Float32Array,
  ars: number,
  acs: number,
  b: Float32Array,
  brs: number,
  bcs: number,
) {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * ars + k * acs]! * b[k * brs + j * bcs]!;
      c[i * N + j] = s;
    }
  return c;
}

describe('gemm', () => {
  it('equals a naive matmul for any size and either operand transposed, across block edges', () => {
    const scratch = simdScratch();
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 13 }),
        fc.constantFrom(1, 3, 4, 5, 17, 515),
        fc.constantFrom(0, 1, 7, 64, 257, 300),
        fc.boolean(),
        fc.boolean(),
        (M, N, K, ta, tb) => {
          const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i * 1.3));
          const b = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i * 0.7));
          const [ars, acs] = ta ? [1, M] : [K, 1];
          const [brs, bcs] = tb ? [1, K] : [N, 1];
          const c = new Float32Array(M * N).fill(NaN); // must be overwritten, not accumulated into
          gemm(
            M,
            N,
            K,
            { data: a, off: 0, rs: ars, cs: acs },
            { data: b, off: 0, rs: brs, cs: bcs },
            c,
            0,
            N,
            scratch,
          );
          const want = naive(M, N, K, a, ars, acs, b, brs, bcs);
          // Float64 sums over the whole depth (across KC blocks too), rounded to f32 once:
          // within one f32 ulp of the float64 oracle.
          for (let i = 0; i < c.length; i++)
            expect(Math.abs(c[i]! - want[i]!)).toBeLessThanOrEqual(ulp(want[i]!));
        },
      ),
      { numRuns: 60 },
    );
  });
  it('writes at an offset with a leading dimension, leaving other memory alone', () => {
    const a = Float32Array.of(1, 2, 3, 4); // [2,2]
    const b = Float32Array.of(5, 6, 7, 8); // [2,2]
    const c = new Float32Array(12).fill(-1);
    gemm(
      2,
      2,
      2,
      { data: a, off: 0, rs: 2, cs: 1 },
      { data: b, off: 0, rs: 2, cs: 1 },
      c,
      5,
      3,
      simdScratch(),
    );
    expect(Array.from(c)).toEqual([-1, -1, -1, -1, -1, 19, 22, -1, 43, 50, -1, -1]);
  });
});
