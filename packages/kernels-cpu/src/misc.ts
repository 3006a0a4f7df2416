import { numel, RuntimeError } from '@glimpse/ir';
import type { KernelFactory } from './types.js';

export const embedding: KernelFactory<'embedding'> = (_a, ctx) => {
  const [num, dim] = ctx.inShapes[1] as [number, number];
  const n = numel(ctx.inShapes[0]!);
  const where = { node: ctx.node.outputs[0]!, op: 'embedding' };
  return ([ids, w], [y]) => {
    for (let i = 0; i < n; i++) {
      const id = ids![i]!;
      if (!(id >= 0 && id < num))
        throw new RuntimeError(
          `embedding index ${id} out of range [0, ${num}) at position ${i}`,
          where,
        );
      y!.set(w!.subarray(id * dim, (id + 1) * dim), i * dim);
    }
  };
};

export const gather: KernelFactory<'gather'> = (a, ctx) => {
  const s = ctx.inShapes[0]!;
  const ax = a.axis < 0 ? a.axis + s.length : a.axis;
  const [outer, n, inner] = [numel(s.slice(0, ax)), s[ax]!, numel(s.slice(ax + 1))];
  const k = numel(ctx.inShapes[1]!);
  const where = { node: ctx.node.outputs[0]!, op: 'gather' };
  return ([x, idx], [y]) => {
    for (let i = 0; i < k; i++) {
      const raw = idx![i]!;
      if (!(raw >= -n && raw < n))
        throw new RuntimeError(
          `gather index ${raw} out of range [${-n}, ${n}) at position ${i}`,
          where,
        );
      const j = raw < 0 ? raw + n : raw;
      for (let o = 0; o < outer; o++)
        y!.set(x!.subarray((o * n + j) * inner, (o * n + j + 1) * inner), (o * k + i) * inner);
    }
  };
};

export const constant: KernelFactory<'constant'> = (a) => {
  const v = a.value;
  return (_ins, [y]) => {
    if (v.length === 1) y!.fill(v[0]!);
    else y!.set(v);
  };
};

export const tril: KernelFactory<'tril'> = (a, ctx) => {
  const [R, C] = ctx.outShapes[0] as [number, number];
  return (_ins, [y]) => {
    for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) y![i * C + j] = j - i <= a.k ? 1 : 0;
  };
};
