import type { DType } from './dtype.js';
import { isInt } from './dtype.js';
import { RuntimeError, withWhere } from './errors.js';
import type { Graph, Node } from './graph.js';
import { paramValues } from './init.js';
import type { AttrsOf, CompareOp, OpName, ReduceKind, BinaryOp, UnaryOp } from './ops/index.js';
import {
  castScalar,
  compileProgram,
  matrixDims,
  BINARY_OPS,
  COMPARE_OPS,
  forOps,
  OPS,
  UNARY_OPS,
  reduceAxes,
  REDUCERS,
  constantValues,
  gatherElementsIndexer,
  sliceRange,
} from './ops/index.js';
import type { Binding } from './shape.js';
import { checkAllocation } from './budget.js';
import { broadcastStrides, normAxis, numel, stridesOf } from './shape.js';
import { bindInputs, concreteShapes } from './binding.js';
import type { Tensor } from './tensor.js';
import { fromNumbers, toNumbers } from './tensor.js';
import {
  argReduce,
  attentionRef,
  cumsumRef,
  lanes,
  normalise,
  rotaryRef,
  softmaxLane,
  topkRef,
} from './reference-nn.js';
import type { RefTensor } from './ref-tensor.js';
import { broadcastMap, forEachIndex, refTensor as t } from './ref-tensor.js';

export type { RefTensor } from './ref-tensor.js';
export { broadcastMap } from './ref-tensor.js';

type RefKernel<K extends OpName> = (
  ins: RefTensor[],
  attrs: AttrsOf<K>,
  outShapes: number[][],
  node: Node,
) => RefTensor[];

const binary =
  (op: BinaryOp): RefKernel<typeof op> =>
  (ins, _a, shapes) => {
    const f = OPS[op].binary(ins[0]!.dtype);
    return [broadcastMap(ins, shapes[0]!, ins[0]!.dtype, f)];
  };

const compare =
  (op: CompareOp): RefKernel<typeof op> =>
  (ins, _a, shapes) => [broadcastMap(ins, shapes[0]!, 'bool', OPS[op].compare)];

const unary =
  (op: UnaryOp): RefKernel<typeof op> =>
  (ins, attrs) => {
    const f = OPS[op].unary(attrs as never, ins[0]!.dtype);
    const x = ins[0]!;
    // The result's dtype as the op's definition infers it (a predicate's is bool).
    const [y] = OPS[op].infer([{ dtype: x.dtype, shape: x.shape }], attrs as never);
    return [t(y!.dtype, x.shape, x.data.map(f))];
  };

/** Naive matmul over broadcast batch dims; a and b given with their transpose flags. */
function matmul(
  a: RefTensor,
  b: RefTensor,
  ta: boolean,
  tb: boolean,
  outShape: number[],
): RefTensor {
  const [M, K] = matrixDims(a.shape, ta);
  const [, N] = matrixDims(b.shape, tb);
  const out = t(a.dtype, outShape);
  const batchShape = outShape.slice(0, -2);
  const sa = broadcastStrides(a.shape.slice(0, -2), batchShape).map(
    (s) => s * a.shape.at(-1)! * a.shape.at(-2)!,
  );
  const sb = broadcastStrides(b.shape.slice(0, -2), batchShape).map(
    (s) => s * b.shape.at(-1)! * b.shape.at(-2)!,
  );
  const aAt = (base: number, i: number, k: number) => a.data[base + (ta ? k * M + i : i * K + k)]!;
  const bAt = (base: number, k: number, j: number) => b.data[base + (tb ? j * K + k : k * N + j)]!;
  forEachIndex(batchShape, [sa, sb], (bi, [oa, ob]) => {
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += aAt(oa!, i, k) * bAt(ob!, k, j);
        out.data[bi * M * N + i * N + j] = s;
      }
  });
  return out;
}

