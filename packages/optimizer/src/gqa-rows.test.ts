/**
 * gqa-rows on random grouped-query attention: layouts bhsd and bshd, one query row or
 * several (no causal mask), causal forms, masks per head or shared (boolean and additive),
 * every masked_rows, special values in the inputs. Wherever the pass fires, the float64
 * reference interpreter gives the same bits before and after it (each query row meets the
 * same keys, values, mask row and scale); where it declines, the graph is unchanged.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DType, Tensor } from '@glimpse/ir';
import { buildGraph, fromNumbers, interpret, randomStream } from '@glimpse/ir';
import { optimizeWithResults } from './optimize.js';

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e30, -1e30];

function values(seed: number, name: string, shape: number[], dtype: DType): Tensor {
  const rnd = randomStream(seed, name);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Array.from({ length: n }, () =>
    dtype === 'bool'
      ? rnd() < 0.7
        ? 1
        : 0
      : rnd() < 0.05
        ? SPECIAL[Math.floor(rnd() * SPECIAL.length)]!
        : rnd() * 4 - 2,
  );
  return fromNumbers(dtype, shape, v);
}

describe('gqa-rows ≡ the graph as written (reference interpreter, to the bit)', () => {
  it('random grouped-query attention', () => {
    let fired = 0;
    fc.assert(
      fc.property(
        fc.record({
          B: fc.integer({ min: 1, max: 2 }),
          Hkv: fc.integer({ min: 1, max: 3 }),
          g: fc.integer({ min: 1, max: 4 }),
          T: fc.constantFrom(1, 1, 3),
          S: fc.integer({ min: 1, max: 6 }),
          d: fc.integer({ min: 1, max: 5 }),
          dv: fc.integer({ min: 1, max: 5 }),
          layout: fc.constantFrom<'bhsd' | 'bshd'>('bhsd', 'bshd'),
          causal: fc.constantFrom<'none' | 'top_left' | 'bottom_right'>(
            'none',
            'none',
            'top_left',
            'bottom_right',
          ),
          mask: fc.constantFrom('none', 'shared', 'per-head', 'per-row'),
          maskType: fc.constantFrom<DType>('bool', 'f32'),
          maskedRows: fc.constantFrom<'nan' | 'zero' | 'mask'>('nan', 'zero', 'mask'),
          seed: fc.nat(),
        }),
        (c) => {
          const Hq = c.Hkv * c.g;
          const sh = (H: number, L: number, w: number) =>
            c.layout === 'bshd' ? [c.B, L, H, w] : [c.B, H, L, w];
          const maskShape =
            c.mask === 'shared'
              ? [c.B, 1, 1, c.S]
              : c.mask === 'per-head'
                ? [c.B, Hq, c.T, c.S]
                : [c.B, 1, c.T, c.S];
          const shapes: Record<string, number[]> = {
            q: sh(Hq, c.T, c.d),
            k: sh(c.Hkv, c.S, c.d),
            v: sh(c.Hkv, c.S, c.dv),
            m: maskShape,
          };
          const names = c.mask === 'none' ? ['q', 'k', 'v'] : ['q', 'k', 'v', 'm'];
          const g = buildGraph('gqa', (b) =>
            b.op(
              'attention',
              names.map((n) => b.input(n, n === 'm' ? c.maskType : 'f32', shapes[n]!)),
              { layout: c.layout, causal: c.causal, masked_rows: c.maskedRows },
              'y',
            ),
          );
          const r = optimizeWithResults(g, { passes: ['gqa-rows', 'dce'] });
          const x = Object.fromEntries(
            names.map((n) => [n, values(c.seed, n, shapes[n]!, n === 'm' ? c.maskType : 'f32')]),
          );
          const want = interpret(g, x).y!;
          const got = interpret(r.graph, x).y!;
          expect(got.shape).toEqual(want.shape);
          expect(Array.from(got.data as Float64Array)).toEqual(
            Array.from(want.data as Float64Array),
          );
          if (r.trace.some((t) => t.rule.startsWith('gqa-rows'))) fired++;
          else expect(r.graph.nodes.map((n) => n.op)).toEqual(['attention']);
        },
      ),
      { numRuns: 300 },
    );
    // The generator reaches the rewrite, not only its declines.
    expect(fired).toBeGreaterThan(50);
  });
});
