import { describe, expect, it } from 'vitest';
import { erf, gelu } from './math.js';

// Values of CPython's math.erf (libm), an independent implementation.
const ERF: [number, number][] = [
  [0.1, 0.1124629160182849],
  [1, 0.8427007929497149],
  [2.4, 0.999311486103355],
  [2.6, 0.9997639655834707],
  [3, 0.9999779095030014],
  [4, 0.9999999845827421],
  [-3.3, -0.9999969422902035],
];

describe('erf', () => {
  it('matches libm to 1e-14 on both sides of the series/continued-fraction switch', () => {
    for (const [x, want] of ERF) expect(Math.abs(erf(x) - want)).toBeLessThan(1e-14);
  });
  it('is odd, bounded, and handles special values', () => {
    expect(erf(0)).toBe(0);
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(Number.isNaN(erf(NaN))).toBe(true);
    for (const x of [0.3, 1.7, 2.5, 5.5]) expect(erf(-x)).toBe(-erf(x));
  });
  it('gelu(x) = x·Φ(x): 0 at 0, x for large x, 0 for very negative x', () => {
    expect(gelu(0)).toBe(0);
    expect(gelu(10)).toBe(10);
    expect(gelu(-10)).toBeCloseTo(0, 15);
    // PyTorch 1.13: torch.nn.functional.gelu(torch.tensor(1.0, dtype=torch.float64))
    expect(gelu(1)).toBeCloseTo(0.8413447460685429, 14);
  });
});
