import type { Dim, OpName } from '@glimpse/ir';
import { numel, sameShape, traitsOf } from '@glimpse/ir';
import type { Bindings, MatchEnv, NodeCapture, OpNode, Pattern } from '../pattern.js';
import { capture } from '../pattern.js';
import type { RewriteCtx } from '../rule.js';
import { rewritePass } from '../rewrite.js';
import { rule } from '../rule.js';

/** The elementwise ops data movement commutes with: fused programs and the program ops. */
const isElementwise = (op: OpName) =>
  op === 'elementwise' || (traitsOf(op).program === true && op !== 'scale');

/**
 * An elementwise node one of whose operands is `mover` (a transpose or a reshape of one
 * use) and whose other operands are broadcasts — smaller than the result, so that moving
 * them costs little: captured as `out`, the mover's result as `moved` (both with nodes).
 */
function elementwiseOf<M extends 'transpose' | 'reshape'>(
  mover: M,
): Pattern<'out' | 'moved', NodeCapture<'out'> | NodeCapture<'moved', M>> {
  return {
    describe: `elementwise(…, ${mover}(x), …)`,
    match: (v: string, e: MatchEnv, b: Bindings) => {
      const n = e.producer(v);
      if (n === undefined || n.outputs[0] !== v || !isElementwise(n.op)) return undefined;
      const out = e.typeOf(v).shape;
      if (!out.every((d) => typeof d === 'number')) return undefined;
      const movers = n.inputs.filter((i) => e.producer(i)?.op === mover && e.uses(i) === 1);
      if (movers.length !== 1) return undefined;
      const size = numel(out as number[]);
      const small = n.inputs.every(
        (i) =>
          movers.includes(i) ||
          (e.typeOf(i).shape.every((d) => typeof d === 'number') &&
            2 * numel(e.typeOf(i).shape as number[]) <= size),
      );
      if (!small) return undefined;
      const bound = capture(b, 'out', v, n);
      return bound && capture(bound, 'moved', movers[0]!, e.producer(movers[0]!));
    },
  };
}

/** `o` (right-aligned to rank r) with leading 1s: rank r. */
function toRank(ctx: RewriteCtx, o: string, r: number): string {
  const s = ctx.typeOf(o).shape;
  return s.length === r
    ? o
    : ctx.emit('reshape', [o], { shape: [...Array(r - s.length).fill(1), ...s] });
}

/** The node's other operands mapped by `f`, the mover's input in its place; the node re-emitted. */
function reemit(
  ctx: RewriteCtx,
  n: OpNode,
  mover: string,
  x: string,
  f: (o: string) => string | undefined,
) {
  const ins: string[] = [];
  for (const i of n.inputs) {
    if (i === mover) ins.push(x);
    else {
      const m = f(i);
      if (m === undefined) return undefined;
      ins.push(m);
    }
  }
  return ctx.emitLike(n, ins);
}

/**
 * Groups of consecutive dims with equal products: how a reshape from `a` to `b` merges
 * and splits (static shapes), or undefined where it does not line up.
 */
export function reshapeGroups(
  a: readonly number[],
  b: readonly number[],
): [number[], number[]][] | undefined {
  const groups: [number[], number[]][] = [];
  let [i, j] = [0, 0];
  while (i < a.length || j < b.length) {
    const ga: number[] = [];
    const gb: number[] = [];
    let [pa, pb] = [1, 1];
    do {
      if (pa <= pb && i < a.length) pa *= ga[ga.push(a[i++]!) - 1]!;
      else if (j < b.length) pb *= gb[gb.push(b[j++]!) - 1]!;
      else return undefined;
    } while (pa !== pb || (ga.length === 0 && i < a.length) || (gb.length === 0 && j < b.length));
    // Trailing 1s join the group before them.
    while (i < a.length && a[i] === 1 && j === b.length) ga.push(a[i++]!);
    while (j < b.length && b[j] === 1 && i === a.length) gb.push(b[j++]!);
    groups.push([ga, gb]);
  }
  return groups;
}

/**
 * Transposes and reshapes moved below the elementwise ops that read them, so that the
 * NCHW ↔ rows conversions around each lowered convolution (its gather and GEMM work on
 * rows [N, positions, channels]) meet their inverses across the batch norms and
 * activations between convolutions, and cancel.
 */
export const sinkLayout = rewritePass(
  'sink-layout',
  'transposes and reshapes below the elementwise ops that read them, where they meet and cancel',
  {
    pass: 'data movement only: every element is computed by the same scalar functions from the same operand elements, in the other layout',
    rules: {
      'elementwise-past-transpose':
        'op(transpose(x, p), c…) = transpose(op(x, c′…), p) with each broadcast operand c moved by p⁻¹: the same element pairs meet',
      'elementwise-past-reshape':
        'op(reshape(x), c…) = reshape(op(x, c′…)) where the reshape only merges or splits dims over which every broadcast operand c is constant (or which it maps one to one)',
    },
  },
  [
    rule('elementwise-past-transpose', elementwiseOf('transpose'), (m, ctx) => {
      const perm = m.$moved.attrs.perm;
      if (perm.every((p, i) => p === i)) return undefined; // canonicalize removes it
      const x = m.$moved.inputs[0]!;
      const r = perm.length;
      const inv = perm.map((_, i) => perm.indexOf(i));
      const y = reemit(ctx, m.$out, m.moved, x, (o) => {
        if (ctx.typeOf(o).shape.every((d) => d === 1)) return o;
        return ctx.emit('transpose', [toRank(ctx, o, r)], { perm: inv });
      });
      return y === undefined ? undefined : ctx.emit('transpose', [y], { perm: [...perm] });
    }),
    rule('elementwise-past-reshape', elementwiseOf('reshape'), (m, ctx) => {
      const rs = m.moved;
      const x = m.$moved.inputs[0]!;
      const [xs, ys] = [ctx.typeOf(x).shape, ctx.typeOf(rs).shape];
      if (![...xs, ...ys].every((d) => typeof d === 'number') || sameShape(xs, ys))
        return undefined;
      const groups = reshapeGroups(xs as number[], ys as number[]);
      if (groups === undefined) return undefined;
      const y = reemit(ctx, m.$out, rs, x, (o) => {
        const os = ctx.typeOf(o).shape as number[];
        if (os.every((d) => d === 1)) return o;
        const aligned = [...Array<number>(ys.length - os.length).fill(1), ...os];
        const mapped: Dim[] = [];
        let k = 0;
        for (const [ga, gb] of groups) {
          const part = aligned.slice(k, k + gb.length);
          k += gb.length;
          if (part.every((d) => d === 1)) mapped.push(...ga.map(() => 1));
          else if (ga.length === gb.length && ga.every((d, i) => d === gb[i])) mapped.push(...part);
          else return undefined;
        }
        return ctx.emit('reshape', [o], { shape: mapped });
      });
      return y === undefined ? undefined : ctx.emit('reshape', [y], { shape: [...ys] });
    }),
  ],
);
