/**
 * Random cases for every op (shared by the JS and WGSL backend tests): shapes with size-1
 * and broadcast dims, values with the special values an op must propagate.
 */
import fc from 'fast-check';
import type { DType, Graph, OpName, Tensor } from '@glimpse/ir';
import { BINARY_OPS, buildGraph, fromNumbers, PROGRAM_OPS, toNumbers } from '@glimpse/ir';
import { tensor } from './helpers.js';

export interface Case {
  graph: Graph;
  inputs: Record<string, Tensor>;
  /** Magnitude of the values summed into one output, for the absolute tolerance. */
  scale?: number;
}

/** Dims of 1–5, and now and then 0 (an empty tensor must come out empty, not fail). */
const dim = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 5 }), weight: 9 },
  { arbitrary: fc.constant(0), weight: 1 },
);
export const shape = (min = 0, max = 4) => fc.array(dim, { minLength: min, maxLength: max });
export const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
/** The share of special values (helpers.ts): none in a third of the cases, else 10% or 50%. */
const special = fc.constantFrom(0, 0.1, 0.5);
/**
 * Attention's share: in two thirds of the cases, but sparser — rows whose several logits
 * are ±1e8 (±1e4 squared) put their weights at the mercy of f32 rounding in any order of
 * operations, and the precision contract compares one rounding order with another.
 */
const attentionSpecial = fc.constantFrom(0, 0.01, 0.05);
/** finfo(f32).min: eager attention's causal fill and padding mask. */
const FINFO_MIN = -3.4028234663852886e38;

/**
 * The magnitude summed into one output (Case.scale): `terms` products of the operands'
 * largest finite values (at least 2, the range of the ordinary draws).
 */
export function summed(terms: number, ...xs: Tensor[]): number {
  const big = (t: Tensor) =>
    Math.max(2, ...Array.from(toNumbers(t)).filter(Number.isFinite).map(Math.abs));
  return Math.max(1, terms) * xs.reduce((p, t) => p * big(t), 1);
}

/**
 * A reduction over random axes (keepdims either way); with `terms`, the tolerance scale of
 * that many of the input's largest values summed.
 */
const reduceCase = (
  op: 'reduce_sum' | 'reduce_mean' | 'reduce_max',
  terms?: number,
  dtypes: DType[] = ['f32'],
) =>
  fc
    .tuple(shape(1, 4), seed, fc.boolean(), special, fc.constantFrom(...dtypes))
    .chain(([sh, s, keepdims, sp, dtype]) =>
      fc.subarray([...sh.keys()], { minLength: 1 }).map((axes) => {
        const c = single(op, [{ name: 'x', dtype, shape: sh }], { axes, keepdims }, s, sp);
        return terms === undefined ? c : { ...c, scale: summed(terms, c.inputs.x!) };
      }),
    );

/** cumsum along a random axis, exclusive and reverse drawn; f32 (error grows with the sum) or i32. */
const cumsumCase = fc
  .tuple(
    shape(1, 4),
    seed,
    special,
    fc.boolean(),
    fc.boolean(),
    fc.constantFrom<DType>('f32', 'i32'),
  )
  .chain(([sh, s, sp, exclusive, reverse, dtype]) =>
    fc.integer({ min: -sh.length, max: sh.length - 1 }).map((axis) => {
      const c = single(
        'cumsum',
        [{ name: 'x', dtype, shape: sh }],
        { axis, exclusive, reverse },
        s,
        sp,
      );
      return { ...c, scale: summed(Math.max(1, ...sh), c.inputs.x!) };
    }),
  );

/**
 * rotary over [...lead, d]: all of d or an even part, rotate-half or interleaved, cos and
 * sin broadcast to [...lead, R] (a suffix, some dims 1). Values bounded by 1e4 (NaN, ±inf,
 * ±0 and subnormals kept): a product past f32's range is inf in the op, as in the graph it
 * stands for, and finite in the float64 reference.
 */
