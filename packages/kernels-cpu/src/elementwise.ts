import type { BinaryOp, CompareOp, UnaryOp } from '@glimpse/ir';
import { broadcastStrides, castScalar, compileProgram, numel, OPS, sameShape } from '@glimpse/ir';
import type { Buf } from '@glimpse/runtime';
import { walk } from './strided.js';
import type { Kernel, KernelCtx, KernelFactory } from './types.js';

/** Binary ops with broadcasting; the scalar function is the op's own (one definition). */
export const binary =
  <K extends BinaryOp>(op: K): KernelFactory<K> =>
  (_a, ctx) =>
    broadcast2(OPS[op].binary(ctx.inTypes[0]!), ctx);

/** Comparisons and logic (bool results), through the same broadcasting loops. */
export const compare =
  <K extends CompareOp>(op: K): KernelFactory<K> =>
  (_a, ctx) =>
    broadcast2(OPS[op].compare, ctx);

function broadcast2(f: (a: number, b: number) => number, ctx: KernelCtx): Kernel {
  const out = ctx.outShapes[0]!;
  const [sa, sb] = ctx.inShapes as [number[], number[]];
  const n = numel(out);
  if (sameShape(sa, out) && sameShape(sb, out))
    return ([a, b], [y]) => {
      for (let i = 0; i < n; i++) y![i] = f(a![i]!, b![i]!);
    };
  if (numel(sb) === 1)
    return ([a, b], [y]) => {
      const s = b![0]!;
      for (let i = 0; i < n; i++) y![i] = f(a![i]!, s);
    };
  const st = [broadcastStrides(sa, out), broadcastStrides(sb, out)];
  return ([a, b], [y]) => walk(out, st, (o, [oa, ob]) => (y![o] = f(a![oa!]!, b![ob!]!)));
}

export const unary =
  <K extends UnaryOp>(op: K): KernelFactory<K> =>
  (attrs, ctx) => {
    const f = OPS[op].unary(attrs as never, ctx.inTypes[0]!);
    return ([x], [y]) => {
      const n = y!.length;
      for (let i = 0; i < n; i++) y![i] = f(x![i]!);
    };
  };

export const cast: KernelFactory<'cast'> = (a) => {
  const f = castScalar(a.to);
  return ([x], [y]) => {
    // Casting f32 → i32 must go through trunc, not the typed array's ToInt32 wrap-around.
    for (let i = 0; i < y!.length; i++) y![i] = f(x![i]!);
  };
};

export const where: KernelFactory<'where'> = (_a, ctx) => {
  const out = ctx.outShapes[0]!;
  const st = ctx.inShapes.map((s) => broadcastStrides(s, out));
  return ([c, a, b], [y]) =>
    walk(out, st, (o, [oc, oa, ob]) => (y![o] = c![oc!] ? a![oa!]! : b![ob!]!));
};

export type { Buf };

/** A fused elementwise chain: the program's scalar function over broadcast inputs, one pass. */
export const elementwise: KernelFactory<'elementwise'> = (a, ctx) => {
  const f = compileProgram(a.program, ctx.inShapes.length, ctx.inTypes[0]!);
  const out = ctx.outShapes[0]!;
  const st = ctx.inShapes.map((s) => broadcastStrides(s, out));
  const xs = new Float64Array(ctx.inShapes.length);
  const k = xs.length;
  return (ins, [y]) =>
    walk(out, st, (o, offs) => {
      for (let i = 0; i < k; i++) xs[i] = ins[i]![offs[i]!]!;
      y![o] = f(xs);
    });
};
