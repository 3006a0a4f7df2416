import type { ArgKind, ArgReduceAttrs, ReduceKind } from '@glimpse/ir';
import { normAxis, numel, reduceAxes, stridesOf } from '@glimpse/ir';
import { uniforms, type UniformLayout } from '../uniforms.js';
import type { Storage } from '../wgsl.js';
import { offsetExpr, shader, storageType, unravel } from '../wgsl.js';
import type { Dispatch, KernelCtx, KernelFactory } from './types.js';

const WG = 64;

/**
 * A workgroup-wide reduction of `v` (f32) with `combine`, through workgroup memory `red`;
 * every invocation gets the result in `name`. All invocations of the workgroup must reach it.
 */
function workgroupReduce(
  name: string,
  v: string,
  combine: (a: string, b: string) => string,
): string {
  return `red[lid] = ${v};
workgroupBarrier();
for (var w = ${WG / 2}u; w > 0u; w = w / 2u) {
  if (lid < w) { red[lid] = ${combine('red[lid]', 'red[lid + w]')}; }
  workgroupBarrier();
}
let ${name} = red[0];
workgroupBarrier();`;
}

// Max that skips NaN (NaN then reaches the result through exp_f32(x - max)), as Math.max does
// not: the outcome is the same NaN row the reference gives.
const maxOf = (a: string, b: string) => `select(${a}, ${b}, ${b} > ${a})`;
const sumOf = (a: string, b: string) => `${a} + ${b}`;

function rowShader(
  body: string,
  bindings: { name: string; write: boolean }[],
  layout: UniformLayout,
) {
  return shader({
    bindings: bindings.map((b) => ({ ...b, type: 'f32' as const })),
    uniforms: layout,
    workgroupSize: WG,
    decls: `var<workgroup> red: array<f32, ${WG}>;`,
    body,
  });
}

/** Softmax's rows: `rows` of `len` elements `inner` apart. */
const SOFTMAX_UNIFORMS = uniforms({ rows: 'u32', len: 'u32', inner: 'u32' });

/** Softmax: one workgroup per row; the row may be strided (axis not last). */
export const softmax: KernelFactory<'softmax'> = (a, ctx) => {
  const x = ctx.inShapes[0]!;
  const ax = normAxis(a.axis, x.length)!;
  const len = x[ax]!;
  const inner = numel(x.slice(ax + 1));
  const rows = numel(x) / Math.max(1, len);
  if (len === 0 || rows === 0) return [];
  const layout = SOFTMAX_UNIFORMS;
  const { u } = layout;
  const body = `let row = wg;
if (row >= ${u.rows}) { return; }
let len = ${u.len};
let inner = ${u.inner};
let base = (row / inner) * len * inner + row % inner;
var m = neg_inf();
for (var j = lid; j < len; j = j + ${WG}u) { m = ${maxOf('m', 'x[base + j * inner]')}; }
${workgroupReduce('mx', 'm', maxOf)}
var s = 0.0;
for (var j = lid; j < len; j = j + ${WG}u) { s = s + exp_f32(x[base + j * inner] - mx); }
${workgroupReduce('total', 's', sumOf)}
for (var j = lid; j < len; j = j + ${WG}u) { y[base + j * inner] = exp_f32(x[base + j * inner] - mx) / total; }`;
  const wgsl = rowShader(
    body,
    [
      { name: 'x', write: false },
      { name: 'y', write: true },
    ],
    layout,
  );
  return [
    {
      wgsl,
      bindings: [{ in: 0 }, { out: 0 }],
      uniforms: layout.fill({ rows, len, inner }),
      workgroups: rows,
    },
  ];
};

/** The norms' rows: `rows` of `len` contiguous elements, and eps. */
const NORM_UNIFORMS = uniforms({ rows: 'u32', len: 'u32', eps: 'f32' });

/**
 * layer_norm (`centre`) and rms_norm: one workgroup per row of the normalised axes; the
 * mean (layer_norm), then the mean square of x − mean (of x for rms_norm).
 */
