/**
 * Kernels over typed arrays for CPU backends: one `KernelFactory` per op, float64 sums,
 * strided N-d access through `walk`. The JS backend runs them all; the WebAssembly backend
 * runs them for the ops it has no SIMD kernel of its own for, on views of its memory.
 */
import type { OpName } from '@glimpse/ir';
import { attention } from './attention.js';
import { binary, cast, compare, elementwise, unary, where } from './elementwise.js';
import { concat, expand, reshape, slice, split, transpose } from './layout.js';
import { bmm, linear } from './matmul.js';
import { constant, depthwise, embedding, gather, tril } from './misc.js';
import { layer_norm, reduce_max, reduce_mean, reduce_sum, rms_norm, softmax } from './reduce.js';
import type { KernelFactory } from './types.js';

export type { Kernel, KernelCtx, KernelFactory } from './types.js';

/** Every op has a kernel; the type checker says so. */
export const KERNELS: { [K in OpName]: KernelFactory<K> } = {
  linear,
  bmm,
  softmax,
  scale: unary('scale'),
  transpose,
  reshape,
  add: binary('add'),
  sub: binary('sub'),
  mul: binary('mul'),
  div: binary('div'),
  where,
  embedding,
  gather,
  concat,
  split,
  slice,
  reduce_sum,
  reduce_mean,
  reduce_max,
  layer_norm,
  rms_norm,
  relu: unary('relu'),
  gelu: unary('gelu'),
  gelu_tanh: unary('gelu_tanh'),
  tanh: unary('tanh'),
  exp: unary('exp'),
  sqrt: unary('sqrt'),
  sigmoid: unary('sigmoid'),
  erf: unary('erf'),
  abs: unary('abs'),
  log: unary('log'),
  min: binary('min'),
  max: binary('max'),
  cast,
  constant,
  tril,
  depthwise,
  attention,
  not: unary('not'),
  equal: compare('equal'),
  less: compare('less'),
  and: compare('and'),
  or: compare('or'),
  expand,
  elementwise,
};
export { gemm } from './gemm.js';
export { bmmGeometry } from './matmul.js';
export { collapse, walk } from './strided.js';
export { Scratch } from './scratch.js';
export { checkIndex, checkWindowIndex } from './misc.js';
