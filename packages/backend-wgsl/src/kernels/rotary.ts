import { rotaryPieces } from '@glimpse/ir';
import { storageType } from '../wgsl.js';
import { mapDispatch } from './map.js';
import type { Dispatch, KernelFactory } from './types.js';

/**
 * rotary: one strided map per run of the op (each pair's first members, its second members,
 * the features past R copied): x·cos + (∓partner)·sin in f32, as the written graph's ops.
 */
export const rotary: KernelFactory<'rotary'> = (a, ctx) => {
  const [xs, cs, ss] = ctx.inShapes as [number[], number[], number[]];
  const type = storageType(ctx.outTypes[0]!);
  return rotaryPieces(xs, cs, ss, a).flatMap((p): Dispatch[] => {
    if (p.shape.some((d) => d === 0)) return [];
    const r = p.rotate;
    const at = (i: number, v: { base: number; strides: readonly number[] }) => ({
      ref: { in: i },
      type,
      ...v,
    });
    return [
      mapDispatch({
        shape: p.shape,
        ins: r ? [at(0, p.x), at(0, r.partner), at(1, r.cos), at(2, r.sin)] : [at(0, p.x)],
        out: { ref: { out: 0 }, type, ...p.out },
        expr: ([x, partner, cos, sin]) =>
          r ? `${x} * ${cos} + ${r.sign < 0 ? `(-${partner})` : partner} * ${sin}` : x!,
      }),
    ];
  });
};