/** Reference semantics of every op, naive and in float64. */
const KERNELS: { [K in OpName]: RefKernel<K> } = {
  ...forOps(BINARY_OPS, binary),
  ...forOps(UNARY_OPS, unary),
  ...forOps(COMPARE_OPS, compare),
  cast: ([x], a) => {
    const f = castScalar(a.to);
    return [t(a.to, x!.shape, x!.data.map(f))];
  },
  where: (ins, _a, shapes) => [
    broadcastMap(ins, shapes[0]!, ins[1]!.dtype, (c, x, y) => (c !== 0 ? x! : y!)),
  ],
  linear: ([x, w, b], _a, shapes) => {
    const [N, K] = w!.shape as [number, number];
    const y = t(x!.dtype, shapes[0]!);
    const M = numel(shapes[0]!) / (N || 1);
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        // (x·Wᵀ) + b: the sum from +0, then the bias (PyTorch's addmm: an empty sum with
        // b = −0 gives +0).
        let s = 0;
        for (let k = 0; k < K; k++) s += x!.data[i * K + k]! * w!.data[j * K + k]!;
        y.data[i * N + j] = b ? s + b.data[j]! : s;
      }
    return [y];
  },
  bmm: ([a, b], at, shapes) => [matmul(a!, b!, at.transpose_a, at.transpose_b, shapes[0]!)],
  argmax: ([x], a) => [argReduce(x!, a, 'max')],
  argmin: ([x], a) => [argReduce(x!, a, 'min')],
  cumsum: ([x], a) => [cumsumRef(x!, a)],
  topk: ([x], a) => topkRef(x!, a),
  softmax: ([x], a) => {
    const out = t(x!.dtype, x!.shape);
    lanes(x!.shape, normAxis(a.axis, x!.shape.length)!, (offs) =>
      softmaxLane(x!.data, out.data, offs),
    );
    return [out];
  },
  reduce_sum: ([x], a, shapes) => [reduce(x!, a.axes, shapes[0]!, 'sum')],
  reduce_mean: ([x], a, shapes) => [reduce(x!, a.axes, shapes[0]!, 'mean')],
  reduce_max: ([x], a, shapes) => [reduce(x!, a.axes, shapes[0]!, 'max')],
  layer_norm: ([x, w, b], a) => [normalise(x!, w, b, a, true)],
  rms_norm: ([x, w], a) => [normalise(x!, w, undefined, a, false)],
  transpose: ([x], a, shapes) => {
    const st = stridesOf(x!.shape);
    const out = t(x!.dtype, shapes[0]!);
    forEachIndex(
      shapes[0]!,
      [a.perm.map((p) => st[p]!)],
      (o, [off]) => (out.data[o] = x!.data[off!]!),
    );
    return [out];
  },
  reshape: ([x], _a, shapes) => [t(x!.dtype, shapes[0]!, x!.data.slice())],
  concat: (ins, a, shapes) => {
    const ax = normAxis(a.axis, ins[0]!.shape.length)!;
    const out = t(ins[0]!.dtype, shapes[0]!);
    const outer = numel(shapes[0]!.slice(0, ax));
    const inner = numel(shapes[0]!.slice(ax + 1));
    let pos = 0;
    for (const x of ins) {
      const n = x.shape[ax]! * inner;
      for (let o = 0; o < outer; o++)
        out.data.set(x.data.subarray(o * n, (o + 1) * n), o * shapes[0]![ax]! * inner + pos);
      pos += n;
    }
    return [out];
  },
  split: ([x], a, shapes) => {
    const ax = normAxis(a.axis, x!.shape.length)!;
    let start = 0;
    return shapes.map((s) => {
      const r = sliceAxis(x!, ax, start, start + s[ax]!);
      start += s[ax]!;
      return r;
    });
  },
  slice: ([x], a) => {
    const ax = normAxis(a.axis, x!.shape.length)!;
    const [s, e] = sliceRange(x!.shape[ax]!, a.start, a.end);
    return [sliceAxis(x!, ax, s, e)];
  },
  embedding: ([ids, w], _a, shapes, node) => {
    const [num, dim] = w!.shape as [number, number];
    const out = t(w!.dtype, shapes[0]!);
    ids!.data.forEach((id, i) => {
      if (!(Number.isInteger(id) && id >= 0 && id < num))
        throw new RuntimeError(`embedding index ${id} out of range [0, ${num})`, {
          node: node.outputs[0]!,
          op: 'embedding',
        });
      out.data.set(w!.data.subarray(id * dim, (id + 1) * dim), i * dim);
    });
    return [out];
  },
  gather: ([x, idx], a, shapes, node) => {
    const s = x!.shape;
    const ax = a.axis < 0 ? a.axis + s.length : a.axis;
    const [outer, n, inner] = [numel(s.slice(0, ax)), s[ax]!, numel(s.slice(ax + 1))];
    const out = t(x!.dtype, shapes[0]!);
    const k = idx!.data.length;
    for (let i = 0; i < k; i++) {
      const raw = idx!.data[i]!;
      if (!(raw >= -n && raw < n))
        throw new RuntimeError(`gather index ${raw} out of range [${-n}, ${n}) at position ${i}`, {
          node: node.outputs[0]!,
          op: 'gather',
        });
      const j = raw < 0 ? raw + n : raw;
      for (let o = 0; o < outer; o++)
        out.data.set(
          x!.data.subarray((o * n + j) * inner, (o * n + j + 1) * inner),
          (o * k + i) * inner,
        );
    }
    return [out];
  },
  gather_elements: ([x, idx], a, shapes, node) => {
    const out = t(x!.dtype, shapes[0]!);
    const pick = gatherElementsIndexer(x!.shape, idx!.shape, a.axis, node);
    idx!.data.forEach((raw, p) => (out.data[p] = x!.data[pick(p, raw)]!));
    return [out];
  },
  // A constant holds values of its dtype: an f32 `0.1` is fround(0.1), as backends store it.
  constant: (_ins, a, shapes) => [
    t(a.dtype, shapes[0]!, toNumbers(fromNumbers(a.dtype, shapes[0]!, constantValues(a)))),
  ],
  depthwise: ([x, idx, w, b], _a, shapes) => {
    const [N, S, C] = x!.shape as [number, number, number];
    const [P, K] = idx!.shape as [number, number];
    const y = t(x!.dtype, shapes[0]!);
    for (let n = 0; n < N; n++)
      for (let p = 0; p < P; p++)
        for (let c = 0; c < C; c++) {
          let s = 0;
          for (let k = 0; k < K; k++) {
            const i = idx!.data[p * K + k]!;
            if (!(i >= -1 && i < S))
              throw new RuntimeError(
                `depthwise index ${i} out of range [-1, ${S}) at position ${p * K + k}`,
              );
            s += (i < 0 ? 0 : x!.data[(n * S + i) * C + c]!) * w!.data[k * C + c]!;
          }
          y.data[(n * P + p) * C + c] = b ? s + b.data[c]! : s;
        }
    return [y];
  },
  tril: (_ins, a, shapes) => {
    const [R, C] = shapes[0] as [number, number];
    const out = t('bool', [R, C]);
    for (let i = 0; i < R; i++)
      for (let j = 0; j < C; j++) out.data[i * C + j] = j - i <= a.k ? 1 : 0;
    return [out];
  },
  attention: (ins, a, shapes) => [attentionRef(ins, a, shapes[0]!)],
  rotary: (ins, a) => [rotaryRef(ins, a)],
  elementwise: (ins, a, shapes) => {
    const f = compileProgram(a.program, ins.length, ins[0]!.dtype);
    return [broadcastMap(ins, shapes[0]!, ins[0]!.dtype, (...xs) => f(xs))];
  },
  expand: ([x], _a, shapes) => [broadcastMap([x!], shapes[0]!, x!.dtype, (v) => v!)],
};