const rotaryCase = fc
  .record({
    lead: shape(0, 3),
    pairs: fc.integer({ min: 1, max: 4 }),
    pass: fc.constantFrom(0, 0, 1, 2),
    interleaved: fc.boolean(),
    s: seed,
    sp: special,
  })
  .chain((c) =>
    fc
      .tuple(broadcastOf([...c.lead, 2 * c.pairs]), broadcastOf([...c.lead, 2 * c.pairs]))
      .map(([cs, ss]) => {
        const R = 2 * c.pairs;
        const f = (name: string, sh: number[]) => ({ name, dtype: 'f32' as DType, shape: sh });
        const attrs = { interleaved: c.interleaved, rotary_dim: c.pass ? R : 0 };
        const k = single(
          'rotary',
          [f('x', [...c.lead, R + c.pass]), f('cos', cs), f('sin', ss)],
          attrs,
          c.s,
          c.sp,
        );
        for (const t of Object.values(k.inputs))
          (t.data as Float32Array).forEach(
            (v, i, d) => (d[i] = Number.isFinite(v) && Math.abs(v) > 1e4 ? Math.sign(v) * 1e4 : v),
          );
        const { x, cos, sin } = k.inputs;
        return { ...k, scale: Math.max(summed(2, x!, cos!), summed(2, x!, sin!)) };
      }),
  );

/** Shapes that broadcast to `out`: a suffix of it, with some dims replaced by 1. */
const broadcastOf = (out: number[]) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: out.length }),
      fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    )
    .map(([drop, ones]) => out.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));

export function single(
  op: OpName,
  ins: { name: string; dtype: DType; shape: number[] }[],
  attrs: Record<string, unknown>,
  s: number,
  sp = 0,
): Case {
  const inputs: Record<string, Tensor> = {};
  const graph = buildGraph(`t_${op}`, (b) => {
    const vals = ins.map((i, k) => {
      inputs[i.name] = tensor(i.dtype, i.shape, s + k, 2, sp);
      return b.input(i.name, i.dtype, i.shape);
    });
    return b.op(op, vals, attrs as never, 'y');
  });
  return { graph, inputs };
}

const binaryCase = (op: OpName) =>
  fc
    .tuple(shape(0, 4), seed, special, fc.constantFrom<DType>('f32', 'f32', 'i32', 'f16'))
    .chain(([out, s, sp, dt]) =>
      fc.tuple(broadcastOf(out), broadcastOf(out), fc.boolean()).map(([a, b, swap]) => {
        // Make sure the result has the full `out` shape by giving one side all of it.
        const [sa, sb] = swap ? [out, b] : [a, out];
        return single(
          op,
          [
            { name: 'a', dtype: dt, shape: sa },
            { name: 'b', dtype: dt, shape: sb },
          ],
          {},
          s,
          dt === 'i32' ? 0 : sp,
        );
      }),
    );

/** Comparisons: values on a coarse grid so that ties (equal) are common; special values in floats. */
const compareCase = (op: OpName) =>
  binaryCase(op).map((c) => {
    for (const [k, t] of Object.entries(c.inputs))
      if (t.data instanceof Float32Array) t.data.forEach((v, i, d) => (d[i] = onGrid(v)));
      else if (t.data instanceof Int32Array) t.data.forEach((v, i, d) => (d[i] = v % 3));
      else if (t.dtype === 'f16')
        c.inputs[k] = fromNumbers('f16', [...t.shape], toNumbers(t).map(onGrid));
    return c;
  });
const onGrid = (v: number) => (Number.isFinite(v) ? Math.round(v * 2) / 2 : v);

/**
 * argmax / argmin along a random axis, keepdims and select_last drawn; values on a coarse
 * grid (ties are common) with special values, f32 or i32.
 */
const argCase = (op: 'argmax' | 'argmin') =>
  fc
    .tuple(
      shape(1, 4),
      seed,
      special,
      fc.boolean(),
      fc.boolean(),
      fc.constantFrom<DType>('f32', 'f32', 'i32'),
    )
    .chain(([sh, s, sp, keepdims, last, dtype]) =>
      fc.integer({ min: -sh.length, max: sh.length - 1 }).map((axis) => {
        // The searched axis has an element (an empty one has no index); others may be empty.
        const ax = (axis + sh.length) % sh.length;
        const dims = sh.map((d, i) => (i === ax && d === 0 ? 2 : d));
        const attrs = { axis, keepdims, select_last: last };
        const c = single(op, [{ name: 'x', dtype, shape: dims }], attrs, s, sp);
        const t = c.inputs.x!;
        if (t.data instanceof Float32Array)
          t.data.forEach((v, i, d) => (d[i] = Number.isFinite(v) ? Math.round(v * 2) / 2 : v));
        else if (t.data instanceof Int32Array) t.data.forEach((v, i, d) => (d[i] = v % 3));
        return c;
      }),
    );

