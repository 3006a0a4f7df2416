import { rotaryPieces } from '@glimpse/ir';
import { walk } from './strided.js';
import type { KernelFactory } from './types.js';

const f32 = Math.fround;

/**
 * rotary over the op's strided runs, rounding each product and the sum to f32 in the order
 * the written graph does (mul, neg, mul, add, each stored): the fused op gives what the
 * graph as written gives on this backend, bit for bit. f16 values are held in f32, as the
 * graph's own ops hold them.
 */
export const rotary: KernelFactory<'rotary'> = (a, ctx) => {
  const [xs, cs, ss] = ctx.inShapes as [number[], number[], number[]];
  const pieces = rotaryPieces(xs, cs, ss, a);
  return ([x, cos, sin], [y]) => {
    for (const p of pieces) {
      const [bx, bo] = [p.x.base, p.out.base];
      const r = p.rotate;
      if (!r) {
        walk(p.shape, [p.x.strides, p.out.strides], (_o, [ox, oo]) => {
          y![oo! + bo] = x![ox! + bx]!;
        });
        continue;
      }
      const [bp, bc, bs, sign] = [r.partner.base, r.cos.base, r.sin.base, r.sign];
      walk(
        p.shape,
        [p.x.strides, p.out.strides, r.partner.strides, r.cos.strides, r.sin.strides],
        (_o, [ox, oo, op, oc, os]) => {
          const u = f32(x![ox! + bx]! * cos![oc! + bc]!);
          const v = f32(sign * x![op! + bp]! * sin![os! + bs]!);
          y![oo! + bo] = u + v;
        },
      );
    }
  };
};
