import type { AttrsOf, BinaryOp, Dim, Graph, Node, OpName, TensorType } from '@glimpse/ir';
import {
  BINARY_OPS,
  constantValues,
  forOps,
  fromNumbers,
  paramTensor,
  paramValues,
  rotaryDim,
  UnsupportedError,
  withWhere,
} from '@glimpse/ir';
import type { NodeProto, TensorProto } from './proto.js';
import { onnx } from './proto.js';
import { ONNX_OF, tensorToProto } from './tensor.js';
import type { NamedOp } from './names.js';
import { NAMED_OPS, ONNX_NAMES } from './names.js';

/** The opset exports are written for: the first with the Attention operator. */
export const EXPORT_OPSET = 23;

/** What an op's exporter sees: its node and helpers that add ONNX nodes and constants. */
interface Ex {
  readonly node: Node;
  readonly g: Graph;
  readonly type: (v: string) => TensorType;
  /** Add an ONNX node; returns its output name (`out`, or a fresh one). */
  emit(
    op: string,
    inputs: readonly string[],
    attrs?: Record<string, unknown>,
    out?: string,
  ): string;
  /** A constant tensor as an initializer; returns its name. */
  constant(dtype: TensorType['dtype'], shape: readonly number[], values: readonly number[]): string;
}

type Exporter<K extends OpName> = (a: AttrsOf<K>, x: Ex) => void;

function unsupported(x: Ex, what: string): never {
  throw new UnsupportedError(`cannot export to ONNX: ${what}`, {
    node: x.node.outputs[0]!,
    op: x.node.op,
  });
}

const ints64 = (vs: readonly number[]) => vs;
const out = (x: Ex, i = 0) => x.node.outputs[i]!;
const ins = (x: Ex) => x.node.inputs;
const rank = (x: Ex, v: string) => x.type(v).shape.length;

/** Swap the last two axes (a transposed matmul operand). */
function swapLast(x: Ex, v: string): string {
  const r = rank(x, v);
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return x.emit('Transpose', [v], { perm });
}

/** A reshape target ONNX can read: symbols as 0 (copy the input dim there) or one -1. */
function reshapeShape(x: Ex, from: readonly Dim[], to: readonly Dim[]): number[] {
  let holes = to.filter((d) => d === -1).length;
  return to.map((d, i) => {
    if (typeof d === 'number')
      return d === 0 ? (typeof from[i] === 'number' ? (from[i] as number) : 0) : d;
    if (from[i] === d) return 0;
    if (holes === 0) {
      holes++;
      return -1;
    }
    return unsupported(x, `reshape to [${to.join(',')}] needs symbolic arithmetic`);
  });
}

/** An op written as the ONNX operator `op` with the same inputs. */
const sameInputs = (op: string) => (_a: unknown, x: Ex) => void x.emit(op, ins(x), {}, out(x));

/** The postfix program of a fused elementwise node, written out as ONNX nodes. */
function program(p: readonly (number | string)[], x: Ex): void {
  const dtype = x.type(out(x)).dtype;
  const stack: string[] = [];
  p.forEach((tok, i) => {
    const last = i === p.length - 1 ? out(x) : undefined;
    if (typeof tok === 'number') stack.push(x.constant(dtype, [], [tok]));
    else if (tok.startsWith('$')) stack.push(ins(x)[Number(tok.slice(1))]!);
    else if ((BINARY_OPS as readonly string[]).includes(tok)) {
      const b = stack.pop()!;
      const a = stack.pop()!;
      stack.push(binaryOnnx(x, tok as BinaryOp, [a, b], last));
    } else if (tok === 'gelu_tanh')
      stack.push(x.emit('Gelu', [stack.pop()!], { approximate: 'tanh' }, last));
    else stack.push(x.emit(ONNX_NAMES[tok as NamedOp], [stack.pop()!], {}, last));
  });
}

/** A binary op as ONNX: its operator, or Mod with fmod for the remainders. */
function binaryOnnx(x: Ex, op: BinaryOp, operands: string[], name?: string): string {
  if (op !== 'mod' && op !== 'fmod') return x.emit(ONNX_NAMES[op], operands, {}, name);
  // ONNX's Mod takes fmod=0 (the sign of b) on integers only.
  if (op === 'mod' && !['i32', 'i64'].includes(x.type(operands[0]!).dtype))
    unsupported(x, 'mod (the sign of b) on floats: ONNX Mod requires fmod=1 for floats');
  return x.emit('Mod', operands, { fmod: op === 'fmod' ? 1 : 0 }, name);
}

