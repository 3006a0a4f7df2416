import type { BinaryOp, DType, UnaryOp } from '@glimpse/ir';
import { BINARY_OPS } from '@glimpse/ir';
import type { Storage } from '../wgsl.js';
import { storageType } from '../wgsl.js';

/**
 * WGSL expressions of the elementwise ops. They follow the scalar functions the ops define
 * in @glimpse/ir (same NaN, infinity and integer rules); the single ops and the fused
 * `elementwise` programs are both printed from this table.
 */
export function binaryExpr(op: BinaryOp, t: Storage): (a: string, b: string) => string {
  switch (op) {
    case 'add':
      return (a, b) => `(${a} + ${b})`;
    case 'sub':
      return (a, b) => `(${a} - ${b})`;
    case 'mul':
      return (a, b) => `(${a} * ${b})`;
    case 'div':
      // Integer division by zero is 0 (the op's rule); WGSL would give the dividend.
      return t === 'i32' ? (a, b) => `idiv(${a}, ${b})` : (a, b) => `(${a} / ${b})`;
    case 'min':
      return t === 'i32' ? (a, b) => `min(${a}, ${b})` : (a, b) => `min_f32(${a}, ${b})`;
    case 'max':
      return t === 'i32' ? (a, b) => `max(${a}, ${b})` : (a, b) => `max_f32(${a}, ${b})`;
    case 'fmod':
      return t === 'i32' ? (a, b) => `ifmod(${a}, ${b})` : (a, b) => `fmod_f32(${a}, ${b})`;
    case 'mod':
      return t === 'i32' ? (a, b) => `imod(${a}, ${b})` : (a, b) => `mod_f32(${a}, ${b})`;
  }
}

/**
 * The WGSL expression of each unary op (the type checker asks for every one); `k` is the
 * WGSL name of its constant (scale's factor). Functions named `*_f32` are the backend's
 * math library (wgsl.ts), where WGSL's own builtins do not keep the ops' NaN, ±inf, −0
 * or accuracy rules.
 */
const UNARY_WGSL: { readonly [K in UnaryOp]: (x: string, k: string, t: Storage) => string } = {
  relu: (x) => `relu_f32(${x})`,
  gelu: (x) => `gelu_f32(${x})`,
  gelu_tanh: (x) => `gelu_tanh_f32(${x})`,
  tanh: (x) => `tanh_f32(${x})`,
  exp: (x) => `exp_f32(${x})`,
  sqrt: (x) => `sqrt(${x})`,
  sigmoid: (x) => `sigmoid_f32(${x})`,
  erf: (x) => `erf_f32(${x})`,
  // |INT_MIN| is INT_MIN in WGSL's abs too: the op's wrap.
  abs: (x, _k, t) => (t === 'i32' ? `abs(${x})` : `abs_f32(${x})`),
  log: (x) => `log_f32(${x})`,
  cos: (x) => `trig_f32(${x}, 0u)`,
  sin: (x) => `trig_f32(${x}, 1u)`,
  isnan: (x) => `select(0u, 1u, is_nan(${x}))`,
  isinf: (x) => `select(0u, 1u, (bitcast<u32>(${x}) & 0x7fffffffu) == 0x7f800000u)`,
  sign: (x, _k, t) => (t === 'i32' ? `sign(${x})` : `sign_f32(${x})`),
  ceil: (x) => `signed_zero(ceil(${x}), ${x})`,
  floor: (x) => `signed_zero(floor(${x}), ${x})`,
  round: (x) => `signed_zero(round(${x}), ${x})`,
  scale: (x, k) => `(${x} * ${k})`,
  not: (x) => `select(1u, 0u, ${x} != 0u)`,
};

/**
 * A unary op's expression over operands of storage `t`; `k` is the WGSL name of its
 * constant (scale's factor).
 */
export function unaryExpr(op: UnaryOp, k = '', t: Storage = 'f32'): (x: string) => string {
  const f = UNARY_WGSL[op];
  return (x) => f(x, k, t);
}

/** Conversion between storage types with the rules of the ir's castScalar (float → int truncates, non-finite → 0). */
export function castExpr(from: DType, to: DType): (x: string) => string {
  const [f, t] = [storageType(from), storageType(to)];
  if (to === 'bool')
    return f === 'f32'
      ? (x) => `select(1u, 0u, ${x} == 0.0)`
      : (x) => `select(1u, 0u, ${x} == ${f === 'i32' ? '0' : '0u'})`;
  // To f16 (held as f32): rounded to the nearest f16, as the ir's castScalar.
  if (to === 'f16') return f === 'f32' ? (x) => `round_f16(${x})` : (x) => `round_f16(f32(${x}))`;
  if (f === t) return (x) => x;
  // f32 → int: truncation; NaN is 0 and out-of-range values saturate (the IR's rule,
  // spelled out: WGSL's own conversion of NaN and ±inf is not portable).
  if (t === 'i32')
    return f === 'f32'
      ? (x) =>
          `select(select(i32(max(${x}, -2147483648.0)), 2147483647, ${x} >= 2147483648.0), 0, is_nan(${x}))`
      : (x) => `i32(${x})`;
  return (x) => `f32(${x})`;
}

/** The numbers of a program, in order: they become uniforms (see MapSpec.consts). */
export function programConsts(program: readonly (number | string)[]): number[] {
  return program.filter((t): t is number => typeof t === 'number');
}

/**
 * A fused `elementwise` program (postfix) as one WGSL expression over its inputs `xs` and
 * its numbers `ks` (the WGSL names of programConsts, in order, then a uniform 0).
 *
 * WGSL lets a shader compiler assume there are no infinities or NaNs, and SwiftShader's
 * factors x·a + x·b into x·(a + b) — which for x = inf, a = −inf, b = 0 gives −inf where
 * the ops, one kernel each, give NaN. Each read of an input after its first goes through an
 * identity the compiler cannot see through (xor with the bits of a uniform that is 0), so a
 * fused program computes what its ops compute apart.
 */
export function programExpr(
  program: readonly (number | string)[],
  xs: readonly string[],
  ks: readonly string[],
  t: Storage,
): string {
  const stack: string[] = [];
  let k = 0;
  const zero = ks[ks.length - 1]!;
  const seen = new Set<number>();
  for (const tok of program) {
    if (typeof tok === 'number') stack.push(ks[k++]!);
    else if (tok.startsWith('$')) {
      const j = Number(tok.slice(1));
      const x = xs[j]!;
      stack.push(
        seen.has(j) && t === 'f32' ? `bitcast<f32>(bitcast<u32>(${x}) ^ bitcast<u32>(${zero}))` : x,
      );
      seen.add(j);
    } else if ((BINARY_OPS as readonly string[]).includes(tok)) {
      const b = stack.pop()!;
      const a = stack.pop()!;
      stack.push(binaryExpr(tok as BinaryOp, t)(a, b));
    } else stack.push(unaryExpr(tok as UnaryOp)(stack.pop()!));
  }
  return stack[0]!;
}
