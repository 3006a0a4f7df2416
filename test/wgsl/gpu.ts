/**
 * WebGPU test setup. The tests run the shaders for real: in Node through the `webgpu`
 * package (Dawn) on SwiftShader here (vitest.config.ts picks the driver). With no adapter
 * they fail loudly (a DeviceError naming what to install); GLIMPSE_SKIP_WEBGPU=1 skips
 * them, with a warning and as skipped tests in the summary — never silently.
 */
import { describe } from 'vitest';
import type { Graph, RefTensor, Tensor } from '@glimpse/ir';
import { compileWgsl } from '@glimpse/backend-wgsl';
import { checkF32Backend } from '../f32-backend.js';

export { boundedForF32Sums, flushedInputs, programInF32 } from '../f32-backend.js';

export const SKIP_GPU = process.env.GLIMPSE_SKIP_WEBGPU === '1';
if (SKIP_GPU) console.warn('WARNING: GLIMPSE_SKIP_WEBGPU=1: WebGPU tests skipped');

/** `describe` for tests that need a WebGPU adapter. */
export const describeGpu = SKIP_GPU ? describe.skip : describe;

/** checkF32Backend on WGSL. */
export function checkWgsl(
  g: Graph,
  inputs: Record<string, Tensor>,
  options: Parameters<typeof checkF32Backend>[4] = {},
): Promise<Record<string, RefTensor>> {
  return checkF32Backend('wgsl', compileWgsl, g, inputs, options);
}
