import type { ReduceKind } from '@glimpse/ir';
import type { ArgKind, ArgReduceAttrs } from '@glimpse/ir';
import { isInt, topkBefore } from '@glimpse/ir';
import { argBetter, normAxis, numel, reduceAxes, REDUCERS } from '@glimpse/ir';
import type { KernelFactory } from './types.js';
import { broadcastStrides, walk } from './strided.js';

/**
 * The lanes along `axis` of `shape`: `outer` × `inner` of them, `n` elements each, `inner`
 * apart; lane (o, i) starts at o·n·inner + i and is lane number o·inner + i.
 */
function axisLanes(shape: readonly number[], axis: number) {
  const ax = normAxis(axis, shape.length)!;
  return { n: shape[ax]!, inner: numel(shape.slice(ax + 1)), outer: numel(shape.slice(0, ax)) };
}

/** Stable softmax along any axis, as (outer, n, inner) lanes. */
export const softmax: KernelFactory<'softmax'> = (a, ctx) => {
  const { n, inner, outer } = axisLanes(ctx.inShapes[0]!, a.axis);
  return ([xb], [yb]) => {
    const x = xb as Float32Array;
    const y = yb as Float32Array;
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) {
        const base = o * n * inner + i;
        let m = -Infinity;
        for (let j = 0, p = base; j < n; j++, p += inner)
          m = x[p]! > m || x[p] !== x[p] ? x[p]! : m;
        // m is NaN if any entry is; the sum below then makes the whole lane NaN, as the
        // formula does. A lane of only -inf gives (-inf) - (-inf) = NaN, also as the formula.
        let sum = 0;
        for (let j = 0, p = base; j < n; j++, p += inner) {
          const e = Math.exp(x[p]! - m);
          y[p] = e;
          sum += e;
        }
        const r = 1 / sum;
        for (let j = 0, p = base; j < n; j++, p += inner) y[p] = y[p]! * r;
      }
  };
};

/** argmax / argmin: each (outer, inner) lane's index by the ops' rule (argBetter). */
function argKernel<K extends 'argmax' | 'argmin'>(kind: ArgKind): KernelFactory<K> {
  return (attrs, ctx) => {
    const a = attrs as ArgReduceAttrs;
    const better = argBetter(kind, a.select_last);
    const { n, inner, outer } = axisLanes(ctx.inShapes[0]!, a.axis);
    return ([x], [y]) => {
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < inner; i++) {
          const base = o * n * inner + i;
          let best = 0;
          for (let j = 1; j < n; j++)
            if (better(x![base + j * inner]!, x![base + best * inner]!)) best = j;
          y![o * inner + i] = best;
        }
    };
  };
}
export const argmax = argKernel<'argmax'>('max');
export const argmin = argKernel<'argmin'>('min');

/**
 * cumsum: each (outer, inner) lane's running sum in float64 (integers wrap as int32), from
 * the lane's first element (as the reference).
 */
export const cumsum: KernelFactory<'cumsum'> = (a, ctx) => {
  const { n, inner, outer } = axisLanes(ctx.inShapes[0]!, a.axis);
  const int = isInt(ctx.inTypes[0]!);
  const [first, step] = a.reverse ? [n - 1, -1] : [0, 1];
  return ([x], [y]) => {
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) {
        let sum = 0;
        for (let k = 0, j = first; k < n; k++, j += step) {
          const p = o * n * inner + j * inner + i;
          const v = x![p]!;
          const next = k === 0 && !a.exclusive ? v : int ? (sum + v) | 0 : sum + v;
          y![p] = a.exclusive ? sum : next;
          sum = next;
        }
      }
  };
};

/** topk: each (outer, inner) lane's indices sorted by the ops' order (topkBefore), the first k. */
export const topk: KernelFactory<'topk'> = (a, ctx) => {
  const { n, inner, outer } = axisLanes(ctx.inShapes[0]!, a.axis);
  const before = topkBefore(a.largest);
  const order = Array.from({ length: n }, (_, j) => j);
  return ([x], [values, indices]) => {
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) {
        const at = (j: number) => x![o * n * inner + j * inner + i]!;
        order.sort((p, q) => (before(at(p), p, at(q), q) ? -1 : 1));
        for (let r = 0; r < a.k; r++) {
          const out = o * a.k * inner + r * inner + i;
          values![out] = at(order[r]!);
          indices![out] = order[r]!;
        }
      }
  };
};

function reduceKernel<K extends 'reduce_sum' | 'reduce_mean' | 'reduce_max'>(
  kind: ReduceKind,
): KernelFactory<K> {
  const { init, combine } = REDUCERS[kind];
  return (a, ctx) => {
    const s = ctx.inShapes[0]!;
    const ax = reduceAxes([{ dtype: 'f32', shape: s }], (a as { axes: readonly number[] }).axes);
    const kept = s.map((d, i) => (ax.includes(i) ? 1 : d));
    const st = [broadcastStrides(kept, s)];
    const count = numel(ax.map((i) => s[i]!));
    const acc = new Float64Array(numel(kept));
    return ([x], [y]) => {
      acc.fill(init);
      walk(s, st, (i, [o]) => (acc[o!] = combine(acc[o!]!, x![i]!)));
      for (let i = 0; i < acc.length; i++) y![i] = kind === 'mean' ? acc[i]! / count : acc[i]!;
    };
  };
}
export const reduce_sum = reduceKernel<'reduce_sum'>('sum');
export const reduce_mean = reduceKernel<'reduce_mean'>('mean');
export const reduce_max = reduceKernel<'reduce_max'>('max');

/** layer_norm (`centre`: x − mean) and rms_norm (x, its mean square): one row at a time. */
const norm =
  <K extends 'layer_norm' | 'rms_norm'>(centre: boolean): KernelFactory<K> =>
  (attrs, ctx) => {
    const a = attrs as { axis: number; eps: number };
    const s = ctx.inShapes[0]!;
    const inner = numel(s.slice(normAxis(a.axis, s.length)));
    const rows = inner === 0 ? 0 : numel(s) / inner;
    const hasW = ctx.inShapes.length > 1;
    const hasB = ctx.inShapes.length > 2;
    const eps = a.eps;
    return ([xb, wb, bb], [yb]) => {
      const x = xb as Float32Array;
      const y = yb as Float32Array;
      for (let r = 0; r < rows; r++) {
        const base = r * inner;
        let mean = 0;
        if (centre) {
          for (let i = 0; i < inner; i++) mean += x[base + i]!;
          mean /= inner;
        }
        let v = 0;
        for (let i = 0; i < inner; i++) {
          const d = x[base + i]! - mean;
          v += d * d;
        }
        const rstd = 1 / Math.sqrt(v / inner + eps);
        for (let i = 0; i < inner; i++) {
          let o = (x[base + i]! - mean) * rstd;
          if (hasW) o *= wb![i]!;
          if (hasB) o += bb![i]!;
          y[base + i] = o;
        }
      }
    };
  };
export const layer_norm = norm<'layer_norm'>(true);
export const rms_norm = norm<'rms_norm'>(false);
