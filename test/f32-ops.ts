import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph, Tensor } from '@glimpse/ir';
import { OP_NAMES } from '@glimpse/ir';
import { expectAttentionContract } from './attention-naive.js';
import type { CompileFn } from './f32-backend.js';
import { boundedForF32Sums, checkF32Backend, programInF32 } from './f32-backend.js';
import { attentionTiles, CASES } from './op-cases.js';

/**
 * Ops whose f32 intermediates can leave f32's range where the float64 reference
 * stays in it (see boundedForF32Sums): sums, and fused programs; division too, which the
 * WGSL spec makes accurate only for divisors up to 2^126.
 */
const F32_SUMS = new Set([
  'linear',
  'bmm',
  'reduce_sum',
  'cumsum',
  'reduce_mean',
  'layer_norm',
  'rms_norm',
  'depthwise',
  'softmax',
  'elementwise',
  'div',
]);

/**
 * Every op of the vocabulary on an f32 backend, for the same random cases as the JS
 * backend's op tests: attention row by row under the precision contract against its unfused
 * graph on the same backend, every other op within F32_TOL of the float64 reference.
 */
export function defineOpSuite(
  label: string,
  compile: CompileFn,
  describeFn: typeof describe | typeof describe.skip = describe,
) {
  /** Run a graph on the backend: its output y. */
  const run = (x: Record<string, Tensor>) => async (g: Graph) =>
    (await (await compile(g)).run(x)).y!;
  describeFn(`every op: ${label} backend ≡ reference`, () => {
    it('has a property test for every op of the vocabulary', () => {
      expect(Object.keys(CASES).sort()).toEqual([...OP_NAMES].sort());
    });
    for (const op of OP_NAMES) {
      it(op, async () => {
        await fc.assert(
          fc.asyncProperty(CASES[op], async (c) => {
            // Attention row by row under the precision contract, against the unfused graph on
            // WGSL (test/attention-naive.ts); every other op within F32_TOL of the reference.
            if (op === 'attention') {
              const x = boundedForF32Sums(c.inputs);
              await expectAttentionContract(`${label} attention`, c.graph, x, run(x));
            } else {
              const x = F32_SUMS.has(op) ? boundedForF32Sums(c.inputs) : c.inputs;
              await checkF32Backend(label, compile, c.graph, x, {
                scale: c.scale ?? 1,
                // A fused program computes in f32: its plain f32 computation is accepted too.
                ...(op === 'elementwise' ? { alternatives: [programInF32(c.graph, x)] } : {}),
              });
            }
          }),
          { numRuns: op === 'attention' ? 150 : 100 },
        );
      });
    }
    it(`attention across the ${label} kernel's tiles and short-query paths`, async () => {
      await fc.assert(
        fc.asyncProperty(attentionTiles, (c) => {
          const x = boundedForF32Sums(c.inputs);
          return expectAttentionContract(`${label} attention`, c.graph, x, run(x));
        }),
        { numRuns: 60 },
      );
    });
  });
}