function argReduce(op: string, a: AttrsOf<'argmax'>, x: Ex) {
  const attrs = {
    axis: a.axis,
    keepdims: a.keepdims ? 1 : 0,
    select_last_index: a.select_last ? 1 : 0,
  };
  x.emit(op, ins(x), attrs, out(x));
}

/** LayerNormalization / RMSNormalization: the scale input is required (ones without a weight). */
function normalization(op: string, a: { axis: number; eps: number }, x: Ex) {
  const [v, w, b] = ins(x);
  const t = x.type(v!);
  const norm = t.shape.slice(a.axis < 0 ? a.axis + t.shape.length : a.axis);
  if (!w && norm.some((d) => typeof d !== 'number'))
    unsupported(x, `${x.node.op} without a weight over symbolic axes`);
  const n = (norm as number[]).reduce((p, d) => p * d, 1);
  const scale = w ?? x.constant(t.dtype, norm as number[], new Array<number>(n).fill(1));
  x.emit(op, b ? [v!, scale, b] : [v!, scale], { axis: a.axis, epsilon: a.eps }, out(x));
}

/**
 * rotary as the ops exporters write it: x·cos + rotated·sin on the rotated features, each
 * product and the sum in that order (rotated: Concat(Neg(x₂), x₁), or for interleaved
 * pairs the even and odd features by steps of 2, put back side by side), the rest appended.
 */
function rotaryExport(a: AttrsOf<'rotary'>, x: Ex) {
  const [v, cos, sin] = ins(x) as [string, string, string];
  const t = x.type(v);
  const r = t.shape.length;
  const d = t.shape[r - 1] as number;
  const R = rotaryDim(a, d);
  const cut = (u: string, start: number, end: number, step = 1) =>
    x.emit('Slice', [u, ...[start, end, -1, step].map((k) => x.constant('i64', [1], [k]))]);
  const turn = (u: string, c: string, p: string, s: string, negate: boolean, o?: string) =>
    x.emit(
      'Add',
      [x.emit('Mul', [u, c]), x.emit('Mul', [negate ? x.emit('Neg', [p]) : p, s])],
      {},
      o,
    );
  const y = R === d ? out(x) : undefined;
  const xr = R === d ? v : cut(v, 0, R);
  let rot: string;
  if (!a.interleaved) {
    const halves = [x.emit('Neg', [cut(xr, R / 2, R)]), cut(xr, 0, R / 2)];
    const swapped = x.emit('Concat', halves, { axis: -1 });
    rot = turn(xr, cos, swapped, sin, false, y);
  } else {
    // An angle of width 1 (or a scalar) broadcasts; one of width R is read at the even or
    // odd features.
    const at = (c: string, k: number) =>
      (x.type(c).shape.at(-1) ?? 1) === 1 ? c : cut(c, k, R, 2);
    const [even, odd] = [cut(xr, 0, R, 2), cut(xr, 1, R, 2)];
    const last = x.constant('i64', [1], [-1]);
    const pair = [
      turn(even, at(cos, 0), odd, at(sin, 0), true),
      turn(odd, at(cos, 1), even, at(sin, 1), false),
    ].map((u) => x.emit('Unsqueeze', [u, last]));
    // [..., R/2, 2] back to [..., R]: 0 keeps a dim of the input (symbolic ones too).
    const keep = x.constant('i64', [r], [...new Array<number>(r - 1).fill(0), R]);
    rot = x.emit('Reshape', [x.emit('Concat', pair, { axis: -1 }), keep], {}, y);
  }
  if (R < d) x.emit('Concat', [rot, cut(v, R, d)], { axis: -1 }, out(x));
}

