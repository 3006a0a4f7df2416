import type { Node } from '@glimpse/ir';
import { fromNumbers, gatherElementsIndexer, numel, RuntimeError, toNumbers } from '@glimpse/ir';
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

export const gather_elements: KernelFactory<'gather_elements'> = (a, ctx) => {
  const pick = gatherElementsIndexer(ctx.inShapes[0]!, ctx.inShapes[1]!, a.axis, ctx.node);
  const k = numel(ctx.inShapes[1]!);
  return ([x, idx], [y]) => {
    for (let p = 0; p < k; p++) y![p] = x![pick(p, idx![p]!)]!;
  };
};

export const constant: KernelFactory<'constant'> = (a) => {
  // The elements as the dtype stores them (an f16 constant rounded to f16: 0.1 is
  // 0.0999755859375, 1e5 is inf), as the reference and the other backends hold them.
  const v = toNumbers(fromNumbers(a.dtype, [a.value.length], a.value));
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

/** A depthwise window index at `pos`, checked: [−1, S) (−1: padding). */
export function checkWindowIndex(v: number, S: number, pos: number, node: Node): number {
  if (!(v >= -1 && v < S))
    throw new RuntimeError(`depthwise index ${v} out of range [-1, ${S}) at position ${pos}`, {
      node: node.outputs[0]!,
      op: 'depthwise',
    });
  return v;
}

/** Σₖ x[n, idx[p, k], c] · w[k, c] from +0, in k order, then + b[c]; an idx of −1 reads 0. */
export const depthwise: KernelFactory<'depthwise'> = (_a, ctx) => {
  const [N, S, C] = ctx.inShapes[0] as [number, number, number];
  const [P, K] = ctx.inShapes[1] as [number, number];
  const hasB = ctx.inShapes.length > 3;
  return ([x, idx, w, b], [y]) => {
    for (let i = 0; i < P * K; i++) checkWindowIndex(idx![i]!, S, i, ctx.node);
    for (let n = 0; n < N; n++)
      for (let p = 0; p < P; p++)
        for (let c = 0; c < C; c++) {
          let s = 0;
          for (let k = 0; k < K; k++) {
            const i = idx![p * K + k]!;
            s += (i < 0 ? 0 : x![(n * S + i) * C + c]!) * w![k * C + c]!;
          }
          y![(n * P + p) * C + c] = hasB ? s + b![c]! : s;
        }
  };
};
