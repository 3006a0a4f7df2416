import type { ModuleBuilder } from '@glimpse/asm';
import type { OpName } from '@glimpse/ir';
import { gemmTask, microKernels, packTask } from './gemm.js';
import { attention } from './attention.js';
import { depthwise, depthwiseTask } from './depthwise.js';
import {
  concat,
  copyTask,
  embedding,
  expand,
  gather,
  gatherTask,
  slice,
  split,
  transpose,
} from './layout.js';
import { map, SIMD_OPS } from './map.js';
import { reduce_max, reduce_mean, reduce_sum, reduceTasks } from './reduce.js';
import { vexp, vexp2, vgelu, vtanh } from './math.js';
import { bmm, linear } from './matmul.js';
import { layer_norm, rms_norm, rowKernels, softmax } from './rows.js';
import type { WasmKernel } from './types.js';

export type { WasmKernel } from './types.js';

/** Ops with SIMD kernels of their own; every other op runs the CPU kernel on the memory. */
export const WASM_KERNELS: { readonly [K in OpName]?: WasmKernel<K> } = {
  linear,
  bmm,
  attention,
  softmax,
  layer_norm,
  rms_norm,
  transpose,
  expand,
  slice,
  split,
  concat,
  gather,
  embedding,
  depthwise,
  reduce_sum,
  reduce_mean,
  reduce_max,
  // Program steps with a SIMD form, scale and fused programs: the elementwise map.
  ...(Object.fromEntries([...SIMD_OPS, 'scale', 'elementwise'].map((op) => [op, map])) as Record<
    string,
    WasmKernel<never>
  >),
};

/**
 * Functions every module has: the GEMM micro-kernels, its task driver, B packing, the
 * strided copy, the row gather, the reductions, vexp, vtanh, vgelu.
 */
export function addSharedKernels(
  m: ModuleBuilder,
  fma: boolean,
): {
  micro: number[][];
  vexp: number;
  vexp2: number;
  vtanh: number;
  vgelu: number;
} {
  const micro = microKernels(m, fma);
  gemmTask(m, micro);
  packTask(m);
  copyTask(m);
  gatherTask(m);
  depthwiseTask(m);
  reduceTasks(m);
  const e = vexp(m);
  rowKernels(m, e);
  return { micro, vexp: e, vexp2: vexp2(m), vtanh: vtanh(m, e), vgelu: vgelu(m, e) };
}
