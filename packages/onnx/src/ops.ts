import type { AttrsOf, CompareOp, Dim, DType, GraphBuilder, OpName, Val } from '@glimpse/ir';
import {
  OPS,
  broadcastShapes,
  broadcastStrides,
  normAxis,
  sliceRange,
  stridesOf,
  UnsupportedError,
} from '@glimpse/ir';
import type { AttributeProto } from './proto.js';
import { int } from './proto.js';
import type { Const, Operand } from './operand.js';
import {
  checkSymbolic,
  constFromTensor,
  constOf,
  dimsOf,
  dtypeOfOperand,
  isSymbolElement,
  evalOp,
  ints,
  shapeOf,
  symbolElement,
  symbolsIn,
  valOf,
} from './operand.js';
import { dtypeOf, tensorFromProto } from './tensor.js';

/** What a converter sees of the node it converts. */
export interface Cx {
  readonly b: GraphBuilder;
  readonly name: string;
  readonly op: string;
  readonly opset: number;
  readonly attrs: ReadonlyMap<string, AttributeProto>;
  /** Names of the node's outputs ('' for an omitted optional output). */
  readonly outputs: readonly string[];
}

/** A converter: ONNX inputs (undefined where omitted) → one operand per output. */
export type Converter = (ins: readonly (Operand | undefined)[], cx: Cx) => Operand[];

function unsupported(cx: Cx, what: string): never {
  throw new UnsupportedError(`${cx.op} ${what}`, { node: cx.name, op: cx.op });
}

// ---- attributes ----
const attr = (cx: Cx, n: string) => cx.attrs.get(n);
export function attrInt(cx: Cx, n: string, dflt: number): number {
  const a = attr(cx, n);
  return a ? int(a.i, `${cx.name}.${n}`) : dflt;
}
function attrFloat(cx: Cx, n: string, dflt: number): number {
  const a = attr(cx, n);
  return a ? (a.f ?? 0) : dflt;
}
function attrInts(cx: Cx, n: string): number[] | undefined {
  const a = attr(cx, n);
  return a ? (a.ints ?? []).map((x) => int(x, `${cx.name}.${n}`)) : undefined;
}

// ---- helpers ----
const val = (cx: Cx, o: Operand, hint = 'c') => valOf(cx.b, o, `${cx.name || cx.op}_${hint}`);
/** A new value name for the node's intermediate `hint`. */
const fresh = (cx: Cx, hint: string) => cx.b.fresh(`${cx.name}_${hint}`);
const out = (cx: Cx, i = 0) => cx.outputs[i] || `${cx.name || cx.op}_out${i}`;
const dyn = (v: Val): Operand => ({ kind: 'val', val: v });
const isConst = (o: Operand | undefined): o is Const => o?.kind === 'const';
const allConst = (ins: readonly (Operand | undefined)[]): ins is Const[] =>
  ins.every((o) => o === undefined || o.kind === 'const');

function need(cx: Cx, ins: readonly (Operand | undefined)[], i: number): Operand {
  const o = ins[i];
  if (!o) unsupported(cx, `needs input ${i}`);
  return o;
}
function needConst(cx: Cx, ins: readonly (Operand | undefined)[], i: number, what: string): Const {
  const o = need(cx, ins, i);
  if (o.kind !== 'const')
    unsupported(
      cx,
      `with a computed ${what} (input ${i}) is not supported: it must be constant or fold to one (a graph input feeding it can be given a value at import: importOnnx's constants, or glimpse run --inputs)`,
    );
  return o;
}
/** A static shape, or an UnsupportedError saying which symbolic dims stop the import. */
function staticShape(cx: Cx, o: Operand, what: string): number[] {
  const s = shapeOf(o);
  if (s.some((d) => typeof d !== 'number'))
    unsupported(
      cx,
      `on ${what} of symbolic shape [${s.join(',')}]: symbolic shape arithmetic is not supported yet`,
    );
  return s as number[];
}

/** Elementwise on constants with numpy broadcasting (`what` names it if symbols are refused). */
function constMap(
  dtype: DType,
  xs: readonly Const[],
  f: (...v: number[]) => number,
  what: string | undefined,
): Const {
  if (what !== undefined) checkSymbolic(what, xs);
  const shape = broadcastShapes(xs.map((x) => x.shape)) as number[];
  const st = xs.map((x) => broadcastStrides(x.shape as number[], shape));
  const n = shape.reduce((a, d) => a * d, 1);
  const outSt = stridesOf(shape);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let rem = i;
    const offs = xs.map(() => 0);
    for (let a = 0; a < shape.length; a++) {
      const c = Math.floor(rem / outSt[a]!);
      rem -= c * outSt[a]!;
      st.forEach((s, k) => (offs[k]! += c * s[a]!));
    }
    data[i] = f(...xs.map((x, k) => x.data[offs[k]!]!));
  }
  return constOf(dtype, shape, data);
}

const isIntType = (d: DType) => d === 'i32' || d === 'i64';

/**
 * The glimpse op on the node's operands — folded by the reference interpreter when all of
 * them are constants (the shape arithmetic of exporters), else a node of the graph.
 */
function emit<K extends OpName>(
  cx: Cx,
  op: K,
  xs: readonly Operand[],
  attrs: Partial<AttrsOf<K>> = {},
  name = out(cx),
): Operand {
  if (allConst(xs)) return evalOp(op, xs, attrs)[0]!;
  return dyn(
    cx.b.op(
      op,
      xs.map((x, i) => val(cx, x, `in${i}`)),
      attrs,
      name,
    ),
  );
}

function binary(op: 'add' | 'sub' | 'mul' | 'div'): Converter {
  return (ins, cx) => {
    const [a, b] = [need(cx, ins, 0), need(cx, ins, 1)];
    if (isConst(a) && isConst(b) && symbolsIn(a).length + symbolsIn(b).length > 0)
      return [symbolicArith(op, a, b)];
    return [emit(cx, op, [a, b])];
  };
}