const norm =
  <K extends 'layer_norm' | 'rms_norm'>(centre: boolean): KernelFactory<K> =>
  (attrs, ctx) => {
    const a = attrs as { axis: number; eps: number };
    const x = ctx.inShapes[0]!;
    const ax = normAxis(a.axis, x.length)!;
    const len = numel(x.slice(ax));
    const rows = numel(x.slice(0, ax));
    if (len === 0 || rows === 0) return [];
    const hasW = ctx.inShapes.length > 1;
    const hasB = ctx.inShapes.length > 2;
    const { u } = NORM_UNIFORMS;
    const y = `(x[base + j] - mean) * inv${hasW ? ' * w[j]' : ''}${hasB ? ' + b[j]' : ''}`;
    const body = `let row = wg;
if (row >= ${u.rows}) { return; }
let len = ${u.len};
let base = row * len;
${
  centre
    ? `var s = 0.0;
for (var j = lid; j < len; j = j + ${WG}u) { s = s + x[base + j]; }
${workgroupReduce('sum', 's', sumOf)}
let mean = sum / f32(len);`
    : 'let mean = 0.0;'
}
var v = 0.0;
for (var j = lid; j < len; j = j + ${WG}u) { let d = x[base + j] - mean; v = v + d * d; }
${workgroupReduce('ss', 'v', sumOf)}
let inv = 1.0 / sqrt(ss / f32(len) + ${u.eps});
for (var j = lid; j < len; j = j + ${WG}u) { y[base + j] = ${y}; }`;
    const bindings = [
      { name: 'x', write: false },
      ...(hasW ? [{ name: 'w', write: false }] : []),
      ...(hasB ? [{ name: 'b', write: false }] : []),
      { name: 'y', write: true },
    ];
    const wgsl = rowShader(body, bindings, NORM_UNIFORMS);
    return [
      {
        wgsl,
        bindings: [...ctx.inShapes.map((_, i) => ({ in: i })), { out: 0 }],
        uniforms: NORM_UNIFORMS.fill({ rows, len, eps: a.eps }),
        workgroups: rows,
      },
    ];
  };
export const layer_norm = norm<'layer_norm'>(true);
export const rms_norm = norm<'rms_norm'>(false);

/**
 * reduce_sum / reduce_mean / reduce_max over any axes: one invocation per output element.
 * Max keeps the first NaN it meets (NaN propagates), as the ir's REDUCERS do.
 */
const WGSL_REDUCE: Record<ReduceKind, { init: string; combine: string }> = {
  sum: { init: '0.0', combine: 's + v' },
  mean: { init: '0.0', combine: 's + v' },
  max: { init: 'neg_inf()', combine: 'select(select(s, v, v > s), v, is_nan(v))' },
};
function reduce<K extends 'reduce_sum' | 'reduce_mean' | 'reduce_max'>(
  kind: ReduceKind,
): KernelFactory<K> {
  const mean = kind === 'mean';
  const { init, combine } = WGSL_REDUCE[kind];
  return (a, ctx) => {
    const x = ctx.inShapes[0]!;
    const axes = reduceAxes([{ dtype: 'f32', shape: x }], (a as { axes: readonly number[] }).axes);
    const st = stridesOf(x);
    const kept = x.map((_, i) => i).filter((i) => !axes.includes(i));
    const nOut = numel(kept.map((i) => x[i]!));
    const nRed = numel(axes.map((i) => x[i]!));
    if (nOut === 0) return [];
    const t = storageType(ctx.inTypes[0]!);
    // Output elements over the kept axes, each a loop over the reduced ones.
    const layout = uniforms({
      nOut: 'u32',
      nRed: 'u32',
      keptDims: ['u32', kept.length],
      keptStrides: ['u32', kept.length],
      redDims: ['u32', axes.length],
      redStrides: ['u32', axes.length],
    });
    const { u } = layout;
    const body = `let gid = wg * ${WG}u + lid;
if (gid >= ${u.nOut}) { return; }
${unravel('gid', u.keptDims, 'k')}
let base = ${offsetExpr('0u', u.keptStrides, 'k')};
var s = ${t === 'i32' ? '0' : init};
for (var r = 0u; r < ${u.nRed}; r = r + 1u) {
${unravel('r', u.redDims, 'a')}
  let v = x[base + ${offsetExpr('0u', u.redStrides, 'a')}];
  s = ${combine};
}
y[gid] = ${mean ? `s / f32(${u.nRed})` : 's'};`;
    const wgsl = shader({
      bindings: [
        { name: 'x', type: t, write: false },
        { name: 'y', type: t, write: true },
      ],
      uniforms: layout,
      workgroupSize: WG,
      body,
    });
    return [
      {
        wgsl,
        bindings: [{ in: 0 }, { out: 0 }],
        uniforms: layout.fill({
          nOut,
          nRed,
          keptDims: kept.map((i) => x[i]!),
          keptStrides: kept.map((i) => st[i]!),
          redDims: axes.map((i) => x[i]!),
          redStrides: axes.map((i) => st[i]!),
        }),
        workgroups: Math.ceil(nOut / WG),
      } satisfies Dispatch,
    ];
  };
}

export const reduce_sum = reduce<'reduce_sum'>('sum');
export const reduce_mean = reduce<'reduce_mean'>('mean');
export const reduce_max = reduce<'reduce_max'>('max');

/**
 * One invocation per lane along `axis` of the input (outer × inner lanes, n elements each,
 * `inner` apart): `body` walks its lane from `base` and writes y (and y1, …, one binding
 * per storage type of `outs`). The shape of argmax, argmin, cumsum and topk.
 */
