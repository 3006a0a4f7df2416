import type { OpDef, OpTraits } from './define.js';
import * as attn from './attention.js';
import * as ew from './elementwise.js';
import * as layout from './layout.js';
import * as mm from './matmul.js';
import * as misc from './misc.js';
import * as red from './reduce.js';

export * from './define.js';
export type { AttentionAttrs, AttentionGeometry, AttentionStrides } from './attention.js';
export { attentionGeometry, BSHD_PERM, maskLeadOffset } from './attention.js';
export type { BinaryFn, CastAttrs, ScaleAttrs, UnaryFn } from './elementwise.js';
export { castScalar, compileProgram } from './elementwise.js';
export type { ElementwiseAttrs } from './elementwise.js';
export type {
  AxisAttrs,
  ExpandAttrs,
  ReshapeAttrs,
  SliceAttrs,
  SplitAttrs,
  TransposeAttrs,
} from './layout.js';
export { reshapeTarget, sliceRange } from './layout.js';
export type { BmmAttrs } from './matmul.js';
export { matrixDims } from './matmul.js';
export type { ConstantAttrs, TrilAttrs } from './misc.js';
export { constantValues } from './misc.js';
export type { LayerNormAttrs, ReduceAttrs } from './reduce.js';
export { REDUCERS, reduceAxes } from './reduce.js';
export type { ReduceKind } from './reduce.js';

/** The op vocabulary: every op, defined once. Keys are the names as printed. */
export const OPS = {
  linear: mm.linear,
  bmm: mm.bmm,
  softmax: red.softmax,
  scale: ew.scale,
  transpose: layout.transpose,
  reshape: layout.reshape,
  add: ew.add,
  sub: ew.sub,
  mul: ew.mul,
  div: ew.div,
  where: ew.where,
  embedding: misc.embedding,
  gather: misc.gather,
  concat: layout.concat,
  split: layout.split,
  slice: layout.slice,
  reduce_sum: red.reduce_sum,
  reduce_mean: red.reduce_mean,
  reduce_max: red.reduce_max,
  layer_norm: red.layer_norm,
  rms_norm: red.rms_norm,
  relu: ew.relu,
  gelu: ew.gelu,
  gelu_tanh: ew.gelu_tanh,
  tanh: ew.tanh,
  exp: ew.exp,
  sqrt: ew.sqrt,
  sigmoid: ew.sigmoid,
  erf: ew.erf,
  abs: ew.abs,
  log: ew.log,
  min: ew.min,
  max: ew.max,
  cast: ew.cast,
  constant: misc.constant,
  tril: misc.tril,
  depthwise: misc.depthwise,
  attention: attn.attention,
  not: ew.not,
  equal: ew.equal,
  less: ew.less,
  and: ew.and,
  or: ew.or,
  expand: layout.expand,
  elementwise: ew.elementwise,
} as const;

export type OpName = keyof typeof OPS;
export type AttrsOf<K extends OpName> = (typeof OPS)[K] extends OpDef<infer A> ? A : never;

export const OP_NAMES = Object.keys(OPS) as OpName[];

export function isOpName(s: string): s is OpName {
  return Object.prototype.hasOwnProperty.call(OPS, s);
}

/** An op's traits (view, category, FLOPs, …): the one place such facts live. */
export function traitsOf(op: OpName): OpTraits<unknown> {
  return OPS[op].traits as OpTraits<unknown>;
}

/** Ops whose output is a view of their input (no kernel, no storage of their own). */
export const VIEW_OPS: ReadonlySet<OpName> = new Set(OP_NAMES.filter((o) => traitsOf(o).view));

/**
 * Op classes, read off the definitions (tinygrad's GroupOp): the ops with a scalar
 * function of one or two numbers, and the comparisons.
 */
type WithMember<M extends string> = {
  [K in OpName]: (typeof OPS)[K] extends Record<M, unknown> ? K : never;
}[OpName];
export type BinaryOp = WithMember<'binary'>;
export type UnaryOp = WithMember<'unary'>;
export type CompareOp = WithMember<'compare'>;
const withMember = <M extends string>(m: M) =>
  OP_NAMES.filter((o): o is WithMember<M> => m in OPS[o]);
export const BINARY_OPS: readonly BinaryOp[] = withMember('binary');
export const UNARY_OPS: readonly UnaryOp[] = withMember('unary');
export const COMPARE_OPS: readonly CompareOp[] = withMember('compare');
