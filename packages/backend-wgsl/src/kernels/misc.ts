import { numel } from '@glimpse/ir';
import { Params, shader, storageType } from '../wgsl.js';
import type { KernelFactory } from './types.js';

/**
 * Rows of the weight picked by ids. An id out of range cannot throw on the GPU: the kernel
 * writes 0 and records the step and the first bad position in the status words, and the
 * run then fails with a RuntimeError naming them.
 */
export const embedding: KernelFactory<'embedding'> = (_a, ctx) => {
  const [num, dim] = ctx.inShapes[1] as [number, number];
  const n = numel(ctx.inShapes[0]!) * dim;
  if (n === 0) return [];
  const P = new Params();
  P.u32(n, num, dim, ctx.step + 1);
  const body = `let gid = wg * 64u + lid;
if (gid >= p(0u)) { return; }
let i = gid / p(2u);
let id = ids[i];
if (id < 0 || u32(id) >= p(1u)) {
  atomicStore(&status[0], p(3u));
  atomicMin(&status[1], i);
  y[gid] = 0.0;
  return;
}
y[gid] = w[u32(id) * p(2u) + gid % p(2u)];`;
  const wgsl = shader({
    bindings: [
      { name: 'ids', type: 'i32', write: false },
      { name: 'w', type: 'f32', write: false },
      { name: 'y', type: 'f32', write: true },
      { name: 'status', type: 'atomic<u32>', write: true },
    ],
    paramWords: P.words.length,
    workgroupSize: 64,
    body,
  });
  return [
    {
      wgsl,
      bindings: [{ in: 0 }, { in: 1 }, { out: 0 }, 'status'],
      params: P,
      workgroups: Math.ceil(n / 64),
      badData: (pos) => `embedding index out of range [0, ${num}) at position ${pos}`,
    },
  ];
};

/** Entries along an axis picked by indices (negative from the end); bad indices as for embedding. */
export const gather: KernelFactory<'gather'> = (a, ctx) => {
  const s = ctx.inShapes[0]!;
  const ax = a.axis < 0 ? a.axis + s.length : a.axis;
  const [outer, n, inner] = [numel(s.slice(0, ax)), s[ax]!, numel(s.slice(ax + 1))];
  const k = numel(ctx.inShapes[1]!);
  const total = outer * k * inner;
  if (total === 0) return [];
  const P = new Params();
  P.u32(total, n, k, inner, ctx.step + 1);
  const type = storageType(ctx.outTypes[0]!);
  const body = `let gid = wg * 64u + lid;
if (gid >= p(0u)) { return; }
let r = gid % p(3u);
let i = (gid / p(3u)) % p(2u);
let o = gid / p(3u) / p(2u);
let n = i32(p(1u));
let raw = idx[i];
if (raw < -n || raw >= n) {
  atomicStore(&status[0], p(4u));
  atomicMin(&status[1], i);
  return;
}
let j = u32(select(raw, raw + n, raw < 0));
y[gid] = x[(o * p(1u) + j) * p(3u) + r];`;
  const wgsl = shader({
    bindings: [
      { name: 'x', type, write: false },
      { name: 'idx', type: 'i32', write: false },
      { name: 'y', type, write: true },
      { name: 'status', type: 'atomic<u32>', write: true },
    ],
    paramWords: P.words.length,
    workgroupSize: 64,
    body,
  });
  return [
    {
      wgsl,
      bindings: [{ in: 0 }, { in: 1 }, { out: 0 }, 'status'],
      params: P,
      workgroups: Math.ceil(total / 64),
      badData: (pos) => `gather index out of range [${-n}, ${n}) at position ${pos}`,
    },
  ];
};
