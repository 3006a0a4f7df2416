import type { DType } from '../dtype.js';
import { isInt } from '../dtype.js';
import { erf as erfFn, gelu as geluFn, geluTanh } from '../math.js';
import { broadcastShapes, numel } from '../shape.js';
import { roundF16 } from '../tensor.js';
import type { TensorType } from '../types.js';
import { defineOp, fail, FLOATS, NUMERIC, perElement } from './define.js';

/**
 * Elementwise ops carry their scalar semantics here, once: the reference interpreter runs
 * them in float64 and the JS backend in float32 storage, from the same functions.
 */
export type BinaryFn = (a: number, b: number) => number;
export type UnaryFn = (x: number) => number;

function sameDtypeBroadcast(inputs: readonly TensorType[]): TensorType[] {
  const d = inputs[0]!.dtype;
  if (inputs.some((t) => t.dtype !== d))
    fail(`operands have different dtypes ${inputs.map((t) => t.dtype).join(', ')}`, inputs);
  const shape = broadcastShapes(inputs.map((t) => t.shape));
  if (typeof shape === 'string') fail(shape, inputs);
  return [{ dtype: d, shape }];
}

const binaryInputs = [
  { name: 'a', dtypes: NUMERIC },
  { name: 'b', dtypes: NUMERIC },
] as const;

/**
 * The traits of an op a fused program may name, typed as written so that `ProgramOp` (the
 * set each backend's program emitter must cover) is read off the definitions.
 */
const programTraits = { category: 'elementwise', program: true, flops: perElement } as const;

function binary(name: string, doc: string, fn: (dtype: DType) => BinaryFn) {
  return {
    ...defineOp<Record<string, never>>({
      name,
      doc,
      inputs: binaryInputs,
      attrs: {},
      infer: sameDtypeBroadcast,
      traits: programTraits,
    }),
    traits: programTraits,
    binary: fn,
  };
}

const wrapInt = (x: number) => x | 0;

export const add = binary('add', 'a + b, with broadcasting', (d) =>
  isInt(d) ? (a, b) => wrapInt(a + b) : (a, b) => a + b,
);
export const sub = binary('sub', 'a - b, with broadcasting', (d) =>
  isInt(d) ? (a, b) => wrapInt(a - b) : (a, b) => a - b,
);
export const mul = binary('mul', 'a * b, with broadcasting', (d) =>
  isInt(d) ? (a, b) => Math.imul(a, b) : (a, b) => a * b,
);
export const div = binary('div', 'a / b, with broadcasting; integers truncate toward zero', (d) =>
  isInt(d)
    ? (a, b) => {
        // Integer division by zero has no value; 0 keeps kernels total (as ONNX Runtime does
        // not define it either) and is documented in the op reference.
        return b === 0 ? 0 : wrapInt(Math.trunc(a / b));
      }
    : (a, b) => a / b,
);

const floatUnary = [{ name: 'x', dtypes: FLOATS }] as const;
const sameType = (inputs: readonly TensorType[]) => [inputs[0]!];

/**
 * A float program step; with `ints`, also an op on integers (their function, wrapping as
 * int32). A program computes floats only.
 */
function unary(name: string, doc: string, fn: UnaryFn, ints?: UnaryFn) {
  return {
    ...defineOp<Record<string, never>>({
      name,
      doc,
      inputs: ints ? [{ name: 'x', dtypes: NUMERIC }] : floatUnary,
      attrs: {},
      infer: sameType,
      traits: programTraits,
    }),
    traits: programTraits,
    unary: (_attrs: unknown, dtype?: DType): UnaryFn =>
      ints && dtype !== undefined && isInt(dtype) ? ints : fn,
  };
}

/**
 * A test of each float element: a bool result (1 or 0 from `fn`). Not a program step (a
 * program computes floats).
 */
function predicate(name: string, doc: string, fn: UnaryFn) {
  return {
    ...defineOp<Record<string, never>>({
      name,
      doc,
      inputs: floatUnary,
      attrs: {},
      infer: (inputs) => [{ dtype: 'bool', shape: inputs[0]!.shape }],
      traits: { category: 'elementwise', flops: perElement },
    }),
    unary: (_attrs: unknown, _dtype?: DType): UnaryFn => fn,
  };
}

