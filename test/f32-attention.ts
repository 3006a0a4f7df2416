import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DType, Tensor } from '@glimpse/ir';
import { buildGraph, fromNumbers, interpret, randomStream } from '@glimpse/ir';
import { optimize } from '@glimpse/optimizer';
import { expectAttentionContract } from './attention-naive.js';
import { build, caseArb, inputs, normalise } from './attention-cases.js';
import type { CompileFn } from './f32-backend.js';
import { checkF32Backend } from './f32-backend.js';
import { expectRowsEqual, infColumns } from './special.js';

/**
 * An attention op with q [B, Hq, T, dh], k/v [B, Hkv, S, d] and an optional mask, T and S
 * drawn from the sizes given (the default: around the kernels' row blocks and key tiles).
 */
export const attentionOpCase = (
  sizes: { T: number[]; S: number[]; B?: number; Hkv?: number; hidden?: number[] } = {
    T: [1, 2, 4, 5, 63, 64, 65, 130],
    S: [1, 7, 64, 65, 200, 300],
  },
) =>
  fc
    .record({
      B: fc.integer({ min: 1, max: sizes.B ?? 2 }),
      Hkv: fc.integer({ min: 1, max: sizes.Hkv ?? 2 }),
      group: fc.constantFrom(1, 2, 4),
      T: fc.constantFrom(...sizes.T),
      S: fc.constantFrom(...sizes.S),
      dh: fc.constantFrom(1, 3, 8, 30, 64),
      dv: fc.constantFrom(1, 5, 64),
      causal: fc.constantFrom('none', 'top_left', 'bottom_right'),
      /** causal_fill: -inf (blocks stop early) or finfo.min as eager attention writes it. */
      causalFill: fc.constantFrom(-Infinity, -Infinity, -3.4028234663852886e38),
      mask: fc.constantFrom('none', 'bool', 'additive'),
      rows: fc.constantFrom('nan', 'zero', 'mask'),
      special: fc.constantFrom(0, 0, 0.005),
      /** Share of mask entries that hide their key. */
      hidden: fc.constantFrom(...(sizes.hidden ?? [0.15])),
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
          { causal: c.causal, causal_fill: c.causalFill, masked_rows: c.rows },
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
              ? rnd() >= c.hidden
                ? 1
                : 0
              : rnd() < c.hidden
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

/**
 * The optimizer's fused-attention property tests on an f32 backend: random attention graphs
 * in every form models write them fuse at -O2, and the fused graph equals the unfused graph
 * on the same backend, row by row under the precision contract against the float64
 * reference; plus attention ops sized around the kernels' tiles (short queries, row blocks,
 * key tiles), causal early stops with non-finite v past the stop, fully masked rows, GQA.
 */
export function defineAttentionSuite(
  label: string,
  compile: CompileFn,
  describeFn: typeof describe | typeof describe.skip = describe,
) {
  describeFn(`attention fusion over random graphs, on ${label}`, () => {
    it(`-O2 (fused) ≡ -O0 (unfused) on ${label}, row by row against the float64 reference`, async () => {
      await fc.assert(
        fc.asyncProperty(caseArb.map(normalise), async (c) => {
          const g = build(c);
          const o2 = optimize(g, { level: 2 });
          expect(o2.nodes.filter((n) => n.op === 'attention')).toHaveLength(1);
          const x = inputs(g, { B: c.B, T: c.T }, c);
          const want = interpret(g, x);
          // Fused against unfused, both on the backend, row by row under the precision contract.
          expectRowsEqual(
            `${label} -O2`,
            (await (await compile(o2)).run(x)).y!,
            (await (await compile(g)).run(x)).y!,
            want.y!,
            x.v && infColumns(x.v, want.y!.shape.at(-1) ?? 1),
          );
        }),
        { numRuns: 100 },
      );
    });
  });

  describeFn(`the ${label} attention kernel around its tiles`, () => {
    it('decode and prefill paths, causal stops, masks, GQA, special values ≡ reference', async () => {
      await fc.assert(
        fc.asyncProperty(attentionOpCase(), ({ graph, x }) =>
          expectAttentionContract(
            `${label} attention`,
            graph,
            x,
            async (g) => (await (await compile(g)).run(x)).y!,
          ),
        ),
        { numRuns: 40 },
      );
    });
    for (const rows of ['nan', 'zero', 'mask'] as const)
      it(`a NaN in v past a causal early stop still reaches every row (0·NaN), as unfused (masked_rows ${rows})`, async () => {
        // T = S = 130 top-left causal: early row tiles stop before key 100, whose v is NaN.
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
        const ref = await checkF32Backend(label, compile, g, x);
        // The reference itself says: column 1 is NaN in every row, column 0 in none.
        expect(
          Array.from({ length: 130 }, (_, i) => Number.isNaN(ref.y!.data[i * 2 + 1]!)),
        ).toEqual(Array(130).fill(true));
        expect(ref.y!.data.filter((_, i) => i % 2 === 0).some(Number.isNaN)).toBe(false);
      });
  });
}
