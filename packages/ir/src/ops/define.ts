import type { DType } from '../dtype.js';
import { AttrError, ShapeError } from '../errors.js';
import { numel } from '../shape.js';
import type { AttrValue, TensorType } from '../types.js';
import { typeToString } from '../types.js';
import { own } from '../own.js';

/** How an attribute is written and checked. `dims` are lists of numbers and symbols. */
export type AttrKind = 'int' | 'float' | 'bool' | 'ints' | 'floats' | 'dims' | 'enum' | 'program';

export interface AttrSpec {
  readonly kind: AttrKind;
  /** Value used when the attribute is absent; absent and no default means optional. */
  readonly default?: AttrValue;
  readonly required?: boolean;
  /** Allowed strings, for `enum`. */
  readonly values?: readonly string[];
  readonly doc: string;
}

export interface InputSpec {
  readonly name: string;
  /** Allowed dtypes; undefined means any. */
  readonly dtypes?: readonly DType[];
  readonly optional?: boolean;
  /** Only the input's shape is read (tril): its values need not be computed before. */
  readonly shapeOnly?: boolean;
}

/** What a picture colours an op by. */
export type OpCategory = 'matmul' | 'attention' | 'elementwise' | 'normalize' | 'layout' | 'source';

/** Floating-point operations of one node from concrete shapes (a multiply-add counts 2). */
export type FlopCount<A> = (
  ins: readonly number[][],
  outs: readonly number[][],
  attrs: A,
) => number;

/**
 * Facts about an op that every consumer reads from here (MLIR's op traits, tinygrad's
 * GroupOp): the planner, the passes, `stats`, the pictures. Kernels stay per backend.
 */
export interface OpTraits<A> {
  readonly category: OpCategory;
  /** The output is its first input's storage reinterpreted: no kernel, no copy. */
  readonly view?: boolean;
  /** May be a step of an `elementwise` program (its scalar function is the op's own). */
  readonly program?: boolean;
  /** Only a fusion pass creates it (pictures draw it with a double border). */
  readonly fused?: boolean;
  /** FLOPs; absent means none (data movement only). */
  readonly flops?: FlopCount<A>;
}

/** One operation per output element. */
export const perElement: FlopCount<unknown> = (_ins, outs) => numel(outs[0]!);

export interface OpDef<A> {
  readonly name: string;
  readonly doc: string;
  readonly inputs: readonly InputSpec[];
  /** The last input may repeat (concat). */
  readonly variadic?: boolean;
  /** Attribute specs, keyed by attribute name. */
  readonly attrs: { readonly [K in keyof A]-?: AttrSpec };
  /**
   * Output types from input types and attributes (defaults filled in). Throws via `fail`;
   * the verifier adds node and op.
   */
  readonly infer: (inputs: readonly TensorType[], attrs: A) => TensorType[];
  readonly traits: OpTraits<A>;
}

export const FLOATS: readonly DType[] = ['f32', 'f16'];
export const INTS: readonly DType[] = ['i32', 'i64'];
export const NUMERIC: readonly DType[] = ['f32', 'f16', 'i32', 'i64'];

/** Shape-inference failure, with the input types attached for the message. */
export function fail(detail: string, inputs: readonly TensorType[] = []): never {
  throw new ShapeError(detail, { shapes: inputs.map(typeToString) });
}

export function defineOp<A>(def: OpDef<A>): OpDef<A> {
  return def;
}

function checkKind(name: string, spec: AttrSpec, v: AttrValue): string | undefined {
  const isNum = (x: unknown): x is number => typeof x === 'number';
  switch (spec.kind) {
    case 'int':
      return isNum(v) && Number.isInteger(v) ? undefined : 'an integer';
    case 'float':
      return isNum(v) ? undefined : 'a number';
    case 'bool':
      return typeof v === 'boolean' ? undefined : 'true or false';
    case 'ints':
      return Array.isArray(v) && v.every((x) => isNum(x) && Number.isInteger(x))
        ? undefined
        : 'a list of integers';
    case 'floats':
      return Array.isArray(v) && v.every(isNum) ? undefined : 'a list of numbers';
    case 'dims':
      return Array.isArray(v) &&
        v.every((x) => (isNum(x) && Number.isInteger(x)) || typeof x === 'string')
        ? undefined
        : 'a list of integers and symbols';
    case 'program':
      return Array.isArray(v) && v.every((x) => isNum(x) || typeof x === 'string')
        ? undefined
        : 'a list of numbers and words';
    case 'enum':
      return typeof v === 'string' && spec.values!.includes(v)
        ? undefined
        : `one of ${spec.values!.join(', ')}`;
  }
  return name;
}

/**
 * Check attributes against an op's specs and fill in defaults. Unknown attributes are an
 * error (a typo must not be silently ignored).
 */
export function resolveAttrs(def: OpDef<unknown>, given: Readonly<Record<string, AttrValue>>) {
  const specs = def.attrs as Record<string, AttrSpec>;
  const out: Record<string, AttrValue> = {};
  for (const k of Object.keys(given)) {
    if (!Object.hasOwn(specs, k))
      throw new AttrError(
        `unknown attribute '${k}' (${def.name} takes ${Object.keys(specs).join(', ') || 'none'})`,
      );
  }
  for (const [k, spec] of Object.entries(specs)) {
    const v = own(given, k) ?? spec.default;
    if (v === undefined) {
      if (spec.required) throw new AttrError(`attribute '${k}' is required`);
      continue;
    }
    const want = checkKind(k, spec, v);
    if (want !== undefined) throw new AttrError(`attribute '${k}' must be ${want}`);
    out[k] = v;
  }
  return out;
}