const EXPORTERS: { [K in OpName]: Exporter<K> } = {
  // The ops that are one ONNX operator each (names.ts).
  ...forOps(NAMED_OPS, (op) => sameInputs(ONNX_NAMES[op])),
  linear: (_a, x) => {
    const [v, w, b] = ins(x);
    const y = x.emit(
      'MatMul',
      [v!, x.emit('Transpose', [w!], { perm: [1, 0] })],
      {},
      b ? undefined : out(x),
    );
    if (b) x.emit('Add', [y, b], {}, out(x));
  },
  bmm: (a, x) => {
    const [p, q] = ins(x);
    x.emit(
      'MatMul',
      [a.transpose_a ? swapLast(x, p!) : p!, a.transpose_b ? swapLast(x, q!) : q!],
      {},
      out(x),
    );
  },
  softmax: (a, x) => void x.emit('Softmax', ins(x), { axis: a.axis }, out(x)),
  scale: (a, x) =>
    void x.emit('Mul', [ins(x)[0]!, x.constant(x.type(out(x)).dtype, [], [a.factor])], {}, out(x)),
  transpose: (a, x) => void x.emit('Transpose', ins(x), { perm: [...a.perm] }, out(x)),
  reshape: (a, x) => {
    const target = reshapeShape(x, x.type(ins(x)[0]!).shape, x.type(out(x)).shape);
    void a;
    x.emit('Reshape', [ins(x)[0]!, x.constant('i64', [target.length], target)], {}, out(x));
  },
  where: sameInputs('Where'),
  mod: (_a, x) => void binaryOnnx(x, 'mod', [...ins(x)], out(x)),
  fmod: (_a, x) => void binaryOnnx(x, 'fmod', [...ins(x)], out(x)),
  gelu_tanh: (_a, x) => void x.emit('Gelu', ins(x), { approximate: 'tanh' }, out(x)),
  embedding: (_a, x) => void x.emit('Gather', [ins(x)[1]!, ins(x)[0]!], { axis: 0 }, out(x)),
  gather: (a, x) => void x.emit('Gather', ins(x), { axis: a.axis }, out(x)),
  gather_elements: (a, x) => void x.emit('GatherElements', ins(x), { axis: a.axis }, out(x)),
  // Σₖ x[idx]·w as ONNX states it: a zero row appended, −1 pointing at it, the window
  // gathered, multiplied by w and summed over k (the sum's order is then ONNX's).
  depthwise: (_a, x) => {
    const [v, idx, w, b] = ins(x);
    const [N, S, C] = x.type(v!).shape;
    if (typeof N !== 'number' || typeof S !== 'number' || typeof C !== 'number')
      unsupported(x, 'depthwise over symbolic shapes');
    const xz = x.emit(
      'Concat',
      [v!, x.constant(x.type(v!).dtype, [N, 1, C], new Array<number>(N * C).fill(0))],
      { axis: 1 },
    );
    const it = x.type(idx!).dtype;
    const neg = x.emit('Less', [idx!, x.constant(it, [], [0])]);
    const at = x.emit('Where', [neg, x.constant(it, [], [S]), idx!]);
    const f = x.emit('Gather', [xz, at], { axis: 1 });
    const s = x.emit(
      'ReduceSum',
      [x.emit('Mul', [f, w!]), x.constant('i64', [1], [2])],
      { keepdims: 0 },
      b ? undefined : out(x),
    );
    if (b) x.emit('Add', [s, b], {}, out(x));
  },
  concat: (a, x) => void x.emit('Concat', ins(x), { axis: a.axis }, out(x)),
  split: (a, x) => {
    const sizes = x.constant('i64', [a.sizes.length], a.sizes);
    x.emit('Split', [ins(x)[0]!, sizes], { axis: a.axis }, x.node.outputs.join('\u0000'));
  },
  slice: (a, x) => {
    const c = (v: number) => x.constant('i64', [1], [v]);
    x.emit('Slice', [ins(x)[0]!, c(a.start), c(a.end), c(a.axis)], {}, out(x));
  },
  reduce_sum: (a, x) => reduce('ReduceSum', a, x),
  reduce_mean: (a, x) => reduce('ReduceMean', a, x),
  reduce_max: (a, x) => reduce('ReduceMax', a, x),
  argmax: (a, x) => argReduce('ArgMax', a, x),
  argmin: (a, x) => argReduce('ArgMin', a, x),
  cumsum: (a, x) =>
    void x.emit(
      'CumSum',
      [ins(x)[0]!, x.constant('i64', [], [a.axis])],
      { exclusive: a.exclusive ? 1 : 0, reverse: a.reverse ? 1 : 0 },
      out(x),
    ),
  topk: (a, x) =>
    void x.emit(
      'TopK',
      [ins(x)[0]!, x.constant('i64', [1], [a.k])],
      { axis: a.axis, largest: a.largest ? 1 : 0, sorted: 1 },
      x.node.outputs.join('\u0000'),
    ),
  layer_norm: (a, x) => normalization('LayerNormalization', a, x),
  // RMSNormalization: ONNX's own from opset 23 (the export's opset).
  rms_norm: (a, x) => normalization('RMSNormalization', a, x),
  cast: (a, x) => void x.emit('Cast', ins(x), { to: ONNX_OF[a.to] }, out(x)),
  constant: (a, x) => {
    x.emit(
      'Constant',
      [],
      { value: tensorToProto(fromNumbers(a.dtype, a.shape, constantValues(a)), '') },
      out(x),
    );
  },
  tril: (a, x) => {
    const v = ins(x)[0]!;
    const r = rank(x, v);
    // All-true bool [R, C] over x's last two (possibly symbolic) dims, without Shape
    // arithmetic: reduce the leading axes away, then ¬(t < t) (true for NaN as well).
    const t =
      r > 2
        ? x.emit('ReduceMax', [v, x.constant('i64', [r - 2], [...Array(r - 2).keys()])], {
            keepdims: 0,
          })
        : v;
    const ones = x.emit('Not', [x.emit('Less', [t, t])]);
    x.emit('Trilu', [ones, x.constant('i64', [], [a.k])], { upper: 0 }, out(x));
  },
  expand: (a, x) => {
    if (a.shape.some((d) => typeof d !== 'number')) unsupported(x, 'expand to a symbolic shape');
    x.emit(
      'Expand',
      [ins(x)[0]!, x.constant('i64', [a.shape.length], a.shape as number[])],
      {},
      out(x),
    );
  },
  elementwise: (a, x) => program(a.program, x),
  rotary: rotaryExport,
  attention: (a, x) => {
    const [q, k, v, m] = ins(x);
    const tq = x.type(q!);
    const r = tq.shape.length;
    const T = a.layout === 'bshd' ? tq.shape[1] : tq.shape[r - 2];
    const S = a.layout === 'bshd' ? x.type(k!).shape[1] : x.type(k!).shape[r - 2];
    // ONNX aligns a causal mask top-left without a KV cache; bottom-right equals it when T = S.
    if (a.causal === 'bottom_right' && T !== S)
      unsupported(x, 'a bottom-right causal mask with T ≠ S');
    if (a.causal !== 'none' && a.causal_fill !== -Infinity)
      unsupported(x, `a causal mask with causal_fill ${a.causal_fill} (ONNX's is -inf)`);
    // ONNX Attention is masked_rows 'mask' (a row whose every key is masked has weights 0);
    // 'nan' and 'zero' agree with it where no row is fully masked.
    if (a.masked_rows !== 'mask' && m !== undefined && !noRowFullyMasked(x, m, a.causal !== 'none'))
      unsupported(
        x,
        `masked_rows '${a.masked_rows}' with a mask that may mask a whole row (ONNX Attention gives weights 0 there, as masked_rows 'mask' does)`,
      );
    if (m !== undefined && x.type(m).dtype === 'bool' && a.mask_fill !== -Infinity)
      unsupported(x, `a boolean mask with mask_fill ${a.mask_fill} (ONNX fills with -inf)`);
    // Rank 2 and 3 (no head axis, no batch) gain leading axes: ONNX Attention is 3-D or 4-D by heads.
    const lift = [...Array(4 - r).keys()].map((i) => (r === 3 ? 1 : i));
    const up = (v0: string) =>
      lift.length ? x.emit('Unsqueeze', [v0, x.constant('i64', [lift.length], lift)]) : v0;
    const bhsd = (v0: string) =>
      a.layout === 'bshd' ? x.emit('Transpose', [v0], { perm: [0, 2, 1, 3] }) : up(v0);
    const attrs: Record<string, unknown> = { is_causal: a.causal === 'none' ? 0 : 1 };
    if (a.scale !== undefined) attrs.scale = a.scale;
    if (a.softcap > 0) attrs.softcap = a.softcap;
    // A mask of q's rank lines up with the scores only with the same axes added.
    const mk = m !== undefined && rank(x, m) === r && r < 4 ? up(m) : m;
    const args = [bhsd(q!), bhsd(k!), bhsd(v!), ...(mk ? [mk] : [])];
    if (a.layout === 'bshd')
      x.emit('Transpose', [x.emit('Attention', args, attrs)], { perm: [0, 2, 1, 3] }, out(x));
    else if (lift.length)
      x.emit(
        'Squeeze',
        [x.emit('Attention', args, attrs), x.constant('i64', [lift.length], lift)],
        {},
        out(x),
      );
    else x.emit('Attention', args, attrs, out(x));
  },
};