/**
 * topk along a random axis, k from 0 to the axis, largest or smallest; values on a coarse
 * grid (ties are common) with special values, f32 or i32. Two outputs: values, indices.
 */
const topkCase = fc
  .tuple(shape(1, 4), seed, special, fc.boolean(), fc.constantFrom<DType>('f32', 'f32', 'i32'))
  .chain(([sh, s, sp, largest, dtype]) =>
    fc
      .tuple(fc.integer({ min: -sh.length, max: sh.length - 1 }), fc.integer({ min: 0, max: 5 }))
      .map(([axis, kk]) => {
        const d = sh[(axis + sh.length) % sh.length]!;
        const attrs = { axis, k: Math.min(kk, d), largest };
        const graph = buildGraph('t_topk', (b) =>
          b.opN('topk', [b.input('x', dtype, sh)], attrs, ['values', 'indices']),
        );
        const t = tensor(dtype, sh, s, 2, sp);
        if (t.data instanceof Float32Array)
          t.data.forEach((v, i, a) => (a[i] = Number.isFinite(v) ? Math.round(v * 2) / 2 : v));
        else if (t.data instanceof Int32Array) t.data.forEach((v, i, a) => (a[i] = v % 3));
        return { graph, inputs: { x: t } };
      }),
  );

/** A unary op; a float op in f16 a quarter of the time (held in f32, rounded at the boundary). */
const unaryCase = (
  op: OpName,
  attrs: fc.Arbitrary<Record<string, unknown>> = fc.constant({}),
  dtype: DType = 'f32',
) =>
  fc
    .tuple(shape(), seed, special, attrs, fc.constantFrom<DType>(...floatOr(dtype)))
    .map(([sh, s, sp, a, dt]) => single(op, [{ name: 'x', dtype: dt, shape: sh }], a, s, sp));

/** f32 → f32 three times in four, f16 once; other dtypes as they are. */
const floatOr = (d: DType): DType[] => (d === 'f32' ? ['f32', 'f32', 'f32', 'f16'] : [d]);

/** layer_norm / rms_norm over random trailing axes, with up to `params` of weight and bias. */
const normCase = (op: 'layer_norm' | 'rms_norm', params: number) =>
  fc
    .tuple(
      shape(1, 3),
      seed,
      fc.integer({ min: 0, max: params }),
      fc.constantFrom(1e-5, 1e-3),
      special,
      fc.constantFrom(...floatOr('f32')),
    )
    .chain(([sh, s, nParams, eps, sp, dtype]) =>
      fc.integer({ min: -sh.length, max: -1 }).map((axis) => {
        const norm = sh.slice(sh.length + axis);
        const ins = [
          { name: 'x', dtype, shape: sh },
          ...['w', 'b'].slice(0, nParams).map((name) => ({ name, dtype, shape: norm })),
        ];
        const c = single(op, ins, { axis, eps }, s, sp);
        // The mean and variance sum the row: their error grows with its largest values.
        return { ...c, scale: summed(5, c.inputs.x!) };
      }),
    );

/** Logic on two bool tensors, one of them broadcast. */
const logicCase = (op: 'and' | 'or') =>
  fc.tuple(shape(0, 4), seed).chain(([out, s]) =>
    fc.tuple(broadcastOf(out), fc.boolean()).map(([x, swap]) =>
      single(
        op,
        [
          { name: 'a', dtype: 'bool', shape: swap ? x : out },
          { name: 'b', dtype: 'bool', shape: swap ? out : x },
        ],
        {},
        s,
      ),
    ),
  );

/**
 * x → f16 → f32 inside a graph (an f32 output): the f16 value must be rounded where it is
 * made, not only when it leaves the graph (the backends hold f16 in f32).
 */
function throughF16(c: Case): Case {
  const x = Object.values(c.inputs)[0]!;
  const xs = toNumbers(x);
  const graph = buildGraph('t_cast_f16', (b) => {
    const h = b.op('cast', [b.input('x', 'f32', [...x.shape])], { to: 'f16' }, 'h');
    return b.op('cast', [h], { to: 'f32' }, 'y');
  });
  return { graph, inputs: { x: fromNumbers('f32', [...x.shape], xs) } };
}

