import type { OpDef, OpTraits } from './define.js';
import * as attn from './attention.js';
import * as ew from './elementwise.js';
import * as layout from './layout.js';
import * as mm from './matmul.js';
import * as misc from './misc.js';
import * as red from './reduce.js';
import * as rot from './rotary.js';

export * from './define.js';
export type { AttentionAttrs, AttentionGeometry, AttentionStrides } from './attention.js';
export { attentionGeometry, BSHD_PERM, maskLeadOffset } from './attention.js';
export type { BinaryFn, CastAttrs, ScaleAttrs, UnaryFn } from './elementwise.js';
export { castScalar, compileProgram } from './elementwise.js';
import { PROGRAM_TOKENS } from './elementwise.js';
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
export { constantValues, gatherElementsIndexer } from './misc.js';
export type {
  ArgKind,
  ArgReduceAttrs,
  CumsumAttrs,
  LayerNormAttrs,
  ReduceAttrs,
  TopkAttrs,
} from './reduce.js';
export { argBetter, REDUCERS, reduceAxes, topkBefore } from './reduce.js';
export type { RotaryAttrs, RotaryPiece, RotaryView } from './rotary.js';
export { rotaryDim, rotaryPieces } from './rotary.js';
export type { ReduceKind } from './reduce.js';

/** The op vocabulary: every op, defined once. Keys are the names as printed. */
export const OPS = {
  linear: mm.linear,
  bmm: mm.bmm,
  softmax: red.softmax,
  transpose: layout.transpose,
  reshape: layout.reshape,
  embedding: misc.embedding,
  gather: misc.gather,
  gather_elements: misc.gather_elements,
  concat: layout.concat,
  split: layout.split,
  slice: layout.slice,
  reduce_sum: red.reduce_sum,
  reduce_mean: red.reduce_mean,
  reduce_max: red.reduce_max,
  argmax: red.argmax,
  argmin: red.argmin,
  cumsum: red.cumsum,
  topk: red.topk,
  layer_norm: red.layer_norm,
  rms_norm: red.rms_norm,
  constant: misc.constant,
  tril: misc.tril,
  depthwise: misc.depthwise,
  attention: attn.attention,
  rotary: rot.rotary,
  expand: layout.expand,
  ...ew.SCALAR_OPS,
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

/** Ops a fused program may name (their definitions say `program`): one or two operands. */
export type ProgramOp = {
  [K in OpName]: (typeof OPS)[K]['traits'] extends { readonly program: true } ? K : never;
}[OpName];
export const PROGRAM_OPS = PROGRAM_TOKENS as readonly ProgramOp[];
const PROGRAM_SET: ReadonlySet<string> = new Set(PROGRAM_OPS);
export function isProgramOp(op: string): op is ProgramOp {
  return PROGRAM_SET.has(op);
}

/**
 * The program computing one node of op `op` alone (a program step with its operands in
 * order; scale as a multiplication by its factor; a fused node's own program), or
 * undefined for an op no program expresses.
 */
export function programOfOp(
  op: OpName,
  attrs: Readonly<Record<string, unknown>>,
): readonly (number | string)[] | undefined {
  if (op === 'elementwise') return attrs.program as readonly (number | string)[];
  if (op === 'scale') return ['$0', attrs.factor as number, 'mul'];
  if (!isProgramOp(op)) return undefined;
  return 'binary' in OPS[op] ? ['$0', '$1', op] : ['$0', op];
}

/**
 * A table with one entry per op of `ops`, made by `f`: how a backend's kernel table takes a
 * whole class of ops (every unary op, every comparison) from one generic kernel, so that a
 * new op of the class needs no entry there.
 */
export function forOps<K extends OpName, V>(ops: readonly K[], f: (op: K) => V): Record<K, V> {
  return Object.fromEntries(ops.map((o) => [o, f(o)])) as Record<K, V>;
}