function laneDispatch(
  ctx: KernelCtx,
  axis: number,
  outs: readonly Storage[],
  body: (u: { n: string; inner: string }) => string,
): Dispatch[] {
  const x = ctx.inShapes[0]!;
  const ax = normAxis(axis, x.length)!;
  const [n, inner, outer] = [x[ax]!, numel(x.slice(ax + 1)), numel(x.slice(0, ax))];
  if (outer * inner * n === 0) return [];
  const layout = uniforms({ nLanes: 'u32', n: 'u32', inner: 'u32' });
  const { u } = layout;
  const wgsl = shader({
    bindings: [
      { name: 'x', type: storageType(ctx.inTypes[0]!), write: false },
      ...outs.map((type, i) => ({ name: i ? `y${i}` : 'y', type, write: true })),
    ],
    uniforms: layout,
    workgroupSize: WG,
    body: `let gid = wg * ${WG}u + lid;
if (gid >= ${u.nLanes}) { return; }
let base = (gid / ${u.inner}) * ${u.n} * ${u.inner} + gid % ${u.inner};
${body(u)}`,
  });
  return [
    {
      wgsl,
      bindings: [{ in: 0 }, ...outs.map((_, i) => ({ out: i }))],
      uniforms: layout.fill({ nLanes: outer * inner, n, inner }),
      workgroups: Math.ceil((outer * inner) / WG),
    } satisfies Dispatch,
  ];
}

/**
 * argmax / argmin: each lane from its first element; a later one replaces the best by the
 * ir's rule (argBetter): better, or equal with select_last; NaN beats every number.
 */
function argReduce<K extends 'argmax' | 'argmin'>(kind: ArgKind): KernelFactory<K> {
  return (attrs, ctx) => {
    const a = attrs as ArgReduceAttrs;
    const cmp = (kind === 'max' ? '>' : '<') + (a.select_last ? '=' : '');
    const float = storageType(ctx.inTypes[0]!) === 'f32';
    const nan = !float ? '' : a.select_last ? ' || is_nan(v)' : ' || (is_nan(v) && !is_nan(bv))';
    // y holds the lane's index: one per lane, at the lane's number gid.
    return laneDispatch(
      ctx,
      a.axis,
      ['i32'],
      (u) => `var best = 0u;
var bv = x[base];
for (var j = 1u; j < ${u.n}; j = j + 1u) {
  let v = x[base + j * ${u.inner}];
  if (v ${cmp} bv${nan}) { best = j; bv = v; }
}
y[gid] = i32(best);`,
    );
  };
}
export const argmax = argReduce<'argmax'>('max');
export const argmin = argReduce<'argmin'>('min');

/**
 * cumsum: each lane's running sum in the storage type (f32, or i32 wrapping as the op's
 * integers do), in order or from the end, as the reference orders it (an inclusive sum
 * from the lane's first element, an exclusive one from +0).
 */
export const cumsum: KernelFactory<'cumsum'> = (a, ctx) => {
  const t = storageType(ctx.inTypes[0]!);
  return laneDispatch(ctx, a.axis, [t], (u) => {
    const at = a.reverse ? `${u.n} - 1u - k` : 'k';
    return `var s = ${t === 'i32' ? '0' : '0.0'};
for (var k = 0u; k < ${u.n}; k = k + 1u) {
  let p = base + (${at}) * ${u.inner};
  let v = x[p];
  let next = ${a.exclusive ? 's + v' : 'select(s + v, v, k == 0u)'};
  y[p] = ${a.exclusive ? 's' : 'next'};
  s = next;
}`;
  });
};

/**
 * topk: one invocation per lane, k passes over it (no scratch memory): pass r picks the
 * first element, by the ops' order (topkBefore), of those after pass r − 1's pick. y holds
 * the values, y1 the indices.
 */
export const topk: KernelFactory<'topk'> = (a, ctx) => {
  const t = storageType(ctx.inTypes[0]!);
  const nan = (v: string) => (t === 'f32' ? `is_nan(${v})` : 'false');
  // above(p, q): p before q regardless of index; larger first, NaN above every number.
  const above = (p: string, q: string) =>
    a.largest
      ? `(${p} > ${q} || (${nan(p)} && !${nan(q)}))`
      : `(${p} < ${q} || (${nan(q)} && !${nan(p)}))`;
  const before = (p: string, ip: string, q: string, iq: string) =>
    `(${above(p, q)} || (!${above(q, p)} && ${ip} < ${iq}))`;
  if (a.k === 0) return [];
  return laneDispatch(ctx, a.axis, [t, 'i32'], (u) => {
    return `let lane = gid / ${u.inner};
let ob = lane * ${a.k}u * ${u.inner} + gid % ${u.inner};
var pv = x[base];
var pi = 0u;
for (var r = 0u; r < ${a.k}u; r = r + 1u) {
  var bi = ${u.n};
  var bv = x[base];
  for (var j = 0u; j < ${u.n}; j = j + 1u) {
    let v = x[base + j * ${u.inner}];
    if ((r == 0u || ${before('pv', 'pi', 'v', 'j')}) && (bi == ${u.n} || ${before('v', 'j', 'bv', 'bi')})) {
      bi = j;
      bv = v;
    }
  }
  y[ob + r * ${u.inner}] = bv;
  y1[ob + r * ${u.inner}] = i32(bi);
  pv = bv;
  pi = bi;
}`;
  });
};
