import { normAxis, sliceRange, stridesOf } from '@glimpse/ir';
import { storageType } from '../wgsl.js';
import { mapDispatch } from './map.js';
import type { Dispatch, KernelCtx, KernelFactory } from './types.js';

/** A copy between two strided views: the layout ops are all made of these. */
function copy(
  ctx: KernelCtx,
  shape: readonly number[],
  src: { in: number; base: number; strides: readonly number[] },
  dst: { out: number; base: number; strides: readonly number[] },
): Dispatch {
  const type = storageType(ctx.outTypes[0]!);
  return mapDispatch({
    shape,
    ins: [{ ref: { in: src.in }, type, base: src.base, strides: src.strides }],
    out: { ref: { out: dst.out }, type, base: dst.base, strides: dst.strides },
    expr: ([x]) => x!,
  });
}

export const transpose: KernelFactory<'transpose'> = (a, ctx) => {
  const inSt = stridesOf(ctx.inShapes[0]!);
  const out = ctx.outShapes[0]!;
  return [
    copy(
      ctx,
      out,
      { in: 0, base: 0, strides: a.perm.map((p) => inSt[p]!) },
      { out: 0, base: 0, strides: stridesOf(out) },
    ),
  ];
};

export const slice: KernelFactory<'slice'> = (a, ctx) => {
  const x = ctx.inShapes[0]!;
  const ax = normAxis(a.axis, x.length)!;
  const [s] = sliceRange(x[ax]!, a.start, a.end);
  const st = stridesOf(x);
  const out = ctx.outShapes[0]!;
  return [
    copy(
      ctx,
      out,
      { in: 0, base: s * st[ax]!, strides: st },
      { out: 0, base: 0, strides: stridesOf(out) },
    ),
  ];
};

export const concat: KernelFactory<'concat'> = (a, ctx) => {
  const out = ctx.outShapes[0]!;
  const ax = normAxis(a.axis, out.length)!;
  const ost = stridesOf(out);
  let at = 0;
  return ctx.inShapes.flatMap((s, i) => {
    const base = at * ost[ax]!;
    at += s[ax]!;
    return s.some((d) => d === 0)
      ? []
      : [copy(ctx, s, { in: i, base: 0, strides: stridesOf(s) }, { out: 0, base, strides: ost })];
  });
};

export const split: KernelFactory<'split'> = (a, ctx) => {
  const x = ctx.inShapes[0]!;
  const ax = normAxis(a.axis, x.length)!;
  const st = stridesOf(x);
  let at = 0;
  return ctx.outShapes.flatMap((s, i) => {
    const base = at * st[ax]!;
    at += s[ax]!;
    return s.some((d) => d === 0)
      ? []
      : [copy(ctx, s, { in: 0, base, strides: st }, { out: i, base: 0, strides: stridesOf(s) })];
  });
};

export const tril: KernelFactory<'tril'> = (a, ctx) => {
  const out = ctx.outShapes[0]!;
  return [
    mapDispatch({
      shape: out,
      ins: [],
      out: { ref: { out: 0 }, type: 'u32', strides: stridesOf(out) },
      expr: () => `select(0u, 1u, i32(c1) - i32(c0) <= ${a.k | 0})`,
      usesCoords: true,
    }),
  ];
};