/**
 * Arithmetic on shape values with symbolic dims: only what leaves a symbol a symbol
 * (x·1, 1·x, x/1, x ± 0, 0 + x) or involves none; anything else would need a product or
 * sum of dims, which glimpse's shapes do not have.
 */
function symbolicArith(op: 'add' | 'sub' | 'mul' | 'div', a: Const, b: Const): Const {
  const id = op === 'mul' || op === 'div' ? 1 : 0;
  const commutes = op === 'mul' || op === 'add';
  const scalar = OPS[op].binary(a.dtype);
  return constMap(
    a.dtype,
    [a, b],
    (x, y) => {
      const [sx, sy] = [isSymbolElement(x), isSymbolElement(y)];
      if (sx && !sy && y === id) return x;
      if (sy && !sx && x === id && commutes) return y;
      if (!sx && !sy) return scalar(x, y);
      return checkSymbolic(op, [a, b]) as never;
    },
    undefined,
  );
}

function unary(op: 'relu' | 'tanh' | 'exp' | 'sqrt' | 'not'): Converter {
  return (ins, cx) => [emit(cx, op, [need(cx, ins, 0)])];
}

/** Comparisons and logic. */
function comparison(op: CompareOp): Converter {
  return (ins, cx) => [emit(cx, op, [need(cx, ins, 0), need(cx, ins, 1)])];
}

/** Constant-only ops of shape arithmetic: they fold or are refused. */
function foldOnly(dtype: (ins: Const[]) => DType, f: (...v: number[]) => number): Converter {
  return (ins, cx) => {
    if (!allConst(ins))
      unsupported(
        cx,
        'on computed (non-constant) inputs is not supported: glimpse has no such op yet',
      );
    const cs = ins.filter((x): x is Const => x !== undefined);
    return [constMap(dtype(cs), cs, f, cx.op)];
  };
}

function axesOf(
  cx: Cx,
  ins: readonly (Operand | undefined)[],
  i: number,
  rank: number,
): number[] | undefined {
  const fromAttr = attrInts(cx, 'axes');
  const raw = ins[i] ? ints(needConst(cx, ins, i, 'axes')) : fromAttr;
  if (raw === undefined) return undefined;
  return raw.map((a) => {
    const n = normAxis(a, rank);
    if (n === undefined) unsupported(cx, `axis ${a} out of range for rank ${rank}`);
    return n;
  });
}

/** Reshape to a target (numbers and the input's own symbols), or fold for constants. */
function reshapeTo(cx: Cx, x: Operand, target: readonly Dim[], name = out(cx)): Operand {
  return emit(cx, 'reshape', [x], { shape: target }, name);
}

/** The elements of `axis` at `indices` (a gather with constant indices: strides, pads). */
function pick(
  cx: Cx,
  x: Operand,
  axis: number,
  indices: readonly number[],
  name = out(cx),
): Operand {
  return emit(cx, 'gather', [x, constOf('i64', [indices.length], indices)], { axis }, name);
}

/** ONNX Slice's indices for a step other than 1 (negative steps walk backwards). */
function steppedIndices(d: number, start: number, end: number, step: number): number[] {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const norm = (v: number) => (v < 0 ? v + d : v);
  const [s, e] =
    step > 0
      ? [clamp(norm(start), 0, d), clamp(norm(end), 0, d)]
      : [clamp(norm(start), 0, d - 1), clamp(norm(end), -1, d - 1)];
  const out: number[] = [];
  for (let i = s; step > 0 ? i < e : i > e; i += step) out.push(i);
  return out;
}

/**
 * ONNX Pad along one axis of static size d by (before, after), either negative (a crop):
 * the source index of each output position for the modes that copy (edge, reflect, wrap).
 */
function padIndices(mode: string, d: number, before: number, after: number): number[] {
  return Array.from({ length: d + before + after }, (_, i) => {
    const j = i - before;
    if (mode === 'edge') return Math.min(Math.max(j, 0), d - 1);
    if (mode === 'wrap') return ((j % d) + d) % d;
    if (d === 1) return 0; // reflect
    const p = 2 * (d - 1);
    const r = ((j % p) + p) % p;
    return r < d ? r : p - r;
  });
}

