/**
 * WebGPU test setup. The tests run the shaders for real: in Node through the `webgpu`
 * package (Dawn) on SwiftShader here (vitest.config.ts picks the driver). With no adapter
 * they fail loudly (a DeviceError naming what to install); GLIMPSE_SKIP_WEBGPU=1 skips
 * them, with a warning and as skipped tests in the summary — never silently.
 */
import { describe } from 'vitest';
import type { Graph, RefTensor, Tensor } from '@glimpse/ir';
import { interpret } from '@glimpse/ir';
import { compileWgsl } from '@glimpse/backend-wgsl';
import { assertClose, F32_TOL } from '../helpers.js';

export const SKIP_GPU = process.env.GLIMPSE_SKIP_WEBGPU === '1';
if (SKIP_GPU) console.warn('WARNING: GLIMPSE_SKIP_WEBGPU=1: WebGPU tests skipped');

/** `describe` for tests that need a WebGPU adapter. */
export const describeGpu = SKIP_GPU ? describe.skip : describe;

/**
 * Run a graph on WGSL and on the float64 reference; compare every output. The WGSL backend
 * computes in f32 throughout (f32 accumulators, unlike the JS backend's f64), which the
 * same F32_TOL covers for every op at these sizes (K ≤ 40, rows ≤ 125 elements); callers
 * widen `scale` where f32 rounding of large intermediates (logits) is the limit.
 */
export async function checkWgsl(
  g: Graph,
  inputs: Record<string, Tensor>,
  options: { shapes?: Record<string, number>; scale?: number } = {},
): Promise<Record<string, RefTensor>> {
  const shapes = options.shapes ?? {};
  const ref = interpret(g, inputs, { shapes });
  const got = await (await compileWgsl(g)).run(inputs, { shapes });
  for (const o of g.outputs)
    assertClose(got[o]!, ref[o]!, F32_TOL, `wgsl %${o}`, options.scale ?? 1);
  return ref;
}

/**
 * Absolute-tolerance multiplier for an attention op's case: f32 scores carry ~|logit|·2⁻²⁴
 * of rounding into exp, so the error of an output grows with the largest logit times the
 * largest |v| (16 ulps of the logit here, over F32_TOL's atol).
 */
export function attentionScale(
  inputs: Record<string, Tensor>,
  scale: number | undefined,
  base = 10,
): number {
  const maxAbs = (t?: Tensor) => {
    let m = 0;
    if (t)
      for (const x of t.data as Float32Array) if (Number.isFinite(x)) m = Math.max(m, Math.abs(x));
    return m;
  };
  const q = inputs.q!;
  const dh = q.shape[q.shape.length - 1]!;
  const logit =
    (scale ?? 1 / Math.sqrt(dh)) * dh * maxAbs(q) * maxAbs(inputs.k) + maxAbs(inputs.mask);
  return base + (16 * 2 ** -24 * logit * Math.max(1, maxAbs(inputs.v))) / F32_TOL.atol;
}

/**
 * ±Inf in v become NaN for WGSL attention cases. With ±Inf in v an output hangs on whether
 * a probability underflows to exactly 0 (0·inf = NaN) or not (±inf): f32 underflows where
 * the score gap passes ~87, the float64 reference only past ~745. NaN in v propagates the
 * same way in both, so NaN keeps the propagation checked.
 */
export function infToNaNInV(inputs: Record<string, Tensor>): void {
  const v = inputs.v?.data as Float32Array | undefined;
  if (v) for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) v[i] = NaN;
}
