import type { DType, Graph, RefTensor, Tensor } from '@glimpse/ir';
import { fromNumbers, interpret, randomStream, roundF16, toNumbers } from '@glimpse/ir';
import { compileJs } from '@glimpse/backend-js';
import { expect } from 'vitest';

/**
 * Tolerance of the JS backend (f32 storage, f64 accumulators) against the float64
 * reference: |got − want| ≤ atol + rtol·|want|, with want rounded to f32 first. rtol 1e-4 is
 * ~800 f32 ulps: room for the differently ordered sums of matmuls with K ≤ 512 and of
 * softmax/layer_norm; atol covers cancellation near zero, scaled by the operands' magnitude.
 * Special values must match exactly: NaN only NaN, ±Inf only the same Inf.
 */
export const F32_TOL = { rtol: 1e-4, atol: 1e-5 };

export function assertClose(
  got: Tensor,
  want: RefTensor,
  tol = F32_TOL,
  what = 'output',
  scale = 1,
  /**
   * Also accepted, element by element, with subnormals flushed (WGSL: the result for
   * subnormals flushed to 0; the plain f32 computation of a fused program).
   */
  alternatives: readonly RefTensor[] = [],
) {
  expect(got.shape, `${what} shape`).toEqual(want.shape);
  expect(got.dtype, `${what} dtype`).toBe(want.dtype);
  const g = toNumbers(got);
  const isFloat = want.dtype === 'f32' || want.dtype === 'f16';
  const close = (a: number, w: number) => {
    if (want.dtype === 'f16') return f16Close(a, w, tol.atol * scale + tol.rtol * Math.abs(w));
    const b = isFloat ? Math.fround(w) : w;
    if (Number.isNaN(b) || Number.isNaN(a)) return Number.isNaN(a) && Number.isNaN(b);
    if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
    // Integers exactly; a zero that is exact in both keeps its sign.
    if (!isFloat) return a === b;
    if (a === 0 && b === 0) return Object.is(a, b);
    return Math.abs(a - b) <= tol.atol * scale + tol.rtol * Math.abs(b);
  };
  for (let i = 0; i < g.length; i++) {
    const a = g[i]!;
    if (close(a, want.data[i]!)) continue;
    if (alternatives.some((t) => close(flushSubnormal(a), flushSubnormal(t.data[i]!)))) continue;
    const b = isFloat ? Math.fround(want.data[i]!) : want.data[i]!;
    expect.fail(
      `${what}[${i}]: got ${Object.is(a, -0) ? '-0' : a}, want ${Object.is(b, -0) ? '-0' : b}${alternatives.length ? ` (or ${alternatives.map((t) => t.data[i]).join(' or ')})` : ''} (shape [${got.shape.join(',')}])`,
    );
  }
}

/**
 * The f16 contract (docs/design.md, "f16"): f16 is storage, computation is f32. An f16
 * result is the f16 rounding of a value within the f32 tolerance `e` of the float64 result
 * `w`: since rounding is monotone, got lies between roundF16(w − e) and roundF16(w + e), both
 * included — one rounding to f16 (relative 2⁻¹¹) on top of the f32 error, ±inf where that
 * interval reaches past 65520, 0 below 2⁻²⁵. NaN only NaN, ±inf exactly, and a zero that
 * float64 gives exactly keeps its sign.
 */
export function f16Close(got: number, w: number, e: number): boolean {
  if (Number.isNaN(w) || Number.isNaN(got)) return Number.isNaN(w) && Number.isNaN(got);
  if (!Number.isFinite(w)) return got === w;
  if (w === 0 && got === 0) return Object.is(got, w);
  return roundF16(w - e) <= got && got <= roundF16(w + e);
}

/** ±0 for an f32 subnormal, as hardware that flushes them gives (WGSL may). */
export const flushSubnormal = (x: number) =>
  x !== 0 && Math.abs(x) < 2 ** -126 ? (x < 0 ? -0 : 0) : x;

/** Run a graph on the JS backend and on the reference; compare every output. */
export function checkGraph(
  g: Graph,
  inputs: Record<string, Tensor>,
  options: { shapes?: Record<string, number>; tol?: typeof F32_TOL; scale?: number } = {},
) {
  const ref = interpret(g, inputs, { shapes: options.shapes ?? {} });
  const js = compileJs(g).runSync(inputs, { shapes: options.shapes ?? {} });
  for (const o of g.outputs) assertClose(js[o]!, ref[o]!, options.tol, `%${o}`, options.scale ?? 1);
  return { ref, js };
}

const F32_SPECIALS = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  1e4,
  -1e4,
  1e30,
  -1e30,
  3.4028234663852886e38,
  -3.4028234663852886e38,
  Math.fround(1e-40),
];
/** f16's: its largest (65504), subnormals (from 2⁻²⁴), its smallest normal, 1e5 (inf). */
const F16_SPECIALS = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  1e4,
  -1e4,
  65504,
  -65504,
  2 ** -24,
  -3 * 2 ** -24,
  2 ** -14,
  1e5,
];

/**
 * Values for tests: uniform in [-r, r], and with `special` > 0 that share of NaN, ±inf, ±0,
 * ±1e4, ±1e30, ±3.4e38 (f32's largest) and a subnormal — for f16 tensors, f16's own.
 */
export function values(
  seed: number,
  n: number,
  r = 1,
  special = 0,
  SPECIAL: readonly number[] = F32_SPECIALS,
): Float64Array {
  const rnd = randomStream(seed, 'values');
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++)
    out[i] = rnd() < special ? SPECIAL[Math.floor(rnd() * SPECIAL.length)]! : (rnd() * 2 - 1) * r;
  return out;
}

export function tensor(dtype: DType, shape: number[], seed: number, r = 1, special = 0): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  let v = values(seed, n, r, special, dtype === 'f16' ? F16_SPECIALS : F32_SPECIALS);
  if (dtype === 'bool') v = v.map((x) => (x > 0 ? 1 : 0));
  // Integers from the same draws, specials included (NaN → 0, the rest truncated and
  // clamped to ±2^31, as a cast would).
  if (dtype === 'i32' || dtype === 'i64')
    v = v.map((x) =>
      Number.isNaN(x) ? 0 : Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(x * 100))),
    );
  return fromNumbers(dtype, shape, v);
}

/** A backend's output as a reference tensor, to compare two backends with assertClose. */
export function asRef(t: Tensor): RefTensor {
  return { dtype: t.dtype, shape: [...t.shape], data: toNumbers(t) };
}
