/**
 * The one comparison of a result with the value it should have (docs/design.md's rule):
 * |got − want| ≤ atol + rtol·|want| on finite values; NaN matches only NaN; ±inf only the
 * same inf; shapes must agree. `run --check` and `bisect` both judge by it.
 */
import type { DType } from '@glimpse/ir';
import { castScalar } from '@glimpse/ir';

export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

export interface Comparison {
  ok: boolean;
  shapeOk: boolean;
  /** Largest |got − want| and |got − want| / |want| over the pairs finite on both sides. */
  maxAbs: number;
  maxRel: number;
  /** Largest distance in f32 units in the last place (both rounded to f32), finite pairs. */
  maxUlp: number;
  /** Elements out of tolerance (−1: the shapes differ). */
  bad: number;
  firstBad?: { index: number; got: number; want: number };
}

export interface Values {
  readonly shape: readonly number[];
  readonly values: ArrayLike<number>;
  /**
   * The dtype the values are stored in. A float `want` past its range is compared as the
   * ±inf a correctly rounded computation stores (a float64 reference sum past f32's range is
   * ±inf in f32 — e.g. GPT-2's finfo.min + finfo.min — and must not count as a divergence).
   */
  readonly dtype?: DType;
}

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);
/** An f32's bits as an integer that orders like the float (−0 and +0 next to each other). */
function ordered(x: number): number {
  f32[0] = x;
  const b = i32[0]!;
  return b < 0 ? -(b & 0x7fffffff) - 1 : b;
}

/** f32 ulps between a and b (each rounded to f32). */
export function ulpDistance(a: number, b: number): number {
  return Math.abs(ordered(a) - ordered(b));
}

export function compareValues(got: Values, want: Values, tol: Tolerance): Comparison {
  const shapeOk =
    got.shape.length === want.shape.length && got.shape.every((d, i) => d === want.shape[i]);
  if (!shapeOk) return { ok: false, shapeOk, maxAbs: NaN, maxRel: NaN, maxUlp: NaN, bad: -1 };
  const g = got.values;
  const w = want.values;
  const round =
    want.dtype === 'f32' ? Math.fround : want.dtype === 'f16' ? castScalar('f16') : Number;
  let maxAbs = 0;
  let maxRel = 0;
  let maxUlp = 0;
  let bad = 0;
  let firstBad: Comparison['firstBad'];
  for (let i = 0; i < g.length; i++) {
    const a = g[i]!;
    // Within range the distance from the exact value is what the columns report.
    const r = round(w[i]!);
    const b = Number.isFinite(r) ? w[i]! : r;
    let pass: boolean;
    if (Number.isNaN(b) || Number.isNaN(a)) pass = Number.isNaN(a) && Number.isNaN(b);
    else if (!Number.isFinite(b) || !Number.isFinite(a)) pass = a === b;
    else {
      const d = Math.abs(a - b);
      maxAbs = Math.max(maxAbs, d);
      if (b !== 0) maxRel = Math.max(maxRel, d / Math.abs(b));
      maxUlp = Math.max(maxUlp, ulpDistance(a, b));
      pass = d <= tol.atol + tol.rtol * Math.abs(b);
    }
    if (!pass) {
      bad++;
      firstBad ??= { index: i, got: a, want: b };
    }
  }
  return { ok: bad === 0, shapeOk, maxAbs, maxRel, maxUlp, bad, ...(firstBad ? { firstBad } : {}) };
}
