/**
 * Every op, over random shapes (size-1 and broadcast dims included) and values (special
 * values where the op must propagate them): the JS backend equals the float64 reference
 * interpreter within F32_TOL (see helpers.ts for why that tolerance).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OP_NAMES } from '@glimpse/ir';
import { compileJs } from '@glimpse/backend-js';
import { expectAttentionContract } from './attention-naive.js';
import { checkGraph } from './helpers.js';
import { attentionTiles, CASES } from './op-cases.js';

describe('every op: JS backend ≡ reference', () => {
  it('attention across tile edges (T, S around 32 and 64), with special values', async () => {
    await fc.assert(
      fc.asyncProperty(attentionTiles, (c) =>
        expectAttentionContract(
          'js attention',
          c.graph,
          c.inputs,
          (g) => compileJs(g).runSync(c.inputs).y!,
        ),
      ),
      { numRuns: 120 },
    );
  });
  it('has a property test for every op of the vocabulary', () => {
    expect(Object.keys(CASES).sort()).toEqual([...OP_NAMES].sort());
  });
  for (const op of OP_NAMES) {
    it(op, async () => {
      await fc.assert(
        fc.asyncProperty(CASES[op], async (c) => {
          // Attention row by row under the precision contract (test/attention-naive.ts);
          // every other op within F32_TOL of the reference.
          if (op === 'attention')
            await expectAttentionContract(
              'js attention',
              c.graph,
              c.inputs,
              (g) => compileJs(g).runSync(c.inputs).y!,
            );
          else checkGraph(c.graph, c.inputs, { scale: c.scale ?? 1 });
        }),
        { numRuns: 300 },
      );
    });
  }
});
