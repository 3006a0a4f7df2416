/** A smoke run of the bench harness at tiny sizes, so that it cannot rot (timings not asserted). */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module without types
import { cases, runCases } from './harness.js';

describe('bench harness', () => {
  it('runs every case at tiny sizes and checks answers before timing', () => {
    const rows = runCases(cases({ n: 8, T: 4, dim: 8 }), { runs: 1, warmup: 0 }) as {
      error?: string;
      gflops?: number;
    }[];
    expect(rows.length).toBe(3);
    for (const r of rows) {
      expect(r.error).toBeUndefined();
      expect(r.gflops).toBeGreaterThan(0);
    }
  });
});
