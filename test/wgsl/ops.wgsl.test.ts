/**
 * Every op on the WGSL backend, run for real on WebGPU (SwiftShader here), equals the
 * float64 reference: the same random cases as the JS backend's op tests (size-1 dims,
 * broadcasts, sizes that divide no tile, special values), plus dispatches past the
 * 65535-workgroup limit of one grid dimension.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { Tensor } from '@glimpse/ir';
import { buildGraph } from '@glimpse/ir';
import { compileWgsl } from '@glimpse/backend-wgsl';
import { defineOpSuite } from '../f32-ops.js';
import { tensor } from '../helpers.js';
import { checkWgsl, describeGpu } from './gpu.js';

defineOpSuite('wgsl', compileWgsl, describeGpu);

describeGpu('gelu far below zero', () => {
  // x·Φ(x) is a tiny negative number there; 1 + erf(x/√2) in f32 cancels to 0 or below, so
  // sqrt(gelu(x)) — NaN as written — came out a number (found by the property test above).
  it('keeps its sign: sqrt(gelu(x)) is NaN for x from −5 to −8, −0 below, as on the reference', async () => {
    const xs = [-5, -5.56, -6, -7, -8, -9, -10, -12];
    const g = buildGraph('g', (b) =>
      b.op(
        'elementwise',
        [b.input('x', 'f32', [xs.length])],
        { program: ['$0', 'gelu', 'sqrt'] },
        'y',
      ),
    );
    const ref = await checkWgsl(g, {
      x: { dtype: 'f32', shape: [xs.length], data: Float32Array.from(xs) },
    });
    // The reference's own float64 1 + erf(x/√2) reaches 0 below x ≈ −8.3: −0 there.
    expect(
      Array.from(ref.y!.data, (v) => (Number.isNaN(v) ? 'nan' : Object.is(v, -0) ? '-0' : v)),
    ).toEqual(['nan', 'nan', 'nan', 'nan', 'nan', '-0', '-0', '-0']);
  });
});

describeGpu('matmul shapes the 64×64×16 tiles divide (no bounds checks; vec4 global loads)', () => {
  it('bmm with transposes and broadcast batches, linear with bias ≡ reference', async () => {
    const arb = fc.record({
      M: fc.constantFrom(64, 128),
      N: fc.constantFrom(64, 128),
      K: fc.constantFrom(16, 48),
      ta: fc.boolean(),
      tb: fc.boolean(),
      batchA: fc.constantFrom<number[]>([], [1], [2]),
      batchB: fc.constantFrom<number[]>([], [2]),
      seed: fc.integer({ min: 0, max: 1000 }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async (c) => {
        const a = [...c.batchA, ...(c.ta ? [c.K, c.M] : [c.M, c.K])];
        const b = [...c.batchB, ...(c.tb ? [c.N, c.K] : [c.K, c.N])];
        const g = buildGraph('mm', (bb) =>
          bb.op(
            'bmm',
            [bb.input('a', 'f32', a), bb.input('b', 'f32', b)],
            { transpose_a: c.ta, transpose_b: c.tb },
            'y',
          ),
        );
        await checkWgsl(
          g,
          { a: tensor('f32', a, c.seed), b: tensor('f32', b, c.seed + 1) },
          { scale: c.K * 4 },
        );
      }),
      { numRuns: 12 },
    );
    const lin = buildGraph('lin', (b) =>
      b.op(
        'linear',
        [
          b.input('x', 'f32', [2, 64, 48]),
          b.input('w', 'f32', [128, 48]),
          b.input('bias', 'f32', [128]),
        ],
        {},
        'y',
      ),
    );
    await checkWgsl(
      lin,
      {
        x: tensor('f32', [2, 64, 48], 1),
        w: tensor('f32', [128, 48], 2),
        bias: tensor('f32', [128], 3),
      },
      { scale: 200 },
    );
  });
});

describeGpu('dispatches past 65535 workgroups (split over a 2-D grid)', () => {
  const x = (shape: number[], seed: number): Tensor => tensor('f32', shape, seed);
  it('add over 4.4M elements (68750 workgroups of 64)', async () => {
    const g = buildGraph('big_add', (b) =>
      b.op('add', [b.input('a', 'f32', [1100, 4000]), b.input('b', 'f32', [4000])], {}, 'y'),
    );
    await checkWgsl(g, { a: x([1100, 4000], 1), b: x([4000], 2) });
  });
  it('softmax over 70000 rows (one workgroup per row)', async () => {
    const g = buildGraph('big_softmax', (b) =>
      b.op('softmax', [b.input('x', 'f32', [70000, 3])], { axis: -1 }, 'y'),
    );
    await checkWgsl(g, { x: x([70000, 3], 3) });
  });
});

describeGpu('cos and sin over the whole f32 range', () => {
  /** ulps of f32 at |v| (the spacing of f32 values there). */
  const ulp = (v: number) => {
    const a = Math.max(Math.abs(v), 2 ** -126);
    return 2 ** (Math.floor(Math.log2(a)) - 23);
  };
  // Every binade from 2⁻²⁰ to 2¹²⁷ at random mantissas, both signs, and the f32 values
  // nearest multiples of π/2 up to 10⁶ (where the reduction cancels most): the argument
  // reduction is exact, so each result is within a few ulps of cos and sin of the f32 input.
  const xs: number[] = [];
  let s = 12345;
  const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let e = -20; e <= 127; e++)
    for (let j = 0; j < 4; j++) xs.push(Math.fround((rnd() < 0.5 ? -1 : 1) * (1 + rnd()) * 2 ** e));
  for (let k = 1; k < 1e6; k = Math.ceil(k * 1.37)) xs.push(Math.fround((k * Math.PI) / 2));
  for (const op of ['cos', 'sin'] as const)
    it(`${op}: within 4 ulps of the float64 ${op} of each f32 argument`, async () => {
      const g = buildGraph('g', (b) => b.op(op, [b.input('x', 'f32', [xs.length])], {}, 'y'));
      const exe = await compileWgsl(g);
      const got = (
        await exe.run({ x: { dtype: 'f32', shape: [xs.length], data: Float32Array.from(xs) } })
      ).y!.data;
      const bad = xs
        .map((x, i) => ({ x, got: Number(got[i]), want: Math[op](x) }))
        .filter((r) => !(Math.abs(r.got - r.want) <= 4 * ulp(r.want)));
      expect(bad.slice(0, 5)).toEqual([]);
    });
});
