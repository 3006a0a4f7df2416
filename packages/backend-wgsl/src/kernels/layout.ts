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

/**
 * Copies between a whole tensor and its pieces along `ax` (concat: pieces → whole; split:
 * whole → pieces); empty pieces need none.
 */
function pieces(
  ctx: KernelCtx,
  whole: readonly number[],
  parts: readonly (readonly number[])[],
  ax: number,
  toWhole: boolean,
): Dispatch[] {
  const wst = stridesOf(whole);
  let at = 0;
  return parts.flatMap((s, i) => {
    const w = { base: at * wst[ax]!, strides: wst };
    const part = { base: 0, strides: stridesOf(s) };
    at += s[ax]!;
    if (s.some((d) => d === 0)) return [];
    return [
      toWhole
        ? copy(ctx, s, { in: i, ...part }, { out: 0, ...w })
        : copy(ctx, s, { in: 0, ...w }, { out: i, ...part }),
    ];
  });
}

export const concat: KernelFactory<'concat'> = (a, ctx) => {
  const out = ctx.outShapes[0]!;
  return pieces(ctx, out, ctx.inShapes, normAxis(a.axis, out.length)!, true);
};

export const split: KernelFactory<'split'> = (a, ctx) => {
  const x = ctx.inShapes[0]!;
  return pieces(ctx, x, ctx.outShapes, normAxis(a.axis, x.length)!, false);
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
