/**
 * The optimizer's fused-attention property tests, run on WGSL: random attention graphs in
 * every form models write them (scale forms, masks, causal forms, layouts, GQA; dh not a
 * multiple of 4) fuse at -O2, and the fused graph on WGSL equals the unfused graph on WGSL,
 * row by row under the precision contract against the float64 reference (test/special.ts). Plus attention ops sized
 * around the WGSL kernel's tiles: decode (T ≤ 4, split-K over long S), prefill tiles of 64
 * query rows, causal early stops with non-finite v past the stop, fully masked rows, GQA.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { DType, Tensor } from '@glimpse/ir';
import { buildGraph, fromNumbers, interpret, randomStream } from '@glimpse/ir';
import { compileWgsl } from '@glimpse/backend-wgsl';
import { optimize } from '@glimpse/optimizer';
import { build, caseArb, inputs, normalise } from '../attention-cases.js';
import { expectRowsEqual, infColumns } from '../special.js';
import { assertClose } from '../helpers.js';
import { expectAttentionContract } from '../attention-naive.js';
import { checkWgsl, describeGpu } from './gpu.js';

describeGpu('attention fusion over random graphs, on WGSL', () => {
  it('-O2 (fused) ≡ -O0 (unfused) on WGSL, row by row against the float64 reference', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb.map(normalise), async (c) => {
        const g = build(c);
        const o2 = optimize(g, { level: 2 });
        expect(o2.nodes.filter((n) => n.op === 'attention')).toHaveLength(1);
        const x = inputs(g, { B: c.B, T: c.T }, c);
        const want = interpret(g, x);
        // Fused against unfused, both on WGSL, row by row under the precision contract.
        expectRowsEqual(
          'wgsl -O2',
          (await (await compileWgsl(o2)).run(x)).y!,
          (await (await compileWgsl(g)).run(x)).y!,
          want.y!,
          x.v && infColumns(x.v, want.y!.shape.at(-1) ?? 1),
        );
      }),
      { numRuns: 100 },
    );
  });
});

/** An attention op with q [B, Hq, T, dh], k/v [B, Hkv, S, d] and an optional mask. */
const opCase = fc
  .record({
    B: fc.integer({ min: 1, max: 2 }),
    Hkv: fc.integer({ min: 1, max: 2 }),
    group: fc.constantFrom(1, 2, 4),
    T: fc.constantFrom(1, 2, 4, 5, 63, 64, 65, 130),
    S: fc.constantFrom(1, 7, 64, 65, 200, 300),
    dh: fc.constantFrom(1, 3, 8, 30, 64),
    dv: fc.constantFrom(1, 5, 64),
    causal: fc.constantFrom('none', 'top_left', 'bottom_right'),
    mask: fc.constantFrom('none', 'bool', 'additive'),
    rows: fc.constantFrom('nan', 'zero', 'mask'),
    special: fc.constantFrom(0, 0, 0.005),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
  .map((c) => {
    const Hq = c.Hkv * c.group;
    const shapes: [string, DType, number[]][] = [
      ['q', 'f32', [c.B, Hq, c.T, c.dh]],
      ['k', 'f32', [c.B, c.Hkv, c.S, c.dh]],
      ['v', 'f32', [c.B, c.Hkv, c.S, c.dv]],
    ];
    // Masks broadcast over batch and heads ([T, S]), as padding and causal masks do.
    if (c.mask !== 'none') shapes.push(['mask', c.mask === 'bool' ? 'bool' : 'f32', [c.T, c.S]]);
    const graph = buildGraph('attn', (b) =>
      b.op(
        'attention',
        shapes.map(([n, d, s]) => b.input(n, d, s)),
        { causal: c.causal, masked_rows: c.rows },
        'y',
      ),
    );
    const SPECIAL = [NaN, Infinity, -Infinity, 1e4, -1e4];
    const x: Record<string, Tensor> = {};
    for (const [n, d, s] of shapes) {
      const rnd = randomStream(c.seed, n);
      const vals = Array.from({ length: s.reduce((a, v) => a * v, 1) }, () =>
        n === 'mask'
          ? d === 'bool'
            ? rnd() < 0.85
              ? 1
              : 0
            : rnd() < 0.15
              ? -Infinity
              : rnd() - 0.5
          : rnd() < c.special
            ? SPECIAL[Math.floor(rnd() * SPECIAL.length)]!
            : rnd() * 2 - 1,
      );
      x[n] = fromNumbers(d, s, vals);
    }
    return { c, graph, x };
  });

describeGpu('the WGSL attention kernel around its tiles', () => {
  it('decode and prefill paths, causal stops, masks, GQA, special values ≡ reference', async () => {
    await fc.assert(
      fc.asyncProperty(opCase, ({ graph, x }) =>
        expectAttentionContract(
          'wgsl attention',
          graph,
          x,
          async (g) => (await (await compileWgsl(g)).run(x)).y!,
        ),
      ),
      { numRuns: 40 },
    );
  });
  for (const rows of ['nan', 'zero', 'mask'] as const)
    it(`a NaN in v past a causal early stop still reaches every row (0·NaN), as unfused (masked_rows ${rows})`, async () => {
      // T = S = 130 top-left causal: the first tile (rows 0..63) stops at key 64; v row 100 is NaN.
      const g = buildGraph('attn', (b) =>
        b.op(
          'attention',
          [
            b.input('q', 'f32', [1, 130, 8]),
            b.input('k', 'f32', [1, 130, 8]),
            b.input('v', 'f32', [1, 130, 2]),
          ],
          { causal: 'top_left', masked_rows: rows },
          'y',
        ),
      );
      const rnd = randomStream(5, 'x');
      const t = (s: number[]) =>
        fromNumbers(
          'f32',
          s,
          Array.from({ length: s.reduce((a, v) => a * v) }, () => rnd() - 0.5),
        );
      const x = { q: t([1, 130, 8]), k: t([1, 130, 8]), v: t([1, 130, 2]) };
      (x.v.data as Float32Array)[100 * 2 + 1] = NaN;
      const ref = await checkWgsl(g, x);
      // The reference itself says: column 1 is NaN in every row, column 0 in none.
      expect(Array.from({ length: 130 }, (_, i) => Number.isNaN(ref.y!.data[i * 2 + 1]!))).toEqual(
        Array(130).fill(true),
      );
      expect(ref.y!.data.filter((_, i) => i % 2 === 0).some(Number.isNaN)).toBe(false);
    });
});
