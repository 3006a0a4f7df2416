import type { BinaryOp, CompareOp, UnaryOp } from '@glimpse/ir';

/**
 * The ONNX operator that is each scalar glimpse op — same inputs in the same order, no
 * attributes — or null where it is none (scale is a Mul by a constant; gelu_tanh is Gelu
 * with an attribute). Import and export both read this one table; every unary, binary and
 * comparison op must say (the type checker asks), so a new op cannot be left out of ONNX by
 * forgetting it.
 */
export const ONNX_NAMES = {
  add: 'Add',
  sub: 'Sub',
  mul: 'Mul',
  div: 'Div',
  min: 'Min',
  max: 'Max',
  // ONNX Mod with its fmod attribute (export.ts and the Mod converter).
  mod: null,
  fmod: null,
  relu: 'Relu',
  gelu: 'Gelu',
  gelu_tanh: null,
  tanh: 'Tanh',
  exp: 'Exp',
  sqrt: 'Sqrt',
  sigmoid: 'Sigmoid',
  erf: 'Erf',
  abs: 'Abs',
  log: 'Log',
  cos: 'Cos',
  sin: 'Sin',
  isnan: 'IsNaN',
  isinf: 'IsInf',
  sign: 'Sign',
  ceil: 'Ceil',
  floor: 'Floor',
  round: 'Round',
  scale: null,
  not: 'Not',
  equal: 'Equal',
  less: 'Less',
  and: 'And',
  or: 'Or',
} as const satisfies { readonly [K in UnaryOp | BinaryOp | CompareOp]: string | null };

/** The ops of ONNX_NAMES that are one ONNX operator. */
export type NamedOp = {
  [K in keyof typeof ONNX_NAMES]: (typeof ONNX_NAMES)[K] extends string ? K : never;
}[keyof typeof ONNX_NAMES];

export const NAMED_OPS = Object.keys(ONNX_NAMES).filter(
  (k): k is NamedOp => ONNX_NAMES[k as keyof typeof ONNX_NAMES] !== null,
);
