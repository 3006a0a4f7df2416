import type { OpName } from '@glimpse/ir';
import { BINARY_OPS, COMPARE_OPS, forOps, UNARY_OPS } from '@glimpse/ir';
import { attention } from './attention.js';
import { binary, cast, compare, elementwise, expand, unary, where } from './elementwise.js';
import { concat, slice, split, transpose, tril } from './layout.js';
import { bmm, linear } from './matmul.js';
import { depthwise, embedding, gather, gather_elements } from './misc.js';
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

export type { Dispatch, KernelCtx, KernelFactory, Ref } from './types.js';

/**
 * Every op that computes has a kernel; the type checker says so. `reshape` is a view and
 * `constant` is uploaded once, like a param (the executable handles both).
 */
export const KERNELS: { [K in Exclude<OpName, 'reshape' | 'constant'>]: KernelFactory<K> } = {
  ...forOps(BINARY_OPS, binary),
  ...forOps(UNARY_OPS, unary),
  ...forOps(COMPARE_OPS, compare),
  linear,
  bmm,
  softmax,
  transpose,
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
  tril,
  depthwise,
  attention,
  rotary,
  expand,
  elementwise,
};
