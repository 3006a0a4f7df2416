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