/** f16 constants: values f16 rounds (0.1, −2.2), past 65504 (inf from 65520), subnormal, 0. */
const F16_CONSTANTS = [0.1, 1e5, 65519, 65520, -2.2, 3e-8, 1e-8, NaN, -0, -Infinity, 65504];

export const CASES: { [K in OpName]: fc.Arbitrary<Case> } = {
  add: binaryCase('add'),
  sub: binaryCase('sub'),
  mul: binaryCase('mul'),
  div: binaryCase('div'),
  mod: binaryCase('mod'),
  fmod: binaryCase('fmod'),
  equal: compareCase('equal'),
  less: compareCase('less'),
  and: logicCase('and'),
  or: logicCase('or'),
  // On the comparisons' coarse grid: ties, ±0 pairs and NaN in either operand are common.
  min: compareCase('min'),
  max: compareCase('max'),
  relu: unaryCase('relu'),
  sigmoid: unaryCase('sigmoid'),
  erf: unaryCase('erf'),
  // On integers too (|INT_MIN| wraps: the special −inf draws become INT_MIN).
  abs: fc.oneof(unaryCase('abs'), unaryCase('abs', fc.constant({}), 'i32')),
  log: unaryCase('log'),
  cos: unaryCase('cos'),
  sin: unaryCase('sin'),
  isnan: unaryCase('isnan'),
  isinf: unaryCase('isinf'),
  sign: fc.oneof(unaryCase('sign'), unaryCase('sign', fc.constant({}), 'i32')),
  ceil: unaryCase('ceil'),
  floor: unaryCase('floor'),
  round: unaryCase('round'),
  gelu: unaryCase('gelu'),
  gelu_tanh: unaryCase('gelu_tanh'),
  tanh: unaryCase('tanh'),
  exp: unaryCase('exp'),
  sqrt: unaryCase('sqrt'),
  scale: unaryCase('scale', fc.record({ factor: fc.constantFrom(0.125, -2, 0, 1 / 3) })),
  cast: fc
    .tuple(
      shape(),
      seed,
      fc.constantFrom<[DType, DType]>(
        ['f32', 'i32'],
        ['f32', 'bool'],
        ['i32', 'f32'],
        ['bool', 'f32'],
        ['f32', 'i64'],
        ['i64', 'f32'],
        ['f32', 'f16'],
        ['f16', 'f32'],
        ['f16', 'i32'],
        ['i32', 'f16'],
      ),
      special,
    )
    .map(([sh, s, [from, to], sp]) =>
      single('cast', [{ name: 'x', dtype: from, shape: sh }], { to }, s, sp),
    )
    .chain((c) => fc.constantFrom(c, c, throughF16(c))),
  where: fc.tuple(shape(0, 4), seed, special).chain(([out, s, sp]) =>
    fc.tuple(broadcastOf(out), broadcastOf(out)).map(([c, a]) =>
      single(
        'where',
        [
          { name: 'c', dtype: 'bool', shape: c },
          { name: 'a', dtype: 'f32', shape: a },
          { name: 'b', dtype: 'f32', shape: out },
        ],
        {},
        s,
        sp,
      ),
    ),
  ),
  linear: fc
    .tuple(
      shape(0, 2),
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 1, max: 20 }),
      fc.boolean(),
      seed,
      special,
    )
    .map(([lead, K, N, bias, s, sp]) => {
      const ins = [
        { name: 'x', dtype: 'f32' as DType, shape: [...lead, K] },
        { name: 'w', dtype: 'f32' as DType, shape: [N, K] },
        ...(bias ? [{ name: 'b', dtype: 'f32' as DType, shape: [N] }] : []),
      ];
      const c = single('linear', ins, {}, s, sp);
      return { ...c, scale: summed(K, c.inputs.x!, c.inputs.w!) };
    }),
  bmm: fc
    .tuple(
      shape(0, 2),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 9 }),
      fc.boolean(),
      fc.boolean(),
      seed,
      special,
    )
    .chain(([batch, M, K, N, ta, tb, s, sp]) =>
      fc.tuple(broadcastOf(batch), broadcastOf(batch), fc.boolean()).map(([ba, bb, swap]) => {
        const [xa, xb] = swap ? [batch, bb] : [ba, batch];
        const a = [...xa, ...(ta ? [K, M] : [M, K])];
        const b = [...xb, ...(tb ? [N, K] : [K, N])];
        const c = single(
          'bmm',
          [
            { name: 'a', dtype: 'f32', shape: a },
            { name: 'b', dtype: 'f32', shape: b },
          ],
          { transpose_a: ta, transpose_b: tb },
          s,
          sp,
        );
        return { ...c, scale: summed(K, c.inputs.a!, c.inputs.b!) };
      }),
    ),
  softmax: fc
    .tuple(shape(1, 4), seed, special, fc.constantFrom(...floatOr('f32')))
    .chain(([sh, s, sp, dtype]) =>
      fc
        .integer({ min: -sh.length, max: sh.length - 1 })
        .map((axis) => single('softmax', [{ name: 'x', dtype, shape: sh }], { axis }, s, sp)),
    ),
  transpose: fc
    .tuple(shape(0, 5), seed, special)
    .chain(([sh, s, sp]) =>
      fc
        .shuffledSubarray([...sh.keys()], { minLength: sh.length, maxLength: sh.length })
        .map((perm) =>
          single('transpose', [{ name: 'x', dtype: 'f32', shape: sh }], { perm }, s, sp),
        ),
    ),
  reshape: fc.tuple(shape(0, 4), seed, fc.boolean(), special).map(([sh, s, hole, sp]) => {
    // Target: the same elements regrouped as [n] or [.., n/k, k], with an optional -1.
    const n = sh.reduce((a, b) => a * b, 1);
    const k = [3, 2, 1].find((d) => n % d === 0)!;
    // A 0 in a target copies the input's dim (ONNX's rule), and -1 cannot be resolved
    // against 0 elements: an empty tensor is reshaped to its own shape, its zeros copied.
    const target = n === 0 ? sh : hole ? [-1, k] : [n / k, k];
    return single('reshape', [{ name: 'x', dtype: 'f32', shape: sh }], { shape: target }, s, sp);
  }),
  concat: fc
    .tuple(shape(1, 3), fc.array(dim, { minLength: 1, maxLength: 3 }), seed)
    .chain(([sh, sizes, s]) =>
      fc.integer({ min: 0, max: sh.length - 1 }).map((axis) =>
        single(
          'concat',
          sizes.map((d, i) => ({
            name: `x${i}`,
            dtype: 'f32' as DType,
            shape: sh.map((v, j) => (j === axis ? d : v)),
          })),
          { axis },
          s,
        ),
      ),
    ),
  split: fc
    .tuple(
      shape(1, 3),
      fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }),
      seed,
    )
    .chain(([sh, sizes, s]) =>
      fc.integer({ min: 0, max: sh.length - 1 }).map((axis) => {
        const total = sizes.reduce((a, b) => a + b, 0);
        const x = sh.map((v, j) => (j === axis ? total : v));
        const inputs = { x: tensor('f32', x, s) };
        const graph = buildGraph('t_split', (b) =>
          b.opN(
            'split',
            [b.input('x', 'f32', x)],
            { axis, sizes },
            sizes.map((_, i) => `y${i}`),
          ),
        );
        return { graph, inputs };
      }),
    ),
  slice: fc
    .tuple(shape(1, 3), seed, fc.integer({ min: -7, max: 7 }), fc.integer({ min: -7, max: 7 }))
    .chain(([sh, s, start, end]) =>
      fc
        .integer({ min: 0, max: sh.length - 1 })
        .map((axis) =>
          single('slice', [{ name: 'x', dtype: 'f32', shape: sh }], { axis, start, end }, s),
        ),
    ),
  // Integer sums (a mask's count of ones), wrapping as int32 on overflow.
  reduce_sum: reduceCase('reduce_sum', 125, ['f32', 'f32', 'i32']),
  reduce_mean: reduceCase('reduce_mean', 1, floatOr('f32')),
  reduce_max: reduceCase('reduce_max', undefined, floatOr('f32')),
  argmax: argCase('argmax'),
  argmin: argCase('argmin'),
  topk: topkCase,
  cumsum: cumsumCase,
  rotary: rotaryCase,
  layer_norm: normCase('layer_norm', 2),
  rms_norm: normCase('rms_norm', 1),
  depthwise: fc
    .record({
      N: fc.integer({ min: 1, max: 2 }),
      S: fc.integer({ min: 1, max: 6 }),
      // Multiples of 4 take the wasm SIMD kernel, others its CPU fallback.
      C: fc.constantFrom(1, 3, 4, 8, 12),
      P: fc.integer({ min: 1, max: 5 }),
      K: fc.integer({ min: 1, max: 4 }),
      bias: fc.boolean(),
      s: seed,
      sp: special,
    })
    .map(({ N, S, C, P, K, bias, s, sp }) => {
      const c = single(
        'depthwise',
        [
          { name: 'x', dtype: 'f32', shape: [N, S, C] },
          { name: 'idx', dtype: 'i32', shape: [P, K] },
          { name: 'w', dtype: 'f32', shape: [K, C] },
          ...(bias ? [{ name: 'b', dtype: 'f32' as DType, shape: [C] }] : []),
        ],
        {},
        s,
        sp,
      );
      // Window indices in [−1, S): −1 (padding) now and then.
      c.inputs.idx = {
        dtype: 'i32',
        shape: [P, K],
        data: Int32Array.from({ length: P * K }, (_, i) => ((i * 5 + s) % (S + 1)) - 1),
      };
      return { ...c, scale: summed(K, c.inputs.x!, c.inputs.w!) };
    }),
  embedding: fc
    .tuple(
      shape(0, 3),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 5 }),
      seed,
      fc.constantFrom<DType>('i32', 'i64'),
    )
    .map(([ids, num, d, s, dt]) => {
      const n = ids.reduce((a, b) => a * b, 1);
      const idv = Array.from({ length: n }, (_, i) => (i * 7 + s) % num);
      const c = single(
        'embedding',
        [
          { name: 'ids', dtype: dt, shape: ids },
          { name: 'w', dtype: 'f32', shape: [num, d] },
        ],
        {},
        s,
      );
      c.inputs.ids = {
        dtype: dt,
        shape: ids,
        data: dt === 'i32' ? Int32Array.from(idv) : BigInt64Array.from(idv.map(BigInt)),
      };
      return c;
    }),
  gather: fc
    .tuple(
      shape(1, 3),
      shape(0, 2),
      seed,
      fc.constantFrom<DType>('i32', 'i64'),
      fc.constantFrom<DType>('f32', 'i32', 'f16'),
    )
    .chain(([xs, is, s, it, xt]) =>
      fc.integer({ min: -xs.length, max: xs.length - 1 }).map((axis) => {
        // An index into an empty axis has no value (a RuntimeError, tested elsewhere).
        const ax = axis < 0 ? axis + xs.length : axis;
        if (xs[ax] === 0) xs = xs.map((d, i) => (i === ax ? 1 : d));
        const n = xs[ax]!;
        const k = is.reduce((a, b) => a * b, 1);
        // Indices over the whole valid range [-n, n), negative ones included.
        const iv = Array.from({ length: k }, (_, i) => ((i * 5 + s) % (2 * n)) - n);
        const c = single(
          'gather',
          [
            { name: 'x', dtype: xt, shape: xs },
            { name: 'i', dtype: it, shape: is },
          ],
          { axis },
          s,
        );
        c.inputs.i = {
          dtype: it,
          shape: is,
          data: it === 'i32' ? Int32Array.from(iv) : BigInt64Array.from(iv.map(BigInt)),
        };
        return c;
      }),
    ),
  gather_elements: fc
    .tuple(
      shape(1, 3),
      seed,
      fc.constantFrom<DType>('i32', 'i64'),
      fc.constantFrom<DType>('f32', 'i32'),
    )
    .chain(([xs, s, it, xt]) =>
      fc
        .tuple(
          fc.integer({ min: -xs.length, max: xs.length - 1 }),
          fc.array(fc.integer({ min: 0, max: 4 }), { minLength: xs.length, maxLength: xs.length }),
        )
        .map(([axis, extra]) => {
          const ax = axis < 0 ? axis + xs.length : axis;
          // An index into an empty axis has no value (a RuntimeError, tested elsewhere).
          if (xs[ax] === 0) xs = xs.map((d, i) => (i === ax ? 1 : d));
          const n = xs[ax]!;
          // Any length on the axis; no more than x's on the others (some dims shorter).
          const is = xs.map((d, i) => (i === ax ? extra[i]! : Math.max(0, d - (extra[i]! % 2))));
          const k = is.reduce((a, b) => a * b, 1);
          const iv = Array.from({ length: k }, (_, i) => ((i * 5 + s) % (2 * n)) - n);
          const c = single(
            'gather_elements',
            [
              { name: 'x', dtype: xt, shape: xs },
              { name: 'i', dtype: it, shape: is },
            ],
            { axis },
            s,
          );
          c.inputs.i = {
            dtype: it,
            shape: is,
            data: it === 'i32' ? Int32Array.from(iv) : BigInt64Array.from(iv.map(BigInt)),
          };
          return c;
        }),
    ),
  constant: fc
    .tuple(shape(0, 3), fc.constantFrom<DType>('f32', 'i32', 'bool', 'f16'), fc.boolean())
    .map(([sh, dtype, splat]) => {
      const n = sh.reduce((a, b) => a * b, 1);
      const value = splat
        ? [dtype === 'f32' ? -Infinity : dtype === 'f16' ? 1e5 : 1]
        : Array.from({ length: n }, (_, i) =>
            dtype === 'bool' ? i % 2 : dtype === 'f16' ? F16_CONSTANTS[i % 11]! : i - 2,
          );
      return {
        // An f16 constant is read through a cast to f32: what the backend holds shows, not
        // only its rounding at the boundary.
        graph: buildGraph('t_constant', (b) => {
          const c = b.op('constant', [], { dtype, shape: sh, value }, dtype === 'f16' ? 'c' : 'y');
          return dtype === 'f16' ? b.op('cast', [c], { to: 'f32' }, 'y') : c;
        }),
        inputs: {},
      };
    }),
  not: fc
    .tuple(shape(), seed)
    .map(([sh, s]) => single('not', [{ name: 'x', dtype: 'bool', shape: sh }], {}, s)),
  expand: fc
    .tuple(shape(0, 4), seed)
    .chain(([out, s]) =>
      broadcastOf(out).map((x) =>
        single('expand', [{ name: 'x', dtype: 'f32', shape: x }], { shape: out }, s, 0.1),
      ),
    ),
  elementwise: fc
    .tuple(
      shape(0, 3),
      seed,
      special,
      fc.array(
        // Every op a program may name (the IR's list), and a multiplication by a number.
        fc.constantFrom<string>(...PROGRAM_OPS, 'num'),
        { minLength: 1, maxLength: 6 },
      ),
    )
    .chain(([out, s, sp, steps]) =>
      fc.tuple(broadcastOf(out), broadcastOf(out)).map(([a, b]) => {
        // A random well-formed postfix program over $0 (full shape), $1 and $2 (broadcast).
        const program: (number | string)[] = ['$0'];
        steps.forEach((t, i) => {
          if (t === 'num') program.push(i % 2 ? 0.5 : -3, 'mul');
          else if ((BINARY_OPS as readonly string[]).includes(t))
            program.push(`$${1 + (i % 2)}`, t);
          // cos and sin multiply their argument's error by its size (cos(e⁹) is off by
          // 5e-4 where e⁹ is off by one ulp, and backends' exp is not correctly rounded):
          // they take an input and add to the result, as rotary embeddings use them.
          else if (t === 'cos' || t === 'sin') program.push(`$${1 + (i % 2)}`, t, 'add');
          else program.push(t);
        });
        const ins = [
          { name: 'x0', dtype: 'f32' as DType, shape: out },
          { name: 'x1', dtype: 'f32' as DType, shape: a },
          { name: 'x2', dtype: 'f32' as DType, shape: b },
        ];
        const c = single('elementwise', ins, { program }, s, sp);
        // Intermediates (x0·x1, x + 1e4 − 1e4) carry the rounding of the inputs' magnitudes.
        return { ...c, scale: summed(1, c.inputs.x0!, c.inputs.x1!, c.inputs.x2!) };
      }),
    ),
  tril: fc
    .tuple(shape(2, 4), seed, fc.integer({ min: -3, max: 3 }))
    .map(([sh, s, k]) => single('tril', [{ name: 'x', dtype: 'f32', shape: sh }], { k }, s)),
  attention: fc
    .record({
      lead: shape(0, 1),
      hkv: fc.integer({ min: 1, max: 2 }),
      group: fc.integer({ min: 1, max: 3 }),
      T: fc.integer({ min: 1, max: 7 }),
      S: fc.integer({ min: 1, max: 9 }),
      dh: fc.integer({ min: 1, max: 9 }),
      dv: fc.integer({ min: 1, max: 6 }),
      mask: fc.constantFrom('none', 'bool', 'additive'),
      causal: fc.constantFrom('none', 'top_left', 'bottom_right'),
      causalFill: fc.constantFrom(-Infinity, -Infinity, FINFO_MIN, -1e4, -0, NaN),
      softcap: fc.constantFrom(0, 0, 5),
      rows: fc.constantFrom('nan', 'zero', 'mask'),
      fill: fc.constantFrom(-Infinity, -3.4028234663852886e38),
      scale: fc.option(fc.constantFrom(0.5, 0.125), { nil: undefined }),
      s: seed,
      sp: attentionSpecial,
      headless: fc.boolean(),
      bshd: fc.boolean(),
    })
    .chain((c) =>
      broadcastOf([...c.lead, c.hkv * c.group, c.T, c.S]).map((mshape) => {
        const hq = c.hkv * c.group;
        const heads = (h: number) => (c.headless ? [] : [h]);
        const lead = c.headless ? [] : c.lead;
        // bshd (rank 4 only): [B, seq, heads, d]; the mask stays [B, H, T, S].
        const bshd = c.bshd && !c.headless && lead.length === 1;
        const qkv = (h: number, len: number, d: number) =>
          bshd ? [lead[0]!, len, h, d] : [...lead, ...heads(h), len, d];
        const ins: { name: string; dtype: DType; shape: number[] }[] = [
          { name: 'q', dtype: 'f32', shape: qkv(hq, c.T, c.dh) },
          { name: 'k', dtype: 'f32', shape: qkv(c.hkv, c.S, c.dh) },
          { name: 'v', dtype: 'f32', shape: qkv(c.hkv, c.S, c.dv) },
        ];
        const ms = c.headless ? mshape.slice(-2) : mshape;
        if (c.mask !== 'none')
          ins.push({ name: 'mask', dtype: c.mask === 'bool' ? 'bool' : 'f32', shape: ms });
        const attrs = {
          causal: c.causal,
          causal_fill: c.causalFill,
          softcap: c.softcap,
          masked_rows: c.rows,
          mask_fill: c.fill,
          layout: bshd ? 'bshd' : 'bhsd',
          ...(c.scale !== undefined ? { scale: c.scale } : {}),
        };
        const k = single('attention', ins, attrs, c.s, c.sp);
        if (c.mask === 'additive') {
          // Additive masks hold 0 and -inf, as real ones do (and so fully masked rows occur);
          // under a finite causal fill finfo.min too (fill + finfo.min overflows in f32).
          const m = k.inputs.mask!.data as Float32Array;
          const min = Number.isFinite(c.causalFill) ? FINFO_MIN : -Infinity;
          for (let i = 0; i < m.length; i++)
            m[i] = m[i]! > 0.75 ? -Infinity : m[i]! > 0.5 ? min : 0;
        }
        return { ...k, scale: 10 };
      }),
    ),
};

