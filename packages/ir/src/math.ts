/**
 * erf to about 1e-14 absolute over the whole line (JavaScript has no Math.erf). A Maclaurin
 * series where it converges quickly, and a continued fraction for erfc in the tails, where
 * the series would cancel catastrophically.
 */
export function erf(x: number): number {
  if (Number.isNaN(x) || x === 0) return x; // ±0 keeps its sign (erf is odd)
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // erf x = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    const r = (2 / Math.sqrt(Math.PI)) * sum;
    return x < 0 ? -r : r;
  }
  if (ax > 6) return x < 0 ? -1 : 1;
  // erfc x = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), by Lentz.
  const tiny = 1e-300;
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = ax + an / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x < 0 ? erfc - 1 : 1 - erfc;
}

/** √(2/π), tanh-form GELU's factor. */
export const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
/** GELU's tanh approximation, nn.GELU(approximate='tanh'): ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

/** Exact GELU as PyTorch's nn.GELU() computes it: x·Φ(x). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}
