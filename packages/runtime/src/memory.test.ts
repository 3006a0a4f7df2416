import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planMemory } from './memory.js';

describe('planMemory', () => {
  it('never gives one slot to two values alive at once, and never plans more than one buffer per value', () => {
    const arb = fc.integer({ min: 1, max: 12 }).chain((steps) =>
      fc
        .array(
          fc.record({
            def: fc.integer({ min: 0, max: steps - 1 }),
            len: fc.integer({ min: 0, max: steps }),
            bytes: fc.integer({ min: 0, max: 4096 }),
            out: fc.boolean(),
          }),
          { maxLength: 30 },
        )
        .map((vs) => ({
          steps,
          values: vs.map((v) => ({
            bytes: v.bytes,
            def: v.def,
            lastUse: v.out && v.len === 0 ? Infinity : Math.min(steps - 1, v.def + v.len),
          })),
        })),
    );
    fc.assert(
      fc.property(arb, ({ steps, values }) => {
        const p = planMemory(values, steps);
        values.forEach((v, i) =>
          expect(p.slotBytes[p.slotOf[i]!]!).toBeGreaterThanOrEqual(v.bytes),
        );
        for (let i = 0; i < values.length; i++)
          for (let j = i + 1; j < values.length; j++) {
            const [a, b] = [values[i]!, values[j]!];
            // Lifetimes [def, lastUse] overlap: a value defined at the step where another is
            // last read must not take its slot either (the kernel reads while writing).
            const overlap = a.def <= b.lastUse && b.def <= a.lastUse;
            if (overlap) expect(p.slotOf[i]).not.toBe(p.slotOf[j]);
          }
        expect(p.peakBytes).toBeLessThanOrEqual(p.unplannedBytes);
      }),
      { numRuns: 500 },
    );
  });
});
