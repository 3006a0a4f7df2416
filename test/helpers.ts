import type { DType, Graph, RefTensor, Tensor } from '@glimpse/ir';
import { fromNumbers, interpret, randomStream, toNumbers } from '@glimpse/ir';
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
) {
  expect(got.shape, `${what} shape`).toEqual(want.shape);
  expect(got.dtype, `${what} dtype`).toBe(want.dtype);
  const g = toNumbers(got);
  const w = want.data;
  for (let i = 0; i < g.length; i++) {
    const a = g[i]!;
    const b = want.dtype === 'f32' || want.dtype === 'f16' ? Math.fround(w[i]!) : w[i]!;
    let ok: boolean;
    if (Number.isNaN(b) || Number.isNaN(a)) ok = Number.isNaN(a) && Number.isNaN(b);
    else if (!Number.isFinite(a) || !Number.isFinite(b)) ok = a === b;
    else ok = Math.abs(a - b) <= tol.atol * scale + tol.rtol * Math.abs(b);
    if (!ok) expect.fail(`${what}[${i}]: got ${a}, want ${b} (shape [${got.shape.join(',')}])`);
  }
}

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

/** Values for tests: uniform in [-r, r], and with `special` > 0 some NaN, ±Inf, 0 and ±1e4. */
export function values(seed: number, n: number, r = 1, special = 0): Float64Array {
  const rnd = randomStream(seed, 'values');
  const SPECIAL = [NaN, Infinity, -Infinity, 0, 1e4, -1e4];
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++)
    out[i] = rnd() < special ? SPECIAL[Math.floor(rnd() * SPECIAL.length)]! : (rnd() * 2 - 1) * r;
  return out;
}

export function tensor(dtype: DType, shape: number[], seed: number, r = 1, special = 0): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  let v = values(seed, n, r, special);
  if (dtype === 'bool') v = v.map((x) => (x > 0 ? 1 : 0));
  if (dtype === 'i32' || dtype === 'i64') v = v.map((x) => Math.round(x * 100));
  return fromNumbers(dtype, shape, v);
}

/** A backend's output as a reference tensor, to compare two backends with assertClose. */
export function asRef(t: Tensor): RefTensor {
  return { dtype: t.dtype, shape: [...t.shape], data: toNumbers(t) };
}