/**
 * Whether a constant mask (a `constant` node or a param) leaves every score row at least
 * one visible key, with the causal triangle (top-left) applied too. Masks computed at run
 * time cannot be checked: false.
 */
function noRowFullyMasked(x: Ex, m: string, causal: boolean): boolean {
  const prod = x.g.nodes.find((n) => n.outputs.includes(m));
  const param = x.g.params.find((p) => p.name === m);
  let vals: ArrayLike<number>;
  if (prod?.op === 'constant') {
    vals = constantValues(prod.attrs as unknown as AttrsOf<'constant'>);
  } else if (param) vals = paramValues(param, x.g.seed);
  else return false;
  const shape = x.type(m).shape as number[];
  const [R, C] =
    shape.length >= 2 ? [shape[shape.length - 2]!, shape[shape.length - 1]!] : [1, shape[0] ?? 1];
  const bool = x.type(m).dtype === 'bool';
  for (let base = 0; base < vals.length; base += R * C)
    for (let i = 0; i < R; i++) {
      let any = false;
      for (let j = 0; j < C && !any; j++) {
        const v = vals[base + i * C + j]!;
        any = (bool ? v !== 0 : v > -Infinity) && (!causal || j <= i);
      }
      if (!any) return false;
    }
  return true;
}

function reduce(op: string, a: AttrsOf<'reduce_sum'>, x: Ex): void {
  x.emit(
    op,
    [ins(x)[0]!, x.constant('i64', [a.axes.length], ints64(a.axes))],
    { keepdims: a.keepdims ? 1 : 0 },
    out(x),
  );
}