// ---- the converters ----
export const CONVERTERS: Record<string, Converter> = {
  Add: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  Div: binary('div'),
  Relu: unary('relu'),
  Tanh: unary('tanh'),
  Gelu: (ins, cx) => {
    const a = cx.attrs.get('approximate');
    const approx = a?.s ? new TextDecoder().decode(a.s) : 'none';
    if (approx !== 'none')
      unsupported(cx, `approximate='${approx}' is not supported (the exact form is)`);
    return [dyn(cx.b.op('gelu', [val(cx, need(cx, ins, 0))], {}, out(cx)))];
  },
  Exp: unary('exp'),
  Sqrt: unary('sqrt'),
  Neg: (ins, cx) => {
    const x = need(cx, ins, 0);
    const d = dtypeOfOperand(x);
    return [
      isIntType(d)
        ? emit(cx, 'mul', [x, constOf(d, [], [-1])])
        : emit(cx, 'scale', [x], { factor: -1 }),
    ];
  },
  Reciprocal: (ins, cx) => {
    const x = need(cx, ins, 0);
    return [emit(cx, 'div', [constOf(dtypeOfOperand(x), [], [1]), x])];
  },
  Pow: (ins, cx) => {
    const [x, e] = [need(cx, ins, 0), needConst(cx, ins, 1, 'exponent')];
    if (isConst(x)) return [constMap(x.dtype, [x, e], (a, b) => a ** b, 'Pow')];
    const p = e.data.length === 1 ? e.data[0]! : NaN;
    // Constant exponents as the ops that compute them: small integers by repeated squaring
    // (x⁰ is 1 everywhere, NaN included, as C's pow), ±½ by sqrt.
    const recip = (y: Operand) => emit(cx, 'div', [constOf(dtypeOfOperand(x), [], [1]), y]);
    if (Math.abs(p) === 0.5) {
      const r = emit(cx, 'sqrt', [x], {}, p > 0 ? out(cx) : fresh(cx, 'sqrt'));
      return [p > 0 ? r : recip(r)];
    }
    if (!Number.isInteger(p) || Math.abs(p) > 8)
      return unsupported(
        cx,
        `with exponent ${Array.from(e.data).join(',')} is not supported (constant integers −8…8 and ±0.5 are)`,
      );
    if (p === 0)
      return [
        emit(cx, 'expand', [constOf(dtypeOfOperand(x), [], [1])], { shape: [...shapeOf(x)] }),
      ];
    let acc: Operand | undefined;
    let sq: Operand = x;
    for (let n = Math.abs(p); n > 0; n >>= 1) {
      if (n & 1) acc = acc === undefined ? sq : emit(cx, 'mul', [acc, sq], {}, fresh(cx, 'pow'));
      if (n > 1) sq = emit(cx, 'mul', [sq, sq], {}, fresh(cx, 'sq'));
    }
    return [p > 0 ? acc! : recip(acc!)];
  },
  Mod: foldOnly(
    (c) => c[0]!.dtype,
    (a, b) => (b === 0 ? 0 : a - Math.floor(a / b) * b),
  ),
  Equal: comparison('equal'),
  Less: comparison('less'),
  And: comparison('and'),
  Not: unary('not'),
  Where: (ins, cx) => [emit(cx, 'where', [need(cx, ins, 0), need(cx, ins, 1), need(cx, ins, 2)])],
  Identity: (ins, cx) => [need(cx, ins, 0)],
  Cast: (ins, cx) => {
    const x = need(cx, ins, 0);
    const to = dtypeOf(attrInt(cx, 'to', 0), `${cx.name}.to`);
    // Integer shape values keep their symbols through integer casts.
    if (isConst(x) && isIntType(x.dtype) && isIntType(to) && symbolsIn(x).length > 0)
      return [constOf(to, x.shape, x.data)];
    return [!isConst(x) && dtypeOfOperand(x) === to ? x : emit(cx, 'cast', [x], { to })];
  },
  CastLike: (ins, cx) => {
    const x = need(cx, ins, 0);
    const to = dtypeOfOperand(need(cx, ins, 1));
    return [!isConst(x) && dtypeOfOperand(x) === to ? x : emit(cx, 'cast', [x], { to })];
  },
  Constant: (_ins, cx) => {
    const a = [...cx.attrs.values()][0];
    if (!a) unsupported(cx, 'without a value');
    switch (a.name) {
      case 'value':
        return [constFromTensor(tensorFromProto(a.t!, `${cx.name}.value`))];
      case 'value_float':
        return [constOf('f32', [], [a.f ?? 0])];
      case 'value_floats':
        return [constOf('f32', [a.floats?.length ?? 0], a.floats ?? [])];
      case 'value_int':
        return [constOf('i64', [], [int(a.i, cx.name)])];
      case 'value_ints':
        return [
          constOf(
            'i64',
            [a.ints?.length ?? 0],
            (a.ints ?? []).map((v) => int(v, cx.name)),
          ),
        ];
      default:
        return unsupported(cx, `attribute ${a.name} is not supported`);
    }
  },
  ConstantOfShape: (ins, cx) => {
    const dims = dimsOf(needConst(cx, ins, 0, 'shape'));
    const v = attr(cx, 'value');
    const fill = v?.t
      ? constFromTensor(tensorFromProto(v.t, `${cx.name}.value`))
      : constOf('f32', [1], [0]);
    // A symbolic shape: the fill broadcast at run time.
    if (dims.some((d) => typeof d !== 'number')) {
      const one = constOf(fill.dtype, [], [fill.data[0] ?? 0]);
      return [dyn(cx.b.op('expand', [val(cx, one, 'fill')], { shape: dims }, out(cx)))];
    }
    const shape = dims as number[];
    const n = shape.reduce((a, d) => a * d, 1);
    return [constOf(fill.dtype, shape, new Float64Array(n).fill(fill.data[0] ?? 0))];
  },
  Range: (ins, cx) => {
    const bound = (i: number) => {
      const c = needConst(cx, ins, i, 'bound');
      checkSymbolic('Range', [c]);
      return c.data[0]!;
    };
    const [s, l, d] = [0, 1, 2].map(bound) as [number, number, number];
    const n = Math.max(0, Math.ceil((l - s) / d));
    if (n > 2 ** 24) unsupported(cx, `of ${n} elements is too large to fold`);
    return [
      constOf(
        needConst(cx, ins, 0, 'start').dtype,
        [n],
        Array.from({ length: n }, (_, i) => s + i * d),
      ),
    ];
  },
  Shape: (ins, cx) => {
    // Symbolic dims stay symbols (see operand.ts): reshapes and expands read them back.
    const s = shapeOf(need(cx, ins, 0)).map((d) => (typeof d === 'number' ? d : symbolElement(d)));
    const r = s.length;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const dims = s.slice(clamp(attrInt(cx, 'start', 0)), clamp(attrInt(cx, 'end', r)));
    return [constOf('i64', [dims.length], dims)];
  },
  Size: (ins, cx) => [
    constOf('i64', [], [staticShape(cx, need(cx, ins, 0), 'an input').reduce((a, d) => a * d, 1)]),
  ],
  Reshape: (ins, cx) => {
    const x = need(cx, ins, 0);
    const target = dimsOf(needConst(cx, ins, 1, 'shape'));
    const allowzero = attrInt(cx, 'allowzero', 0) === 1;
    const s = shapeOf(x);
    if (allowzero && target.includes(0)) {
      // A literal 0 dim: the result is empty (glimpse's 0 means "copy the input dim").
      if (target.includes(-1)) unsupported(cx, 'with allowzero, 0 and -1 together');
      if (target.some((d) => typeof d !== 'number'))
        unsupported(cx, `with allowzero to an empty symbolic shape [${target.join(',')}]`);
      return [constOf(dtypeOfOperand(x), target as number[], [])];
    }
    return [
      reshapeTo(
        cx,
        x,
        target.map((d, i) => (d === 0 ? s[i]! : d)),
      ),
    ];
  },
  Flatten: (ins, cx) => {
    const x = need(cx, ins, 0);
    const s = staticShape(cx, x, 'an input');
    const a = attrInt(cx, 'axis', 1);
    const ax = a < 0 ? a + s.length : a;
    if (ax < 0 || ax > s.length) unsupported(cx, `axis ${a} out of range for rank ${s.length}`);
    const p = (a: number[]) => a.reduce((m, d) => m * d, 1);
    return [reshapeTo(cx, x, [p(s.slice(0, ax)), p(s.slice(ax))])];
  },
  Unsqueeze: (ins, cx) => {
    const x = need(cx, ins, 0);
    const s = shapeOf(x);
    const axes = axesOf(
      cx,
      ins,
      1,
      s.length + (attrInts(cx, 'axes') ?? ints(needConst(cx, ins, 1, 'axes'))).length,
    )!;
    const t: Dim[] = [];
    let k = 0;
    for (let i = 0; i < s.length + axes.length; i++) t.push(axes.includes(i) ? 1 : s[k++]!);
    return [reshapeTo(cx, x, t)];
  },
  Squeeze: (ins, cx) => {
    const x = need(cx, ins, 0);
    const s = shapeOf(x);
    const axes = axesOf(cx, ins, 1, s.length) ?? s.flatMap((d, i) => (d === 1 ? [i] : []));
    if (axes.some((a) => s[a] !== 1))
      unsupported(cx, `axes [${axes.join(',')}] are not all of size 1 in [${s.join(',')}]`);
    return [
      reshapeTo(
        cx,
        x,
        s.filter((_, i) => !axes.includes(i)),
      ),
    ];
  },
  Transpose: (ins, cx) => {
    const x = need(cx, ins, 0);
    const r = shapeOf(x).length;
    const perm = attrInts(cx, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    // A transposed weight stays a param and a node (folded at -O2 with frozen weights).
    if (isConst(x) && x.param !== undefined)
      return [dyn(cx.b.transpose(val(cx, x), perm, out(cx)))];
    return [emit(cx, 'transpose', [x], { perm })];
  },
  Concat: (ins, cx) => {
    const xs = ins.filter((o): o is Operand => o !== undefined);
    const r = shapeOf(xs[0]!).length;
    const ax = normAxis(attrInt(cx, 'axis', 0), r);
    if (ax === undefined) unsupported(cx, `axis out of range for rank ${r}`);
    return [emit(cx, 'concat', xs, { axis: ax })];
  },
  Split: (ins, cx) => {
    const x = need(cx, ins, 0);
    const s = shapeOf(x);
    const ax = normAxis(attrInt(cx, 'axis', 0), s.length);
    if (ax === undefined) unsupported(cx, `axis out of range for rank ${s.length}`);
    const dim = s[ax];
    if (typeof dim !== 'number') unsupported(cx, `along the symbolic axis ${dim}`);
    const n = cx.outputs.length;
    const sizes = ins[1]
      ? ints(needConst(cx, ins, 1, 'split'))
      : (attrInts(cx, 'split') ??
        Array.from({ length: n }, (_, i) => {
          const each = Math.ceil(dim / n);
          return Math.max(0, Math.min(each, dim - i * each));
        }));
    if (isConst(x)) return evalOp('split', [x], { axis: ax, sizes }, sizes.length);
    return cx.b
      .opN(
        'split',
        [val(cx, x)],
        { axis: ax, sizes },
        cx.outputs.map((o, i) => o || `${cx.name}_${i}`),
      )
      .map(dyn);
  },
  Slice: (ins, cx) => {
    let x = need(cx, ins, 0);
    const s = shapeOf(x);
    const starts = ints(needConst(cx, ins, 1, 'starts'));
    const ends = ints(needConst(cx, ins, 2, 'ends'));
    const axes = axesOf(cx, ins, 3, s.length) ?? starts.map((_, i) => i);
    const steps = ins[4] ? ints(needConst(cx, ins, 4, 'steps')) : starts.map(() => 1);
    axes.forEach((ax, i) => {
      const d = shapeOf(x)[ax]!;
      const step = steps[i]!;
      if (step === 0) unsupported(cx, 'with a step of 0');
      if (typeof d !== 'number') {
        if (step === 1 && starts[i] === 0 && ends[i]! >= 2 ** 31 - 1) return; // the whole symbolic axis
        unsupported(cx, `of the symbolic axis ${d}`);
      }
      const name = i === axes.length - 1 ? out(cx) : fresh(cx, `s${i}`);
      if (step === 1) {
        const [start, end] = sliceRange(d, starts[i]!, ends[i]!);
        if (start === 0 && end === d) return;
        x = emit(cx, 'slice', [x], { axis: ax, start, end }, name);
      } else x = pick(cx, x, ax, steppedIndices(d, starts[i]!, ends[i]!, step), name);
    });
    return [x];
  },
  Pad: (ins, cx) => {
    const x = need(cx, ins, 0);
    const s = shapeOf(x);
    const r = s.length;
    const pads = ints(needConst(cx, ins, 1, 'pads'));
    const axes = axesOf(cx, ins, 3, r) ?? [...Array(r).keys()];
    if (pads.length !== 2 * axes.length)
      unsupported(cx, `pads has ${pads.length} entries for ${axes.length} axes`);
    const a = cx.attrs.get('mode');
    const mode = a?.s ? new TextDecoder().decode(a.s) : 'constant';
    if (!['constant', 'edge', 'reflect', 'wrap'].includes(mode))
      unsupported(cx, `mode '${mode}' is not supported`);
    const dtype = dtypeOfOperand(x);
    const fillOp = ins[2];
    if (fillOp && !isConst(fillOp)) unsupported(cx, 'with a computed constant_value');
    const fill = fillOp ? ((fillOp as Const).data[0] ?? 0) : 0;
    let y = x;
    axes.forEach((ax, i) => {
      const [before, after] = [pads[i]!, pads[i + axes.length]!];
      if (before === 0 && after === 0) return;
      const d = shapeOf(y)[ax]!;
      if (typeof d !== 'number') unsupported(cx, `along the symbolic axis ${d}`);
      if (d + before + after < 0 || (mode !== 'constant' && d === 0))
        unsupported(cx, `pads [${before}, ${after}] on an axis of ${d}`);
      if (mode === 'reflect' && (before >= d || after >= d) && d > 1)
        unsupported(cx, `reflect pads [${before}, ${after}] reach past an axis of ${d}`);
      const name = fresh(cx, `p${i}`);
      if (mode !== 'constant') {
        y = pick(cx, y, ax, padIndices(mode, d, before, after), name);
        return;
      }
      // Constant: crop (negative pads), then concatenate blocks of the fill value.
      const [lo, hi] = [Math.max(0, -before), d - Math.max(0, -after)];
      if (lo > 0 || hi < d)
        y = emit(cx, 'slice', [y], { axis: ax, start: lo, end: Math.max(lo, hi) }, name);
      const block = (n: number, hint: string): Operand[] => {
        if (n <= 0) return [];
        const shape = shapeOf(y).map((e, k) => (k === ax ? n : e));
        const one = constOf(dtype, [], [fill]);
        if (shape.every((e) => typeof e === 'number'))
          return [
            constOf(
              dtype,
              shape as number[],
              new Float64Array(shape.reduce((p: number, e) => p * (e as number), 1)).fill(fill),
            ),
          ];
        return [dyn(cx.b.op('expand', [val(cx, one, hint)], { shape }, fresh(cx, `${hint}`)))];
      };
      const parts = [...block(before, 'before'), y, ...block(after, 'after')];
      if (parts.length > 1) y = emit(cx, 'concat', parts, { axis: ax }, fresh(cx, `c${i}`));
    });
    return [y];
  },
  Gather: (ins, cx) => {
    const [x, idx] = [need(cx, ins, 0), need(cx, ins, 1)];
    const s = shapeOf(x);
    const ax = normAxis(attrInt(cx, 'axis', 0), s.length);
    if (ax === undefined) unsupported(cx, `axis out of range for rank ${s.length}`);
    return [emit(cx, 'gather', [x, idx], { axis: ax })];
  },
  Expand: (ins, cx) => [
    emit(cx, 'expand', [need(cx, ins, 0)], { shape: dimsOf(needConst(cx, ins, 1, 'shape')) }),
  ],
  MatMul: (ins, cx) => {
    const [a, b] = [need(cx, ins, 0), need(cx, ins, 1)];
    const [sa, sb] = [shapeOf(a), shapeOf(b)];
    let va = val(cx, a, 'a');
    let vb = val(cx, b, 'b');
    if (sa.length === 1) va = cx.b.reshape(va, [1, sa[0]!], fresh(cx, `a2`));
    if (sb.length === 1) vb = cx.b.reshape(vb, [sb[0]!, 1], fresh(cx, `b2`));
    const direct = sa.length > 1 && sb.length > 1;
    const y = cx.b.bmm(va, vb, {}, direct ? out(cx) : fresh(cx, `mm`));
    if (direct) return [dyn(y)];
    const ys = y.type.shape;
    const t = ys.filter(
      (_, i) =>
        !((sa.length === 1 && i === ys.length - 2) || (sb.length === 1 && i === ys.length - 1)),
    );
    return [dyn(cx.b.reshape(y, t, out(cx)))];
  },
  Gemm: (ins, cx) => {
    const [a, b, c] = [need(cx, ins, 0), need(cx, ins, 1), ins[2]];
    const alpha = attrFloat(cx, 'alpha', 1);
    const beta = attrFloat(cx, 'beta', 1);
    const ta = attrInt(cx, 'transA', 0) === 1;
    const tb = attrInt(cx, 'transB', 0) === 1;
    const n = shapeOf(b)[tb ? 0 : 1];
    // x·Wᵀ + b with W [out, in] and b [out]: PyTorch's Linear, as the linear op.
    if (
      !ta &&
      tb &&
      alpha === 1 &&
      beta === 1 &&
      c &&
      shapeOf(c).length === 1 &&
      shapeOf(c)[0] === n
    )
      return [dyn(cx.b.linear(val(cx, a, 'x'), val(cx, b, 'weight'), val(cx, c, 'bias'), out(cx)))];
    let y = cx.b.bmm(
      val(cx, a, 'a'),
      val(cx, b, 'b'),
      { transpose_a: ta, transpose_b: tb },
      fresh(cx, `mm`),
    );
    if (alpha !== 1) y = cx.b.op('scale', [y], { factor: alpha }, fresh(cx, `alpha`));
    if (c) {
      let vc = val(cx, c, 'c');
      if (beta !== 1) vc = cx.b.op('scale', [vc], { factor: beta }, fresh(cx, `beta`));
      y = cx.b.op('add', [y, vc], {}, out(cx));
    }
    return [dyn(y)];
  },
  Softmax: (ins, cx) => [
    dyn(
      cx.b.op('softmax', [val(cx, need(cx, ins, 0))], { axis: attrInt(cx, 'axis', -1) }, out(cx)),
    ),
  ],
  Attention: attentionOp,
  Trilu: (ins, cx) => {
    const x = need(cx, ins, 0);
    const k = ins[1] ? ints(needConst(cx, ins, 1, 'k'))[0]! : 0;
    const upper = attrInt(cx, 'upper', 1) === 1;
    const vx = val(cx, x);
    // Keep j - i ≤ k (lower) or j - i ≥ k (upper: the complement of j - i ≤ k - 1).
    const lower = cx.b.op('tril', [vx], { k: upper ? k - 1 : k }, fresh(cx, `tri`));
    const keep = upper ? cx.b.op('not', [lower], {}, fresh(cx, `keep`)) : lower;
    const zero = cx.b.constant(0, vx.type.dtype, [], fresh(cx, `zero`));
    return [dyn(cx.b.op('where', [keep, vx, zero], {}, out(cx)))];
  },
  ReduceSum: reduce('reduce_sum'),
  ReduceMean: reduce('reduce_mean'),
  ReduceMax: reduce('reduce_max'),
  LayerNormalization: (ins, cx) => {
    const x = need(cx, ins, 0);
    const r = shapeOf(x).length;
    const ax = normAxis(attrInt(cx, 'axis', -1), r);
    if (ax === undefined) unsupported(cx, `axis out of range for rank ${r}`);
    const eps = attrFloat(cx, 'epsilon', 1e-5);
    const norm = shapeOf(x).slice(ax);
    const fits = (o: Operand | undefined) =>
      o !== undefined &&
      shapeOf(o).length === norm.length &&
      shapeOf(o).every((d, i) => d === norm[i]);
    const [w, bias] = [ins[1], ins[2]];
    if ((w && !fits(w)) || (bias && !fits(bias)))
      unsupported(
        cx,
        `scale/bias not of the normalised shape [${norm.join(',')}] are not supported`,
      );
    if (!w && bias) unsupported(cx, 'a bias without a scale');
    const vx = val(cx, x);
    const args = [
      vx,
      ...(w ? [val(cx, w, 'scale')] : []),
      ...(bias ? [val(cx, bias, 'bias')] : []),
    ];
    const y = cx.b.op('layer_norm', args, { axis: ax, eps }, out(cx));
    if (!cx.outputs[1] && !cx.outputs[2]) return [dyn(y)];
    // The optional Mean and InvStdDev outputs (kept dims), spelled out: mean, then
    // 1/√(mean((x - mean)²) + eps) as layer_norm computes them.
    const axes = Array.from({ length: r - ax }, (_, i) => ax + i);
    const mean = cx.b.op(
      'reduce_mean',
      [vx],
      { axes, keepdims: true },
      cx.outputs[1] || fresh(cx, 'mean'),
    );
    const d = cx.b.op('sub', [vx, mean], {}, fresh(cx, 'centred'));
    const v = cx.b.op(
      'reduce_mean',
      [cx.b.op('mul', [d, d], {}, fresh(cx, 'sq'))],
      { axes, keepdims: true },
      fresh(cx, 'var'),
    );
    const e = cx.b.constant(eps, vx.type.dtype, [], fresh(cx, 'eps'));
    const one = cx.b.constant(1, vx.type.dtype, [], fresh(cx, 'one'));
    const inv = cx.b.op(
      'div',
      [one, cx.b.op('sqrt', [cx.b.op('add', [v, e], {}, fresh(cx, 'vare'))], {}, fresh(cx, 'std'))],
      {},
      cx.outputs[2] || fresh(cx, 'inv'),
    );
    return [dyn(y), dyn(mean), dyn(inv)];
  },
};

function reduce(op: 'reduce_sum' | 'reduce_mean' | 'reduce_max'): Converter {
  return (ins, cx) => {
    const x = need(cx, ins, 0);
    const r = shapeOf(x).length;
    const keepdims = attrInt(cx, 'keepdims', 1) === 1;
    let axes = axesOf(cx, ins, 1, r);
    if (axes === undefined || axes.length === 0) {
      if (attrInt(cx, 'noop_with_empty_axes', 0) === 1) return [x];
      axes = Array.from({ length: r }, (_, i) => i);
    }
    return [dyn(cx.b.op(op, [val(cx, x)], { axes, keepdims }, out(cx)))];
  };
}

/**
 * ONNX Attention (opsets 23 and 24) onto the fused attention op, following the operator's
 * function: scores = softcap(scale·Q·Kᵀ) + bias, bias = mask (bool → 0/-inf, padded with
 * -inf / false when shorter than the keys) + causal + nonpad padding; rows whose bias is
 * -inf for every key get weights 0 (masked_rows=mask). 3-D inputs ([B, S, heads·d], with
 * q_num_heads/kv_num_heads) become [B, heads, S, d]; past_key/past_value are prepended to
 * K/V (present_key/value are those concatenations). is_causal is aligned top-left without
 * a cache, offset by the past length with past_key, and per batch by nonpad_kv_seqlen[b] − S_q
 * with nonpad_kv_seqlen alone (a boolean mask built from it). qk_matmul_output (modes 0–3:
 * scaled Q·Kᵀ, softcapped, plus bias, softmax) is computed unfused when asked for.
 */
function attentionOp(ins: readonly (Operand | undefined)[], cx: Cx): Operand[] {
  const [q, k, v] = [need(cx, ins, 0), need(cx, ins, 1), need(cx, ins, 2)];
  const [mask, pastK, pastV, nonpad] = [ins[3], ins[4], ins[5], ins[6]];
  if ((pastK === undefined) !== (pastV === undefined))
    unsupported(cx, 'needs both past_key and past_value, or neither');
  const mode = attrInt(cx, 'qk_matmul_output_mode', 0);
  if (cx.outputs[3] && !(mode >= 0 && mode <= 3))
    unsupported(cx, `qk_matmul_output_mode ${mode} is not one of 0–3`);
  const b = cx.b;
  const threeD = shapeOf(q).length === 3;
  // [B, S, H·d] → [B, H, S, d]
  const to4 = (x: Operand, heads: number, hint: string): Val => {
    const vx = val(cx, x, hint);
    if (vx.type.shape.length === 4) return vx;
    if (vx.type.shape.length !== 3 || !(heads > 0))
      unsupported(
        cx,
        `${hint} must be 4-D, or 3-D with ${hint === 'q' ? 'q' : 'kv'}_num_heads set`,
      );
    const [B, S] = vx.type.shape as [Dim, Dim];
    return b.transpose(
      b.reshape(vx, [B, S, heads, -1], fresh(cx, `${hint}_heads`)),
      [0, 2, 1, 3],
      fresh(cx, `${hint}_bhsd`),
    );
  };
  const q4 = to4(q, attrInt(cx, 'q_num_heads', 0), 'q');
  let k4 = to4(k, attrInt(cx, 'kv_num_heads', 0), 'k');
  let v4 = to4(v, attrInt(cx, 'kv_num_heads', 0), 'v');
  if (pastK && pastV) {
    const cat = (past: Operand, x: Val, i: number, hint: string) =>
      b.op(
        'concat',
        [val(cx, past, `past_${hint}`), x],
        { axis: 2 },
        cx.outputs[i] || fresh(cx, `present_${hint}`),
      );
    k4 = cat(pastK, k4, 1, 'key');
    v4 = cat(pastV, v4, 2, 'value');
  }
  const [T, total] = [q4.type.shape[2]!, k4.type.shape[2]!];
  const causal = attrInt(cx, 'is_causal', 0) === 1;
  let m = mask ? fullMask(cx, val(cx, mask, 'mask'), total) : undefined;
  const withMask = (keep: Val) => (m = m === undefined ? keep : combineMasks(cx, m, keep));
  // The causal frontier: key j is visible from query i when j ≤ i + offset; offset 0 without
  // a cache (the op's top_left), the past length with past_key (bottom_right when the new
  // keys are as many as the queries, else a mask), nonpad[b] − T per batch (a mask).
  let causalAttr: 'none' | 'top_left' | 'bottom_right' = 'none';
  if (causal && pastK) {
    const P = shapeOf(pastK)[2]!;
    if (total === P || shapeOf(k)[shapeOf(k).length - 2] === T) causalAttr = 'bottom_right';
    else withMask(frontierMask(cx, T, total, P));
  } else if (causal && !nonpad) causalAttr = 'top_left';
  if (nonpad)
    withMask(nonpadMask(cx, val(cx, nonpad, 'nonpad_kv_seqlen'), T, total, causal && !pastK));
  const scale = cx.attrs.has('scale') ? attrFloat(cx, 'scale', 1) : undefined;
  const softcap = attrFloat(cx, 'softcap', 0);
  const attrs = {
    causal: causalAttr,
    softcap,
    masked_rows: 'mask',
    ...(scale !== undefined ? { scale } : {}),
  } as const;
  let y = b.op(
    'attention',
    m ? [q4, k4, v4, m] : [q4, k4, v4],
    attrs,
    threeD ? fresh(cx, 'y_bhsd') : out(cx),
  );
  if (threeD) {
    const t = b.transpose(y, [0, 2, 1, 3], fresh(cx, 'y_bshd'));
    const [B, S] = t.type.shape as [Dim, Dim];
    y = b.reshape(t, [B, S, -1], out(cx));
  }
  const outs: Operand[] = [dyn(y), dyn(k4), dyn(v4)];
  if (cx.outputs[3]) outs.push(dyn(qkOutput(cx, mode, q4, k4, m, attrs)));
  return outs;
}

/** The mask padded to `total` keys with -inf / false (ONNX allows a shorter one). */
function fullMask(cx: Cx, m: Val, total: Dim): Val {
  const ms = m.type.shape;
  const last = ms[ms.length - 1];
  if (typeof last !== 'number' || typeof total !== 'number' || last >= total) return m;
  const pad = [...ms.slice(0, -1), total - last];
  if (pad.some((d) => typeof d !== 'number')) unsupported(cx, 'a short mask with symbolic dims');
  const fill = m.type.dtype === 'bool' ? 0 : -Infinity;
  const b = cx.b;
  return b.op(
    'concat',
    [m, b.constant(fill, m.type.dtype, pad as number[], fresh(cx, `mask_pad`))],
    { axis: -1 },
    fresh(cx, `mask_full`),
  );
}

/**
 * keep[b, 0, i, j] = j < nonpad[b] (and, causal, j ≤ i + nonpad[b] − T): bool [B, 1, T|1, S],
 * from constant index grids compared with nonpad reshaped to [B, 1, 1, 1].
 */
function nonpadMask(cx: Cx, nonpad: Val, T: Dim, S: Dim, causal: boolean): Val {
  const b = cx.b;
  const dt = nonpad.type.dtype;
  if (!isIntType(dt) || nonpad.type.shape.length !== 1)
    unsupported(
      cx,
      `nonpad_kv_seqlen must be a 1-D integer tensor, got ${dt}[${nonpad.type.shape.join(',')}]`,
    );
  if (typeof T !== 'number' || typeof S !== 'number')
    unsupported(cx, `nonpad_kv_seqlen with symbolic sequence lengths (${T}, ${S})`);
  const n = b.reshape(nonpad, [nonpad.type.shape[0]!, 1, 1, 1], fresh(cx, 'nonpad4'));
  const iota = Array.from({ length: S }, (_, j) => j);
  const pad = b.op(
    'less',
    [b.constant(iota, dt, [S], fresh(cx, 'key_index')), n],
    {},
    fresh(cx, 'nonpad_keys'),
  );
  if (!causal) return pad;
  // j ≤ i + nonpad − T  ⟺  j − i + T − 1 < nonpad
  const grid = Array.from({ length: T * S }, (_, x) => (x % S) - Math.floor(x / S) + T - 1);
  const frontier = b.op(
    'less',
    [b.constant(grid, dt, [T, S], fresh(cx, 'causal_index')), n],
    {},
    fresh(cx, 'nonpad_causal'),
  );
  return b.op('and', [pad, frontier], {}, fresh(cx, 'nonpad_mask'));
}

/** bool [T, S]: j ≤ i + offset (a causal frontier the op's two alignments do not express). */
function frontierMask(cx: Cx, T: Dim, S: Dim, offset: Dim): Val {
  if (typeof T !== 'number' || typeof S !== 'number' || typeof offset !== 'number')
    unsupported(cx, `is_causal with a past of symbolic length and ${T} queries ≠ new keys`);
  const grid = Array.from({ length: T * S }, (_, x) =>
    x % S <= Math.floor(x / S) + offset ? 1 : 0,
  );
  return cx.b.constant(grid, 'bool', [T, S], fresh(cx, `causal`));
}

/** A user mask and a boolean keep-mask: `and` for bool, + where(keep, 0, -inf) for additive. */
function combineMasks(cx: Cx, m: Val, keep: Val): Val {
  const b = cx.b;
  if (m.type.dtype === 'bool') return b.op('and', [m, keep], {}, fresh(cx, 'mask_all'));
  return b.op('add', [m, additive(cx, keep, m.type.dtype)], {}, fresh(cx, 'mask_all'));
}

/** bool → 0 where true, -inf where false (ONNX's conversion of boolean masks). */
function additive(cx: Cx, m: Val, dtype: DType): Val {
  const b = cx.b;
  return b.op(
    'where',
    [
      m,
      b.constant(0, dtype, [], fresh(cx, 'zero')),
      b.constant(-Infinity, dtype, [], fresh(cx, 'ninf')),
    ],
    {},
    fresh(cx, 'bias'),
  );
}

/**
 * qk_matmul_output, unfused, in the function's order: 0 the scaled Q·Kᵀ, 1 after softcap,
 * 2 plus the bias (mask and causal), 3 the softmax with fully masked rows 0.
 */
function qkOutput(
  cx: Cx,
  mode: number,
  q4: Val,
  k4: Val,
  m: Val | undefined,
  a: { causal: 'none' | 'top_left' | 'bottom_right'; softcap: number; scale?: number },
): Val {
  const b = cx.b;
  const name = (last: number) => (mode === last ? cx.outputs[3]! : fresh(cx, `qk${last}`));
  const [Hq, Hkv] = [q4.type.shape[1]!, k4.type.shape[1]!];
  let kq = k4;
  if (Hq !== Hkv) {
    // GQA: query head h reads kv head ⌊h / g⌋ — repeat each kv head g times.
    if (typeof Hq !== 'number' || typeof Hkv !== 'number')
      unsupported(cx, 'qk_matmul_output with symbolic head counts');
    const [B, , S, d] = k4.type.shape as [Dim, Dim, Dim, Dim];
    const g = Hq / Hkv;
    const r5 = b.reshape(k4, [B, Hkv, 1, S, d], fresh(cx, 'k_rep5'));
    kq = b.reshape(
      b.op('expand', [r5], { shape: [B, Hkv, g, S, d] }, fresh(cx, 'k_repx')),
      [B, Hq, S, d],
      fresh(cx, 'k_rep'),
    );
  }
  const dh = q4.type.shape[3] as number;
  const qk = b.bmm(q4, kq, { transpose_b: true }, fresh(cx, 'qk'));
  let x = b.op('scale', [qk], { factor: a.scale ?? 1 / Math.sqrt(dh) }, name(0));
  if (mode === 0) return x;
  if (a.softcap > 0) {
    const t = b.op(
      'tanh',
      [b.op('scale', [x], { factor: 1 / a.softcap }, fresh(cx, 'qk_capin'))],
      {},
      fresh(cx, 'qk_tanh'),
    );
    x = b.op('scale', [t], { factor: a.softcap }, name(1));
  }
  if (mode === 1) return x;
  // The bias: the (additive) mask plus the causal -inf triangle.
  let bias = m && (m.type.dtype === 'bool' ? additive(cx, m, x.type.dtype) : m);
  if (a.causal !== 'none') {
    const [T, S] = x.type.shape.slice(2) as [Dim, Dim];
    const k =
      a.causal === 'top_left'
        ? 0
        : typeof T === 'number' && typeof S === 'number'
          ? S - T
          : undefined;
    if (k === undefined) unsupported(cx, 'qk_matmul_output with a cache of symbolic length');
    const tri = additive(cx, b.op('tril', [x], { k }, fresh(cx, 'causal')), x.type.dtype);
    bias = bias ? b.op('add', [bias, tri], {}, fresh(cx, 'bias_all')) : tri;
  }
  if (bias) x = b.op('add', [x, bias], {}, name(2));
  if (mode === 2) return x;
  const p = b.op('softmax', [x], { axis: -1 }, bias ? fresh(cx, 'qk_softmax') : name(3));
  if (!bias) return p;
  const r = bias.type.shape.length;
  const rowMax = b.op(
    'reduce_max',
    [bias],
    { axes: [r - 1], keepdims: true },
    fresh(cx, 'bias_rowmax'),
  );
  const none = b.op(
    'equal',
    [rowMax, b.constant(-Infinity, x.type.dtype, [], fresh(cx, 'ninf'))],
    {},
    fresh(cx, 'row_masked'),
  );
  return b.op('where', [none, b.constant(0, x.type.dtype, [], fresh(cx, 'zero')), p], {}, name(3));
}
