import { numel, stridesOf } from '@glimpse/ir';
import { uniforms } from '../uniforms.js';
import type { BindingDecl, Storage } from '../wgsl.js';
import { offsetExpr, shader, storageType, unravel } from '../wgsl.js';
import type { Dispatch, KernelCtx, KernelFactory } from './types.js';

/** A pick's uniforms: `total` outputs, `n` entries per row, `k` indices, `inner` per entry. */
const PICK_UNIFORMS = uniforms({
  total: 'u32',
  n: 'u32',
  k: 'u32',
  inner: 'u32',
  /** The step + 1: what the status words record. */
  step: 'u32',
});

/**
 * WGSL of an index `raw` checked against [-n, n) (`negative`) or [0, n): outside, the
 * invocation records `step` and its position `pos` in the status words and returns;
 * inside, `j` is the entry it picks.
 */
const checkedIndex = (raw: string, n: string, pos: string, step: string, negative: boolean) =>
  `let n = i32(${n});
let raw = ${raw};
if (raw < ${negative ? '-n' : '0'} || raw >= n) {
  atomicStore(&status[0], ${step});
  atomicMin(&status[1], ${pos});
  return;
}
let j = u32(select(raw, raw + n, raw < 0));`;

/** The bindings of an index kernel: x, the i32 indices, y, the status words. */
const indexBindings = (type: Storage): BindingDecl[] => [
  { name: 'x', type, write: false },
  { name: 'idx', type: 'i32', write: false },
  { name: 'y', type, write: true },
  { name: 'status', type: 'atomic<u32>', write: true },
];

/**
 * Pick entries of `x` viewed as [outer, n, inner] at `k` integer indices: out is
 * [outer, k, inner]. An index out of range cannot throw on the GPU: the kernel writes
 * nothing there and records the step and the first bad position in the status words, and
 * the run then fails with a RuntimeError naming the node (`message`).
 */
function pick(
  ctx: KernelCtx,
  o: {
    x: number;
    idx: number;
    dims: [outer: number, n: number, inner: number];
    k: number;
    negative: boolean;
    message: (pos: number) => string;
  },
): Dispatch[] {
  const [outer, n, inner] = o.dims;
  const total = outer * o.k * inner;
  if (total === 0) return [];
  const { u } = PICK_UNIFORMS;
  const type = storageType(ctx.outTypes[0]!);
  const body = `let gid = wg * 64u + lid;
if (gid >= ${u.total}) { return; }
let r = gid % ${u.inner};
let i = (gid / ${u.inner}) % ${u.k};
let b = gid / ${u.inner} / ${u.k};
${checkedIndex('idx[i]', u.n, 'i', u.step, o.negative)}
y[gid] = x[(b * ${u.n} + j) * ${u.inner} + r];`;
  const wgsl = shader({
    bindings: indexBindings(type),
    uniforms: PICK_UNIFORMS,
    workgroupSize: 64,
    body,
  });
  return [
    {
      wgsl,
      bindings: [{ in: o.x }, { in: o.idx }, { out: 0 }, 'status'],
      uniforms: PICK_UNIFORMS.fill({ total, n, k: o.k, inner, step: ctx.step + 1 }),
      workgroups: Math.ceil(total / 64),
      badData: o.message,
    },
  ];
}

/** Rows of the weight [num, dim] picked by ids in [0, num). */
export const embedding: KernelFactory<'embedding'> = (_a, ctx) => {
  const [num, dim] = ctx.inShapes[1] as [number, number];
  return pick(ctx, {
    x: 1,
    idx: 0,
    dims: [1, num, dim],
    k: numel(ctx.inShapes[0]!),
    negative: false,
    message: (pos) => `embedding index out of range [0, ${num}) at position ${pos}`,
  });
};

/** Entries along an axis picked by indices in [-n, n) (negative from the end). */
export const gather: KernelFactory<'gather'> = (a, ctx) => {
  const s = ctx.inShapes[0]!;
  const ax = a.axis < 0 ? a.axis + s.length : a.axis;
  const n = s[ax]!;
  return pick(ctx, {
    x: 0,
    idx: 1,
    dims: [numel(s.slice(0, ax)), n, numel(s.slice(ax + 1))],
    k: numel(ctx.inShapes[1]!),
    negative: true,
    message: (pos) => `gather index out of range [${-n}, ${n}) at position ${pos}`,
  });
};

