/**
 * Attention written out with special values where they matter (test/special.ts says how
 * the special-value suites compare): each case in f32 and in f16.
 */
import type { Tensor } from '@glimpse/ir';
import { fromNumbers, randomStream, toNumbers } from '@glimpse/ir';

/** Values in [-1, 1] from `seed`, with `set` (flat index → value) written over them. */
function withSpecials(shape: number[], seed: number, set: Record<number, number> = {}): Tensor {
  const rnd = randomStream(seed, 'attention-specials');
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Array.from({ length: n }, (_, i) => (i in set ? set[i]! : rnd() * 2 - 1));
  return fromNumbers('f32', shape, data);
}

const QKV = '%q: f32[1,4,4], %k: f32[1,4,4], %v: f32[1,4,4]';
const core = (mask: string, maskIn = '') => `graph @attn(${QKV}${maskIn}) {
  %s: f32[1,4,4] = bmm[transpose_b=true] %q, %k
  %s1: f32[1,4,4] = scale[factor=0.5] %s
${mask}  %p: f32[1,4,4] = softmax %sm
  %y: f32[1,4,4] = bmm %p, %v
  return %y
}`;

/**
 * Attention written out (it fuses at -O2) with special values where they matter: NaN in q,
 * k or v, +inf and NaN in an additive mask, a row the mask or a boolean masks entirely, and
 * ±inf in v under a causal mask (the probabilities are exactly 0 past the causal stop, so
 * the written matmul gives 0·inf = NaN there, and the fused op must too).
 */
const F32_ATTENTION: Record<string, { text: string; inputs: () => Record<string, Tensor> }> = {
  'attention: NaN in one element of q, of k and of v': {
    text: core('  %sm: f32[1,4,4] = scale[factor=1.0] %s1\n'),
    inputs: () => ({
      q: withSpecials([1, 4, 4], 1, { 1: NaN }),
      k: withSpecials([1, 4, 4], 2, { 9: NaN }),
      v: withSpecials([1, 4, 4], 3, { 7: NaN }),
    }),
  },
  'attention: an additive mask with a row of -inf, a +inf and a NaN': {
    text: core('  %sm: f32[1,4,4] = add %s1, %m\n', ', %m: f32[1,4,4]'),
    inputs: () => ({
      q: withSpecials([1, 4, 4], 4),
      k: withSpecials([1, 4, 4], 5),
      v: withSpecials([1, 4, 4], 6),
      m: withSpecials([1, 4, 4], 7, {
        0: -Infinity,
        1: -Infinity,
        2: -Infinity,
        3: -Infinity,
        5: Infinity,
        10: NaN,
      }),
    }),
  },
  'attention: a boolean mask with a fully masked row (fill -inf) and one with fill -1e9': {
    text: core(
      '  %ninf: f32[] = constant[value=[-inf]]\n  %sm: f32[1,4,4] = where %m, %s1, %ninf\n',
      ', %m: bool[1,4,4]',
    ),
    inputs: () => ({
      q: withSpecials([1, 4, 4], 8),
      k: withSpecials([1, 4, 4], 9),
      v: withSpecials([1, 4, 4], 10),
      m: fromNumbers('bool', [1, 4, 4], [0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1]),
    }),
  },
  'attention: causal, with +inf and -inf in v past the causal stop': {
    text: core(
      '  %t: bool[4,4] = tril %s1\n  %ninf: f32[] = constant[value=[-inf]]\n  %sm: f32[1,4,4] = where %t, %s1, %ninf\n',
    ),
    inputs: () => ({
      q: withSpecials([1, 4, 4], 11),
      k: withSpecials([1, 4, 4], 12),
      v: withSpecials([1, 4, 4], 13, { 13: Infinity, 14: -Infinity }),
    }),
  },
  'attention: scores shifted by their row maximum (torchaudio), a row with NaN, one with +inf': {
    text: core(
      '  %mx: f32[1,4,1] = reduce_max[axes=[2], keepdims=true] %s1\n  %sm: f32[1,4,4] = sub %s1, %mx\n',
    ),
    inputs: () => ({
      q: withSpecials([1, 4, 4], 17, { 4: NaN, 8: 1e30 }),
      k: withSpecials([1, 4, 4], 18, { 0: 1e30 }),
      v: withSpecials([1, 4, 4], 19),
    }),
  },
  'attention: logits of ±1e30 (softmax of inf − inf)': {
    text: core('  %sm: f32[1,4,4] = scale[factor=1.0] %s1\n'),
    inputs: () => ({
      q: withSpecials([1, 4, 4], 14, { 0: 1e30, 5: -1e30 }),
      k: withSpecials([1, 4, 4], 15, { 0: 1e30 }),
      v: withSpecials([1, 4, 4], 16),
    }),
  },
};

/**
 * Each attention case in f16 too (an fp16 model's attention: f16 q, k, v and mask, held in
 * f32 between ops), its inputs rounded to f16 (±1e30 is ±inf there).
 */
export const ATTENTION_SPECIALS: Record<
  string,
  { text: string; inputs: () => Record<string, Tensor> }
> = {
  ...F32_ATTENTION,
  ...Object.fromEntries(
    Object.entries(F32_ATTENTION).map(([what, c]) => [
      `${what}, in f16`,
      {
        text: c.text
          .replaceAll('f32[', 'f16[')
          .replaceAll('constant[value=', 'constant[dtype=f16, value='),
        inputs: () =>
          Object.fromEntries(
            Object.entries(c.inputs()).map(([k, t]) => [
              k,
              t.dtype === 'f32' ? fromNumbers('f16', [...t.shape], toNumbers(t)) : t,
            ]),
          ),
      },
    ]),
  ),
};
