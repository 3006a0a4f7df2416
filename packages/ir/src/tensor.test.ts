/**
 * f16 rounding: every number rounds once to the nearest f16 (ties to even), checked against
 * the grid of f16 values itself — each finite f16 value, the points halfway between
 * neighbours, and float64s just either side of them.
 */
import { describe, expect, it } from 'vitest';
import { buildGraph } from './builder.js';
import { interpret } from './reference.js';
import { f16ToF32, f32ToF16, fromNumbers, roundF16 } from './tensor.js';

/** The finite non-negative f16 values in increasing order, from their bit patterns. */
const GRID = Array.from({ length: 0x7c00 }, (_, h) => f16ToF32(h));

describe('f16 rounding', () => {
  it('keeps every f16 value, its negation and the special values', () => {
    GRID.forEach((v, h) => {
      expect(f32ToF16(v)).toBe(h);
      expect(f32ToF16(-v)).toBe(h | 0x8000);
    });
    expect(f32ToF16(Infinity)).toBe(0x7c00);
    expect(f32ToF16(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(f16ToF32(f32ToF16(NaN)))).toBe(true);
  });

  it('rounds halfway to even, and a float64 just past halfway (not an f32) away from it', () => {
    // The last gap is 65504 → 65536 (the first power of two past f16: inf).
    const grid = [...GRID, 65536];
    for (let h = 0; h < GRID.length; h++) {
      const [lo, hi] = [grid[h]!, grid[h + 1]!];
      const mid = (lo + hi) / 2;
      const up = h + 1 === GRID.length ? 0x7c00 : h + 1;
      const even = h % 2 === 0 ? h : up;
      expect(f32ToF16(mid), `halfway above ${lo}`).toBe(even);
      const nudge = (hi - lo) * 2 ** -30; // below an f32 ulp of mid: not an f32
      expect(f32ToF16(mid + nudge), `just above halfway above ${lo}`).toBe(up);
      expect(f32ToF16(mid - nudge), `just below halfway above ${lo}`).toBe(h);
    }
  });

  it('beyond the grid: past 65520 ±inf, below 2⁻²⁵ a zero of the same sign', () => {
    expect(f32ToF16(65519.99)).toBe(0x7bff);
    expect(f32ToF16(1e300)).toBe(0x7c00);
    expect(f32ToF16(-70000)).toBe(0xfc00);
    expect(f32ToF16(2 ** -25 * (1 - 2 ** -40))).toBe(0);
    expect(f32ToF16(-1e-300)).toBe(0x8000);
  });

  it('a cast to f16 on the reference rounds its float64 operand once (regression)', () => {
    // 1 + 2⁻¹¹ + 2⁻⁴⁰ is just past halfway between 1 and 1 + 2⁻¹⁰; through f32 it became the
    // halfway point 1 + 2⁻¹¹ and rounded to even, 1.
    expect(roundF16(1 + 2 ** -11 + 2 ** -40)).toBe(1 + 2 ** -10);
    const g = buildGraph('g', (b) => {
      const s = b.op('add', [b.input('a', 'f32', [1]), b.input('b', 'f32', [1])], {}, 's');
      return b.op('cast', [s], { to: 'f16' }, 'y');
    });
    const y = interpret(g, {
      a: fromNumbers('f32', [1], [1 + 2 ** -11]),
      b: fromNumbers('f32', [1], [2 ** -40]),
    }).y!;
    expect(y.data[0]).toBe(1 + 2 ** -10);
  });
});
