import type { BinaryOp, CompareOp, DType, UnaryOp } from '@glimpse/ir';
import { broadcastStrides, stridesOf } from '@glimpse/ir';
import { storageType } from '../wgsl.js';
import { mapDispatch, type MapOperand } from './map.js';
import { binaryExpr, castExpr, programConsts, programExpr, unaryExpr } from './scalar.js';
import type { KernelCtx, KernelFactory } from './types.js';

/** Inputs broadcast to the output shape, the output written contiguously. */
function broadcastMap(
  ctx: KernelCtx,
  outType: DType,
  expr: (xs: string[], ks: string[]) => string,
  consts: readonly number[] = [],
) {
  const out = ctx.outShapes[0]!;
  const ins: MapOperand[] = ctx.inShapes.map((s, i) => ({
    ref: { in: i },
    type: storageType(ctx.inTypes[i]!),
    strides: broadcastStrides(s, out),
  }));
  return [
    mapDispatch({
      shape: out,
      ins,
      out: { ref: { out: 0 }, type: storageType(outType), strides: stridesOf(out) },
      expr,
      consts,
    }),
  ];
}

export const binary =
  <K extends BinaryOp>(op: K): KernelFactory<K> =>
  (_a, ctx) => {
    const f = binaryExpr(op, storageType(ctx.inTypes[0]!));
    return broadcastMap(ctx, ctx.outTypes[0]!, ([a, b]) => f(a!, b!));
  };

export const unary =
  <K extends UnaryOp>(op: K): KernelFactory<K> =>
  (attrs, ctx) => {
    const factor = (attrs as { factor?: number }).factor;
    return broadcastMap(
      ctx,
      ctx.outTypes[0]!,
      ([x], [k]) => unaryExpr(op, k, storageType(ctx.inTypes[0]!))(x!),
      factor === undefined ? [] : [factor],
    );
  };

/** Comparisons and logic: u32 0/1 results (ordered comparisons: NaN is neither equal nor less). */
const COMPARE_WGSL: Record<CompareOp, (a: string, b: string) => string> = {
  equal: (a, b) => `select(0u, 1u, ${a} == ${b})`,
  less: (a, b) => `select(0u, 1u, ${a} < ${b})`,
  and: (a, b) => `select(0u, 1u, ${a} != 0u && ${b} != 0u)`,
  or: (a, b) => `select(0u, 1u, ${a} != 0u || ${b} != 0u)`,
};
export const compare =
  <K extends CompareOp>(op: K): KernelFactory<K> =>
  (_a, ctx) =>
    broadcastMap(ctx, 'bool', ([a, b]) => COMPARE_WGSL[op](a!, b!));

export const cast: KernelFactory<'cast'> = (a, ctx) => {
  const f = castExpr(ctx.inTypes[0]!, a.to);
  return broadcastMap(ctx, a.to, ([x]) => f(x!));
};

export const where: KernelFactory<'where'> = (_a, ctx) =>
  broadcastMap(ctx, ctx.outTypes[0]!, ([c, a, b]) => `select(${b}, ${a}, ${c} != 0u)`);

export const expand: KernelFactory<'expand'> = (_a, ctx) =>
  broadcastMap(ctx, ctx.outTypes[0]!, ([x]) => x!);

export const elementwise: KernelFactory<'elementwise'> = (a, ctx) =>
  broadcastMap(
    ctx,
    ctx.outTypes[0]!,
    (xs, ks) => programExpr(a.program, xs, ks, storageType(ctx.inTypes[0]!)),
    // One more uniform, always 0: the barrier of programExpr (its last `ks`).
    [...programConsts(a.program), 0],
  );