/** The fused kernel's tiles are 32 query rows × 64 keys: sizes around and across them. */
export const attentionTiles = fc
  .record({
    T: fc.constantFrom(1, 31, 32, 33, 70),
    S: fc.constantFrom(1, 63, 64, 65, 130, 257),
    dh: fc.constantFrom(1, 5, 16),
    dv: fc.constantFrom(3, 8, 9),
    causal: fc.constantFrom('none', 'top_left', 'bottom_right'),
    causalFill: fc.constantFrom(-Infinity, -Infinity, FINFO_MIN),
    mask: fc.constantFrom('none', 'bool', 'additive'),
    s: seed,
    sp: fc.constantFrom(0, 0.002, 0.01),
  })
  .map((c) => {
    const ins: { name: string; dtype: DType; shape: number[] }[] = [
      { name: 'q', dtype: 'f32', shape: [2, c.T, c.dh] },
      { name: 'k', dtype: 'f32', shape: [1, c.S, c.dh] },
      { name: 'v', dtype: 'f32', shape: [1, c.S, c.dv] },
    ];
    if (c.mask !== 'none')
      ins.push({ name: 'mask', dtype: c.mask === 'bool' ? 'bool' : 'f32', shape: [c.T, c.S] });
    const k = single('attention', ins, { causal: c.causal, causal_fill: c.causalFill }, c.s, c.sp);
    if (c.mask === 'additive') {
      const m = k.inputs.mask!.data as Float32Array;
      for (let i = 0; i < m.length; i++) m[i] = m[i]! > 1.5 ? -Infinity : m[i]!;
    }
    return { ...k, scale: 10 };
  });