function attribute(name: string, v: unknown): import('onnx-proto').onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number')
    return Number.isInteger(v) && !name.match(/^(alpha|beta|epsilon|scale|softcap)$/)
      ? { name, type: A.INT, i: v }
      : { name, type: A.FLOAT, f: v };
  if (Array.isArray(v)) return { name, type: A.INTS, ints: v as number[] };
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  return { name, type: A.TENSOR, t: v as TensorProto };
}

function valueInfo(name: string, t: TensorType) {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_OF[t.dtype],
        shape: {
          dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

/**
 * A glimpse graph as an ONNX model (opset 23): standard ops, the fused `attention` as ONNX
 * Attention, params as initializers. Refuses (UnsupportedError naming the node) what ONNX
 * cannot state exactly.
 */
export function exportOnnx(g: Graph): Uint8Array {
  const nodes: NodeProto[] = [];
  // Params no node reads (left by folding) are not written.
  const read = new Set([...g.nodes.flatMap((n) => n.inputs), ...g.outputs]);
  const initializers: TensorProto[] = g.params
    .filter((p) => read.has(p.name))
    .map((p) => tensorToProto(paramTensor(p, g.seed), p.name));
  let fresh = 0;
  const taken = new Set(g.valueNames());
  const name = (hint: string) => {
    let n: string;
    do n = `${hint}_${fresh++}`;
    while (taken.has(n));
    taken.add(n);
    return n;
  };
  for (const node of g.nodes) {
    const x: Ex = {
      node,
      g,
      type: (v) => g.typeOf(v),
      emit: (op, inputs, attrs = {}, o) => {
        const outputs = o === undefined ? [name(`${node.outputs[0]}_${op}`)] : o.split('\u0000');
        nodes.push({
          opType: op,
          name: name(`${node.outputs[0]}_${op}_node`),
          input: [...inputs],
          output: outputs,
          attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
        });
        return outputs[0]!;
      },
      constant: (dtype, shape, values) => {
        const n = name(`${node.outputs[0]}_c`);
        initializers.push(tensorToProto(fromNumbers(dtype, shape, values), n));
        return n;
      },
    };
    try {
      (EXPORTERS[node.op] as Exporter<OpName>)(node.attrs as never, x);
    } catch (e) {
      throw withWhere(e, { node: node.outputs[0]!, op: node.op });
    }
  }
  return onnx.ModelProto.encode({
    irVersion: 10,
    producerName: 'glimpse',
    opsetImport: [{ domain: '', version: EXPORT_OPSET }],
    graph: {
      name: g.name,
      input: g.inputs.map((i) => valueInfo(i.name, i.type)),
      output: g.outputs.map((o) => valueInfo(o, g.typeOf(o))),
      initializer: initializers,
      node: nodes,
    },
  }).finish();
}