export const relu = unary('relu', 'max(x, 0); NaN stays NaN, −0 stays −0 (as PyTorch)', (x) =>
  x < 0 ? 0 : x,
);
export const gelu = unary('gelu', 'exact GELU x·Φ(x) (nn.GELU())', geluFn);
export const gelu_tanh = unary(
  'gelu_tanh',
  "GELU's tanh approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (nn.GELU(approximate='tanh'))",
  geluTanh,
);
export const tanh = unary('tanh', 'hyperbolic tangent', Math.tanh);
export const exp = unary('exp', 'e^x', Math.exp);
export const sqrt = unary('sqrt', 'square root; negative gives NaN', Math.sqrt);
export const sigmoid = unary(
  'sigmoid',
  'logistic 1/(1 + e^−x): 0 at −inf, 1 at +inf (nn.Sigmoid, ONNX Sigmoid)',
  (x) => 1 / (1 + Math.exp(-x)),
);
export const erf = unary('erf', 'the error function (ONNX Erf)', erfFn);
export const abs = unary(
  'abs',
  '|x|; −0 gives +0, NaN stays NaN; on integers |INT_MIN| wraps to INT_MIN',
  Math.abs,
  (x) => Math.abs(x) | 0,
);
export const log = unary('log', 'natural logarithm; 0 gives −inf, negative gives NaN', Math.log);
export const cos = unary('cos', 'cosine (radians); ±inf and NaN give NaN', Math.cos);
export const sin = unary('sin', 'sine (radians); ±inf and NaN give NaN, −0 stays −0', Math.sin);
export const isnan = predicate('isnan', 'x is NaN (bool; ONNX IsNaN)', (x) => (x !== x ? 1 : 0));
export const isinf = predicate('isinf', 'x is +inf or −inf (bool; ONNX IsInf)', (x) =>
  x === Infinity || x === -Infinity ? 1 : 0,
);
export const sign = unary(
  'sign',
  '−1, 0 or 1 by the sign of x, +0 for ±0, NaN for NaN (ONNX Sign, torch.sign); integers too',
  (x) => (x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN),
  (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
);
export const ceil = unary('ceil', 'the least integer ≥ x; −0.5 gives −0', Math.ceil);
export const floor = unary('floor', 'the greatest integer ≤ x', Math.floor);
export const round = unary(
  'round',
  'the nearest integer, ties to even (ONNX Round); −0.4 gives −0',
  (x) => {
    const r = Math.round(x); // ties toward +inf
    return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
);

/**
 * torch.minimum / torch.maximum: NaN if either operand is NaN, else a when it is strictly
 * smaller (larger), else b — so of ±0 (equal) b is picked, not the IEEE order of zeros.
 */
export const min = binary(
  'min',
  'the smaller of a and b, with broadcasting; NaN if either is NaN; b when they are equal (±0: b), as torch.minimum',
  () => (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a < b ? a : b),
);
export const max = binary(
  'max',
  'the larger of a and b, with broadcasting; NaN if either is NaN; b when they are equal (±0: b), as torch.maximum',
  () => (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a > b ? a : b),
);

/**
 * The two remainders of ONNX Mod. fmod (fmod=1, C's): a − b·trunc(a/b), the sign of a,
 * exact in floating point (JS's %). mod (fmod=0, torch.remainder, Python's %): the sign of
 * b — fmod's result plus b where their signs differ (a zero keeps fmod's sign, as
 * torch.remainder; Python's takes b's). Integers wrap as
 * int32; an integer remainder by 0 is 0 (as div's quotient).
 */
export const fmod = binary(
  'fmod',
  'the remainder of a / b truncated toward zero (C fmod, ONNX Mod fmod=1): the sign of a, exact; b = 0, a = ±inf or NaN give NaN; integers: b = 0 gives 0',
  (d) => (isInt(d) ? (a, b) => (b === 0 ? 0 : (a % b) | 0) : (a, b) => a % b),
);
const floorRem = (a: number, b: number) => {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
};
export const mod = binary(
  'mod',
  "the remainder of a / b rounded toward −inf (torch.remainder, ONNX Mod fmod=0): the sign of b (a zero keeps a's, as torch.remainder); b = 0, a = ±inf or NaN give NaN; integers: b = 0 gives 0",
  (d) => (isInt(d) ? (a, b) => (b === 0 ? 0 : floorRem(a, b) | 0) : floorRem),
);

export interface ScaleAttrs {
  factor: number;
}
export const scale = {
  ...defineOp<ScaleAttrs>({
    name: 'scale',
    doc: 'x · factor, for a constant factor held as an f32 (how attention scaling is canonically written)',
    inputs: floatUnary,
    attrs: { factor: { kind: 'float', required: true, doc: 'the constant multiplier' } },
    infer: sameType,
    traits: { category: 'elementwise', flops: perElement },
  }),
  unary: (a: ScaleAttrs, _dtype?: DType): UnaryFn => {
    // The factor as an f32, as x is held (PyTorch's x * 1e30 on float32 multiplies by
    // fround(1e30)); the WGSL kernel passes it as an f32 uniform.
    const f = Math.fround(a.factor);
    return (x) => x * f;
  },
};

export interface CastAttrs {
  to: DType;
}
export const cast = defineOp<CastAttrs>({
  name: 'cast',
  doc: 'convert to dtype `to`: floats to ints truncate toward zero, to bool is x ≠ 0',
  inputs: [{ name: 'x' }],
  attrs: {
    to: {
      kind: 'enum',
      values: ['f32', 'f16', 'i32', 'i64', 'bool'],
      required: true,
      doc: 'target dtype',
    },
  },
  infer: (inputs, a) => [{ dtype: a.to, shape: inputs[0]!.shape }],
  traits: { category: 'elementwise' },
});

/** Scalar conversion used by cast, shared by the reference and the backends. */
export function castScalar(to: DType): UnaryFn {
  switch (to) {
    case 'bool':
      return (x) => (x !== 0 ? 1 : 0);
    // Truncation toward zero; NaN is 0 and values out of range saturate (C++ leaves both
    // undefined; WGSL's conversion saturates): the same on every backend.
    // i64 is computed in i32 (the backends narrow it with a range check): its casts
    // saturate at i32's range too.
    case 'i32':
    case 'i64':
      return (x) => (x !== x ? 0 : Math.max(-2147483648, Math.min(2147483647, Math.trunc(x))));
    // To the nearest f16 (ties to even; past 65504 ±inf), held as the number it is: the
    // backends keep f16 values in f32, so the cast itself must round.
    case 'f16':
      return roundF16;
    default:
      return (x) => x;
  }
}

export const where = defineOp<Record<string, never>>({
  name: 'where',
  doc: 'cond ? a : b, with broadcasting of all three',
  inputs: [{ name: 'cond', dtypes: ['bool'] }, { name: 'a' }, { name: 'b' }],
  attrs: {},
  infer: (inputs) => {
    const [c, a, b] = inputs as [TensorType, TensorType, TensorType];
    if (a.dtype !== b.dtype) fail(`branches have different dtypes ${a.dtype}, ${b.dtype}`, inputs);
    const shape = broadcastShapes([c.shape, a.shape, b.shape]);
    if (typeof shape === 'string') fail(shape, inputs);
    return [{ dtype: a.dtype, shape }];
  },
  traits: { category: 'elementwise', flops: perElement },
});

/** Comparisons and logic: bool results with broadcasting (NaN compares unequal and not less). */
function compare(name: string, doc: string, bools: boolean, fn: BinaryFn) {
  return {
    ...defineOp<Record<string, never>>({
      name,
      doc,
      inputs: bools
        ? [
            { name: 'a', dtypes: ['bool'] },
            { name: 'b', dtypes: ['bool'] },
          ]
        : binaryInputs,
      attrs: {},
      infer: (inputs) => sameDtypeBroadcast(inputs).map((t) => ({ ...t, dtype: 'bool' as const })),
      // Logic on bools is not counted as floating-point work.
      traits: { category: 'elementwise', ...(bools ? {} : { flops: perElement }) },
    }),
    compare: fn,
  };
}
export const equal = compare('equal', 'a == b, with broadcasting (bool)', false, (a, b) =>
  a === b ? 1 : 0,
);
export const less = compare('less', 'a < b, with broadcasting (bool)', false, (a, b) =>
  a < b ? 1 : 0,
);
export const and = compare(
  'and',
  'logical a ∧ b of bool tensors, with broadcasting',
  true,
  (a, b) => (a !== 0 && b !== 0 ? 1 : 0),
);
export const or = compare('or', 'logical a ∨ b of bool tensors, with broadcasting', true, (a, b) =>
  a !== 0 || b !== 0 ? 1 : 0,
);

export const not = {
  ...defineOp<Record<string, never>>({
    name: 'not',
    doc: 'logical negation of a bool tensor',
    inputs: [{ name: 'x', dtypes: ['bool'] }],
    attrs: {},
    infer: sameType,
    traits: { category: 'elementwise' },
  }),
  unary:
    (_attrs: unknown, _dtype?: DType): UnaryFn =>
    (x) =>
      x !== 0 ? 0 : 1,
};

/**
 * Every op of this file but the fused `elementwise`, keyed by name: the op vocabulary
 * (ops/index.ts) takes them from here, so a new elementwise op is its definition above and
 * its entry here.
 */
export const SCALAR_OPS = {
  add,
  sub,
  mul,
  div,
  min,
  max,
  mod,
  fmod,
  relu,
  gelu,
  gelu_tanh,
  tanh,
  exp,
  sqrt,
  sigmoid,
  erf,
  abs,
  log,
  cos,
  sin,
  isnan,
  isinf,
  sign,
  ceil,
  floor,
  round,
  scale,
  cast,
  where,
  equal,
  less,
  and,
  or,
  not,
} as const;

/**
 * The ops a program may name: those whose definition says `program` (scale is written as
 * a multiplication by its factor). Read off the definitions above.
 */
type ProgramDef = { name: string; traits: { program?: boolean } } & (
  { binary: (d: DType) => BinaryFn } | { unary: (a: object) => UnaryFn }
);
const PROGRAM_OPS: ReadonlyMap<string, ProgramDef> = new Map(
  Object.values(SCALAR_OPS)
    .filter((d): d is typeof d & ProgramDef => d.traits.program === true)
    .map((d) => [d.name, d]),
);
/** The op names a program may use, as the docs list them. */
export const PROGRAM_TOKENS: readonly string[] = [...PROGRAM_OPS.keys()];

/**
 * `elementwise`: a chain of elementwise ops fused into one (the optimizer forms it). The
 * program is postfix over the inputs: `$i` pushes input i, a number pushes that constant,
 * an op name (PROGRAM_TOKENS) pops its operands and pushes the result — the same scalar
 * functions as the ops themselves, so fusing cannot change a value. Inputs broadcast to a
 * common shape.
 */
export interface ElementwiseAttrs {
  program: readonly (number | string)[];
}

/**
 * Compile a program to one scalar function of its inputs; throws with a reason if malformed.
 * `round`, when given, rounds every op's result (Math.fround: the program as f32 hardware
 * computes it, where the reference keeps float64 intermediates).
 */
export function compileProgram(
  program: readonly (number | string)[],
  arity: number,
  dtype: DType,
  round?: (x: number) => number,
): (xs: ArrayLike<number>) => number {
  type F = (xs: ArrayLike<number>) => number;
  const stack: F[] = [];
  for (const tok of program) {
    if (typeof tok === 'number') {
      // A number in a program over floats is an f32, as the backends hold it.
      const k = Math.fround(tok);
      stack.push(() => k);
    } else if (/^\$\d+$/.test(tok)) {
      const i = Number(tok.slice(1));
      if (i >= arity) throw new Error(`program reads ${tok} but there are ${arity} inputs`);
      stack.push((xs) => xs[i]!);
    } else if (PROGRAM_OPS.has(tok)) {
      const def = PROGRAM_OPS.get(tok)!;
      if ('binary' in def) {
        const r = stack.pop();
        const l = stack.pop();
        if (l === undefined || r === undefined) throw new Error(`'${tok}' needs two operands`);
        const f = def.binary(dtype);
        stack.push(round ? (xs) => round(f(l(xs), r(xs))) : (xs) => f(l(xs), r(xs)));
      } else {
        const a = stack.pop();
        if (a === undefined) throw new Error(`'${tok}' needs an operand`);
        const f = def.unary({});
        stack.push(round ? (xs) => round(f(a(xs))) : (xs) => f(a(xs)));
      }
    } else throw new Error(`unknown program token '${tok}'`);
  }
  if (stack.length !== 1) throw new Error(`program leaves ${stack.length} values, not 1`);
  return stack[0]!;
}

export const elementwise = defineOp<ElementwiseAttrs>({
  name: 'elementwise',
  doc: `fused chain of elementwise ops: a postfix program over the inputs ($0, $1, numbers, ${PROGRAM_TOKENS.join(' ')})`,
  inputs: [{ name: 'x', dtypes: FLOATS }],
  variadic: true,
  attrs: { program: { kind: 'program', required: true, doc: 'postfix program' } },
  infer: (inputs, a) => {
    const [t] = sameDtypeBroadcast(inputs);
    try {
      compileProgram(a.program, inputs.length, t!.dtype);
    } catch (e) {
      fail(`bad program [${a.program.join(' ')}]: ${(e as Error).message}`, inputs);
    }
    return [t!];
  },
  traits: {
    category: 'elementwise',
    fused: true,
    flops: (_i, o, a) =>
      numel(o[0]!) * a.program.filter((t) => typeof t === 'string' && !t.startsWith('$')).length,
  },
});
