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
