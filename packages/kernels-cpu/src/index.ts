/**
 * Kernels over typed arrays for CPU backends: one `KernelFactory` per op, float64 sums,
 * strided N-d access through `walk`. The JS backend runs them all; the WebAssembly backend
 * runs them for the ops it has no SIMD kernel of its own for, on views of its memory.
 */
import type { OpName } from '@glimpse/ir';
import { BINARY_OPS, COMPARE_OPS, forOps, UNARY_OPS } from '@glimpse/ir';
import { attention } from './attention.js';
import { binary, cast, compare, elementwise, unary, where } from './elementwise.js';
import { concat, expand, reshape, slice, split, transpose } from './layout.js';
import { bmm, linear } from './matmul.js';
import { constant, depthwise, embedding, gather, gather_elements, tril } from './misc.js';
import {
  argmax,
  argmin,
  cumsum,
  topk,
  layer_norm,
  reduce_max,
  reduce_mean,
  reduce_sum,
  rms_norm,
  softmax,
} from './reduce.js';
import { rotary } from './rotary.js';
import type { KernelFactory } from './types.js';

export type { Kernel, KernelCtx, KernelFactory } from './types.js';

/** Every op has a kernel; the type checker says so. */
export const KERNELS: { [K in OpName]: KernelFactory<K> } = {
  ...forOps(BINARY_OPS, binary),
  ...forOps(UNARY_OPS, unary),
  ...forOps(COMPARE_OPS, compare),
  linear,
  bmm,
  softmax,
  transpose,
  reshape,
  where,
  embedding,
  gather,
  gather_elements,
  concat,
  split,
  slice,
  reduce_sum,
  reduce_mean,
  reduce_max,
  argmax,
  argmin,
  cumsum,
  topk,
  layer_norm,
  rms_norm,
  cast,
  constant,
  tril,
  depthwise,
  attention,
  rotary,
  expand,
  elementwise,
};
export { gemm } from './gemm.js';
export { bmmGeometry } from './matmul.js';
export { collapse, walk } from './strided.js';
export { Scratch } from './scratch.js';
export { checkIndex, checkWindowIndex } from './misc.js';
