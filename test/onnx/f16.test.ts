/**
 * Half-precision initializers are values, not bit patterns: an fp16 embedding table gathered
 * at constant indices (position embeddings: the gather folds at -O1 and -O2) and at run-time
 * indices, cast to f32 — against onnxruntime-node on the reference, JS and wasm at -O0 and
 * -O2. The table holds f16's special values: NaN, ±inf, −0, the smallest subnormal 2⁻²⁴,
 * the largest normal 65504 and values f16 rounds.
 *
 * Regression: constant folding (and the float64 reference, and so bisect) read an f16
 * initializer's raw words — 41063 where the table held −2.2 — so an fp16 BERT was right at
 * -O0 and wrong at -O1.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { interpret } from '@glimpse/ir';
import { importOnnx } from '@glimpse/onnx';
import { optimize } from '@glimpse/optimizer';
import type { Tensor } from '@glimpse/ir';
import { model, sameAsOrt } from './ort-model.js';

const SPECIAL = [NaN, Infinity, -Infinity, -0, 2 ** -24, 65504, -2.2, 0.1, 1e-5, 3.14159];

/** A V×D f16 table of random values and specials, gathered then cast to f32. */
function gatherModel(V: number, D: number, values: number[], idx?: number[]) {
  return model(
    14,
    idx ? [] : [{ name: 'ids', dtype: 'i64', shape: [3] }],
    [
      { opType: 'Gather', input: ['table', idx ? 'cids' : 'ids'], output: ['g'] },
      { opType: 'Cast', input: ['g'], output: ['y'], attribute: [{ name: 'to', type: 2, i: 1 }] },
    ],
    [{ name: 'y', dtype: 'f32' }],
    [
      { name: 'table', dtype: 'f16', shape: [V, D], v: values },
      ...(idx ? [{ name: 'cids', dtype: 'i64' as const, shape: [idx.length], v: idx }] : []),
    ],
  );
}

const table = fc
  .record({ V: fc.integer({ min: 1, max: 6 }), D: fc.integer({ min: 1, max: 5 }) })
  .chain(({ V, D }) =>
    fc.record({
      V: fc.constant(V),
      D: fc.constant(D),
      values: fc.array(
        fc.oneof(fc.constantFrom(...SPECIAL), fc.double({ min: -70000, max: 70000, noNaN: true })),
        { minLength: V * D, maxLength: V * D },
      ),
      idx: fc.array(fc.integer({ min: -V, max: V - 1 }), { minLength: 3, maxLength: 3 }),
    }),
  );

describe('f16 initializers ≡ onnxruntime-node', () => {
  it('gathered at constant indices (folded at -O2) and at run-time indices', async () => {
    await fc.assert(
      fc.asyncProperty(table, async ({ V, D, values, idx }) => {
        await sameAsOrt(gatherModel(V, D, values, idx), {});
        const ids: Tensor = { dtype: 'i64', shape: [3], data: BigInt64Array.from(idx, BigInt) };
        await sameAsOrt(gatherModel(V, D, values), { ids });
      }),
      { numRuns: 40 },
    );
  });

  it('constant folding leaves the values the reference computes unfolded (the regression)', () => {
    // More than 16 values: the table stays a param (smaller ones fold at import), and the
    // optimizer's constant folding gathers from it.
    const row = (a: number, b: number) => [a, b, ...Array.from({ length: 14 }, (_, i) => i)];
    const g = importOnnx(gatherModel(2, 16, [...row(-2.2, 0.1), ...row(65504, -0)], [1, 0]), {
      file: 'f16.onnx',
    });
    expect(g.params).toHaveLength(1);
    const folded = optimize(g, { passes: ['constant-folding'] });
    expect(folded.nodes.map((n) => n.op)).not.toContain('gather');
    const y = (h: typeof g) =>
      Array.from(interpret(h, {}).y!.data.slice(0, 2), (v) => (Object.is(v, -0) ? '-0' : v)).concat(
        Array.from(interpret(h, {}).y!.data.slice(16, 18)),
      );
    // f16's nearest values to −2.2 and 0.1, as onnxruntime gives them.
    expect(y(g)).toEqual([65504, '-0', -2.19921875, 0.0999755859375]);
    expect(y(folded)).toEqual(y(g));
  });
});
