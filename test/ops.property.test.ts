/**
 * Every op, over random shapes (size-1 and broadcast dims included) and values (special
 * values where the op must propagate them): the JS backend equals the float64 reference
 * interpreter within F32_TOL (see helpers.ts for why that tolerance).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OP_NAMES } from '@glimpse/ir';
import { checkGraph } from './helpers.js';
import { attentionTiles, CASES } from './op-cases.js';

describe('every op: JS backend ≡ reference', () => {
  it('attention across tile edges (T, S around 32 and 64), with special values', () => {
    fc.assert(
      fc.property(attentionTiles, (c) => void checkGraph(c.graph, c.inputs, { scale: c.scale })),
      { numRuns: 120 },
    );
  });
  it('has a property test for every op of the vocabulary', () => {
    expect(Object.keys(CASES).sort()).toEqual([...OP_NAMES].sort());
  });
  for (const op of OP_NAMES) {
    it(op, () => {
      fc.assert(
        fc.property(CASES[op], (c) => {
          checkGraph(c.graph, c.inputs, { scale: c.scale ?? 1 });
        }),
        { numRuns: 300 },
      );
    });
  }
});