function sliceAxis(x: RefTensor, ax: number, s: number, e: number): RefTensor {
  const shape = x.shape.map((d, i) => (i === ax ? e - s : d));
  const st = stridesOf(x.shape);
  const out = t(x.dtype, shape);
  forEachIndex(shape, [st], (o, [off]) => (out.data[o] = x.data[off! + s * st[ax]!]!));
  return out;
}

function reduce(
  x: RefTensor,
  axes: readonly number[],
  outShape: number[],
  kind: ReduceKind,
): RefTensor {
  const ax = reduceAxes([{ dtype: x.dtype, shape: x.shape }], axes);
  const keptShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const out = t(x.dtype, outShape);
  const { init, combine } = REDUCERS[kind];
  out.data.fill(init);
  const ost = broadcastStrides(keptShape, x.shape);
  forEachIndex(x.shape, [ost], (i, [o]) => (out.data[o!] = combine(out.data[o!]!, x.data[i]!)));
  if (kind === 'mean') {
    const n = numel(ax.map((a) => x.shape[a]!));
    for (let i = 0; i < out.data.length; i++) out.data[i]! /= n;
  }
  // An integer sum wraps as int32 additions do (the float64 sum is exact below 2^53).
  if (isInt(x.dtype)) for (let i = 0; i < out.data.length; i++) out.data[i] = out.data[i]! | 0;
  return out;
}

export interface RunOptions {
  /** Values for symbols not fixed by the inputs' shapes. */
  shapes?: Binding;
  /** Param values by name, overriding the graph's own. */
  params?: ReadonlyMap<string, Float64Array>;
}

/**
 * The reference interpreter: float64, naive, no optimisation. The oracle every equivalence
 * test compares against. Returns outputs as float64 RefTensors keyed by name.
 */
export function interpret(
  g: Graph,
  inputs: Readonly<Record<string, Tensor>>,
  options: RunOptions = {},
): Record<string, RefTensor> {
  const binding = bindInputs(g, inputs, options.shapes);
  const shapes = concreteShapes(g, binding);
  let total = 0;
  for (const s of shapes.values()) total += numel(s) * 8;
  checkAllocation(total, `the reference run of ${g.name}`);
  const env = new Map<string, RefTensor>();
  for (const inp of g.inputs) {
    const x = inputs[inp.name]!;
    env.set(inp.name, t(inp.type.dtype, [...x.shape], toNumbers(x)));
  }
  for (const p of g.params)
    env.set(
      p.name,
      t(
        p.type.dtype,
        p.type.shape as number[],
        options.params?.get(p.name) ?? paramValues(p, g.seed),
      ),
    );
  for (const node of g.nodes) {
    const outs = evalNode(
      node,
      node.inputs.map((i) => env.get(i)!),
      node.outputs.map((o) => shapes.get(o)!),
    );
    node.outputs.forEach((o, i) => env.set(o, outs[i]!));
  }
  return Object.fromEntries(g.outputs.map((o) => [o, env.get(o)!]));
}

/**
 * One node on float64 operands (the interpreter's step; constant folding's evaluator).
 * Errors name the node and op.
 */
export function evalNode(node: Node, ins: RefTensor[], outShapes: number[][]): RefTensor[] {
  const kernel = KERNELS[node.op] as RefKernel<OpName>;
  try {
    return kernel(ins, node.attrs as never, outShapes, node);
  } catch (e) {
    throw withWhere(e, { node: node.outputs[0]!, op: node.op });
  }
}

/** Convert a reference result to a boundary tensor of its dtype (rounding as stored). */
export function refToTensor(r: RefTensor): Tensor {
  return fromNumbers(r.dtype, r.shape, r.data);
}