/**
 * gather_elements: one invocation per output (index) element, reading x where its own
 * coordinates address it but for the axis, which its index picks; an index outside
 * [-n, n) records the step and its position in the status words.
 */
export const gather_elements: KernelFactory<'gather_elements'> = (a, ctx) => {
  const [xs, is] = [ctx.inShapes[0]!, ctx.inShapes[1]!];
  const r = xs.length;
  const ax = a.axis < 0 ? a.axis + r : a.axis;
  const total = numel(is);
  if (total === 0) return [];
  const layout = uniforms({
    total: 'u32',
    dims: ['u32', r],
    xst: ['u32', r],
    n: 'u32',
    step: 'u32',
  });
  const { u } = layout;
  // The axis coordinate is the index's: x's stride on the axis is passed as 0 there.
  const body = `let gid = wg * 64u + lid;
if (gid >= ${u.total}) { return; }
${unravel('gid', u.dims)}
${checkedIndex('idx[gid]', u.n, 'gid', u.step, true)}
y[gid] = x[${offsetExpr(
    `j * ${u.xst[ax]!}`,
    u.xst.map((st, i) => (i === ax ? '0u' : st)),
  )}];`;
  const type = storageType(ctx.outTypes[0]!);
  const wgsl = shader({
    bindings: indexBindings(type),
    uniforms: layout,
    workgroupSize: 64,
    body,
  });
  const n = xs[ax]!;
  return [
    {
      wgsl,
      bindings: [{ in: 0 }, { in: 1 }, { out: 0 }, 'status'],
      uniforms: layout.fill({ total, dims: is, xst: stridesOf(xs), n, step: ctx.step + 1 }),
      workgroups: Math.ceil(total / 64),
      badData: (pos) => `gather_elements index out of range [${-n}, ${n}) at position ${pos}`,
    },
  ];
};

/** depthwise's uniforms: x is [N, S, C], the indices [P, K]; `step` as in a pick. */
const DEPTHWISE_UNIFORMS = uniforms({
  total: 'u32',
  S: 'u32',
  C: 'u32',
  P: 'u32',
  K: 'u32',
  step: 'u32',
});

/**
 * depthwise: one invocation per output element, Σₖ from +0 in k order; an index outside
 * [−1, S) records the step and its position in the status words (the run fails naming it).
 */
export const depthwise: KernelFactory<'depthwise'> = (_a, ctx) => {
  const [N, S, C] = ctx.inShapes[0] as [number, number, number];
  const [P, K] = ctx.inShapes[1] as [number, number];
  const total = N * P * C;
  if (total === 0) return [];
  const hasB = ctx.inShapes.length > 3;
  const { u } = DEPTHWISE_UNIFORMS;
  const body = `let gid = wg * 64u + lid;
if (gid >= ${u.total}) { return; }
let c = gid % ${u.C};
let q = (gid / ${u.C}) % ${u.P};
let n = gid / ${u.C} / ${u.P};
var s = 0.0;
for (var k = 0u; k < ${u.K}; k = k + 1u) {
  let i = idx[q * ${u.K} + k];
  if (i < -1 || i >= i32(${u.S})) {
    atomicStore(&status[0], ${u.step});
    atomicMin(&status[1], q * ${u.K} + k);
    return;
  }
  let v = select(x[(n * ${u.S} + u32(max(i, 0))) * ${u.C} + c], 0.0, i < 0);
  s = s + v * w[k * ${u.C} + c];
}
y[gid] = s${hasB ? ' + b[c]' : ''};`;
  const wgsl = shader({
    bindings: [
      { name: 'x', type: 'f32', write: false },
      { name: 'idx', type: 'i32', write: false },
      { name: 'w', type: 'f32', write: false },
      ...(hasB ? [{ name: 'b', type: 'f32' as const, write: false }] : []),
      { name: 'y', type: 'f32', write: true },
      { name: 'status', type: 'atomic<u32>', write: true },
    ],
    uniforms: DEPTHWISE_UNIFORMS,
    workgroupSize: 64,
    body,
  });
  return [
    {
      wgsl,
      bindings: [...ctx.inShapes.map((_, i) => ({ in: i })), { out: 0 }, 'status'],
      uniforms: DEPTHWISE_UNIFORMS.fill({ total, S, C, P, K, step: ctx.step + 1 }),
      workgroups: Math.ceil(total / 64),
      badData: (pos) => `depthwise index out of range [-1, ${S}) at position ${pos}`,
    },
  ];
};
