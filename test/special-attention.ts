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

/** finfo(f32).min, eager attention's causal fill and padding value. */
const MIN = -3.4028234663852886e38;
/** finfo(f16).min. */
const F16_MIN = -65504;
/** Eager attention: where(lower-triangular buffer, s, fill) + an additive mask %m. */
const eager = (fill: string) =>
  core(
    `  %buf: bool[4,4] = constant[dtype=bool, shape=[4,4], value=[1,0,0,0,1,1,0,0,1,1,1,0,1,1,1,1]]\n  %fill: f32[] = constant[value=[${fill}]]\n  %sw: f32[1,4,4] = where %buf, %s1, %fill\n  %sm: f32[1,4,4] = add %sw, %m\n`,
    ', %m: f32[1,4,4]',
  );

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
  // Eager GPT-2: where(causal buffer, s, fill) before the padding mask (causal_fill).
  'attention: eager causal buffer, finfo.min fill, left padding (rows whose visible keys are all ≈finfo.min)':
    {
      text: eager('-3.4028234663852886e38'),
      inputs: () => ({
        q: withSpecials([1, 4, 4], 20),
        k: withSpecials([1, 4, 4], 21),
        v: withSpecials([1, 4, 4], 22),
        // Row 0: key 0 padded, keys 1–3 hidden (score finfo.min + 0): every score ≈ finfo.min.
        m: withSpecials([1, 4, 4], 23, {
          0: MIN,
          1: 0,
          2: 0,
          3: 0,
          4: MIN,
          5: MIN,
          6: 0,
          7: 0,
          11: MIN,
          13: -0,
          14: MIN,
        }),
      }),
    },
  'attention: eager causal buffer, finfo.min fill, +inf and NaN in the mask at hidden keys, -inf at every visible one':
    {
      text: eager('-3.4028234663852886e38'),
      inputs: () => ({
        q: withSpecials([1, 4, 4], 24, { 12: 1e30 }),
        k: withSpecials([1, 4, 4], 25),
        v: withSpecials([1, 4, 4], 26),
        // Row 0: +inf at a hidden key (fill + inf = +inf: NaN row); row 1: NaN at a hidden
        // key; row 2: every visible key -inf, the hidden one finfo.min (it takes the weight).
        m: withSpecials([1, 4, 4], 27, {
          1: Infinity,
          6: NaN,
          8: -Infinity,
          9: -Infinity,
          10: -Infinity,
          11: 0,
        }),
      }),
    },
  'attention: eager causal buffer with fill -0, ±inf in v at hidden keys': {
    text: eager('-0.0'),
    inputs: () => ({
      q: withSpecials([1, 4, 4], 28),
      k: withSpecials([1, 4, 4], 29),
      v: withSpecials([1, 4, 4], 30, { 13: Infinity, 14: -Infinity }),
      m: withSpecials([1, 4, 4], 31, { 0: -Infinity, 5: -Infinity }),
    }),
  },
  'attention: eager causal buffer with fill NaN': {
    text: eager('nan'),
    inputs: () => ({
      q: withSpecials([1, 4, 4], 32),
      k: withSpecials([1, 4, 4], 33),
      v: withSpecials([1, 4, 4], 34),
      m: withSpecials([1, 4, 4], 35),
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
 * f32 between ops), its inputs rounded to f16 (±1e30 is ±inf there); finfo.min is f16's
 * own, as an fp16 export writes it (f32's would round to -inf).
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
          .replaceAll('constant[value=', 'constant[dtype=f16, value=')
          .replaceAll('-3.4028234663852886e38', String(F16_MIN)),
        inputs: () =>
          Object.fromEntries(
            Object.entries(c.inputs()).map(([k, t]) => [
              k,
              t.dtype === 'f32'
                ? fromNumbers(
                    'f16',
                    [...t.shape],
                    Array.from(toNumbers(t), (x) => (x === Math.fround(MIN) ? F16_MIN : x)),
                  )
                : t,
            ]),
          ),
      },
    ]),
  ),
};
