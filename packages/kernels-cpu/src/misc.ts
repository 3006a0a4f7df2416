import type { Node } from '@glimpse/ir';
import { numel, RuntimeError } from '@glimpse/ir';
import type { KernelFactory } from './types.js';

/**
 * Index `raw` at position `pos` into an axis of `n`, checked: [0, n) for embedding, [−n, n)
 * counting from the end for gather (made non-negative). Every CPU-side gather checks here.
 */
export function checkIndex(
  raw: number,
  n: number,
  pos: number,
  negative: boolean,
  op: 'embedding' | 'gather',
  node: Node,
): number {
  const lo = negative ? -n : 0;
  if (!(raw >= lo && raw < n))
    throw new RuntimeError(`${op} index ${raw} out of range [${lo}, ${n}) at position ${pos}`, {
      node: node.outputs[0]!,
      op,
    });
  return raw < 0 ? raw + n : raw;
}

export const embedding: KernelFactory<'embedding'> = (_a, ctx) => {
  const [num, dim] = ctx.inShapes[1] as [number, number];
  const n = numel(ctx.inShapes[0]!);
  return ([ids, w], [y]) => {
    for (let i = 0; i < n; i++) {
      const id = checkIndex(ids![i]!, num, i, false, 'embedding', ctx.node);
      y!.set(w!.subarray(id * dim, (id + 1) * dim), i * dim);
    }
  };
};

export const gather: KernelFactory<'gather'> = (a, ctx) => {
  const s = ctx.inShapes[0]!;
  const ax = a.axis < 0 ? a.axis + s.length : a.axis;
  const [outer, n, inner] = [numel(s.slice(0, ax)), s[ax]!, numel(s.slice(ax + 1))];
  const k = numel(ctx.inShapes[1]!);
  return ([x, idx], [y]) => {
    for (let i = 0; i < k; i++) {
      const j = checkIndex(idx![i]!, n, i, true, 'gather', ctx.node);
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
