import type { OpName } from '@glimpse/ir';
import { attention } from './attention.js';
import { binary, cast, compare, elementwise, expand, unary, where } from './elementwise.js';
import { concat, slice, split, transpose, tril } from './layout.js';
import { bmm, linear } from './matmul.js';
import { depthwise, embedding, gather } from './misc.js';
import { layer_norm, reduce_max, reduce_mean, reduce_sum, rms_norm, softmax } from './reduce.js';
import type { KernelFactory } from './types.js';

export type { Dispatch, KernelCtx, KernelFactory, Ref } from './types.js';

/**
 * Every op that computes has a kernel; the type checker says so. `reshape` is a view and
 * `constant` is uploaded once, like a param (the executable handles both).
 */
export const KERNELS: { [K in Exclude<OpName, 'reshape' | 'constant'>]: KernelFactory<K> } = {
  linear,
  bmm,
  softmax,
  scale: unary('scale'),
  transpose,
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
