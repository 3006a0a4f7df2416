import { broadcastStrides, normAxis, numel, sliceRange, stridesOf } from '@glimpse/ir';
import type { Buf } from '@glimpse/runtime';
import { walk } from './strided.js';
import type { KernelFactory } from './types.js';

export const transpose: KernelFactory<'transpose'> = (a, ctx) => {
  const st = stridesOf(ctx.inShapes[0]!);
  const out = ctx.outShapes[0]!;
  const pst = [a.perm.map((p) => st[p]!)];
  return ([x], [y]) => walk(out, pst, (o, [i]) => (y![o] = x![i!]!));
};

/** Copy `len` elements of each of `outer` rows between strided row layouts. */
function copyRows(
  src: Buf,
  srcOff: number,
  srcRow: number,
  dst: Buf,
  dstOff: number,
  dstRow: number,
  outer: number,
  len: number,
) {
  for (let o = 0; o < outer; o++)
    dst.set(src.subarray(srcOff + o * srcRow, srcOff + o * srcRow + len), dstOff + o * dstRow);
}

export const concat: KernelFactory<'concat'> = (a, ctx) => {
  const out = ctx.outShapes[0]!;
  const ax = normAxis(a.axis, out.length)!;
  const outer = numel(out.slice(0, ax));
  const inner = numel(out.slice(ax + 1));
  const row = out[ax]! * inner;
  return (ins, [y]) => {
    let pos = 0;
    ins.forEach((x, i) => {
      const len = ctx.inShapes[i]![ax]! * inner;
      copyRows(x, 0, len, y!, pos, row, outer, len);
      pos += len;
    });
  };
};

function sliceCopy(shape: number[], ax: number) {
  const outer = numel(shape.slice(0, ax));
  const inner = numel(shape.slice(ax + 1));
  const row = shape[ax]! * inner;
  return (x: Buf, start: number, end: number, y: Buf) =>
    copyRows(x, start * inner, row, y, 0, (end - start) * inner, outer, (end - start) * inner);
}

export const split: KernelFactory<'split'> = (a, ctx) => {
  const s = ctx.inShapes[0]!;
  const ax = normAxis(a.axis, s.length)!;
  const copy = sliceCopy(s, ax);
  return ([x], outs) => {
    let start = 0;
    a.sizes.forEach((n, i) => {
      copy(x!, start, start + n, outs[i]!);
      start += n;
    });
  };
};

export const slice: KernelFactory<'slice'> = (a, ctx) => {
  const s = ctx.inShapes[0]!;
  const ax = normAxis(a.axis, s.length)!;
  const [start, end] = sliceRange(s[ax]!, a.start, a.end);
  const copy = sliceCopy(s, ax);
  return ([x], [y]) => copy(x!, start, end, y!);
};

/** reshape is a view: the planner aliases its output to its input, so nothing runs. */
export const reshape: KernelFactory<'reshape'> = () => () => {};

export const expand: KernelFactory<'expand'> = (_a, ctx) => {
  const out = ctx.outShapes[0]!;
  const st = [broadcastStrides(ctx.inShapes[0]!, out)];
  return ([x], [y]) => walk(out, st, (o, [i]) => (y![o] = x![i!]!));
};
