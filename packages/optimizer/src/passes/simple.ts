import type { Graph, Node } from '@glimpse/ir';
import { BSHD_PERM, fromNumbers, Graph as G, interpret, numel } from '@glimpse/ir';
import { deadCodeElimination, matchEnv } from '../env.js';
import type { Pass } from '../pass.js';
import { op, val } from '../pattern.js';
import type { RewriteCtx } from '../rewrite.js';
import { rewritePass, rule } from '../rewrite.js';
import { isSwapLast2 } from './canonicalize.js';

export const dce: Pass = {
  name: 'dce',
  description: 'remove nodes whose results no output needs',
  run: (g) => deadCodeElimination(g),
};

/**
 * Common subexpressions: a node with the same op, inputs and attributes as an earlier one
 * is dropped and its uses read the earlier result (graph outputs keep their own nodes).
 */
export const cse: Pass = {
  name: 'cse',
  description: 'merge nodes that compute the same thing',
  run: (g, ctx) => {
    const seen = new Map<string, Node>();
    const replace = new Map<string, string>();
    const kept: Node[] = [];
    for (const n0 of g.nodes) {
      // Inputs first read through earlier merges, so chains of duplicates merge too.
      const n = { ...n0, inputs: n0.inputs.map((i) => replace.get(i) ?? i) };
      const key = JSON.stringify([n.op, n.inputs, n.attrs, n.outputs.length]);
      const prev = seen.get(key);
      if (prev !== undefined && !n.outputs.some((o) => g.outputs.includes(o))) {
        n.outputs.forEach((o, i) => replace.set(o, prev.outputs[i]!));
        ctx.trace({
          pass: 'cse',
          rule: 'cse',
          node: n.outputs[0]!,
          op: n.op,
          replacement: `%${prev.outputs[0]}`,
        });
        continue;
      }
      if (prev === undefined) seen.set(key, n);
      kept.push(n);
    }
    return replace.size === 0 ? g : G.create({ ...g.toSpec(), nodes: kept });
  },
};

/** Results up to this many elements are folded into `constant` nodes. */
const FOLD_LIMIT = 4096;

/**
 * Nodes whose inputs are all constants (and, with frozen params, params) are evaluated by
 * the reference interpreter and replaced by a `constant` with the result rounded to its
 * dtype — as the backends would store it.
 */
export const constantFolding: Pass = {
  name: 'constant-folding',
  description: 'evaluate nodes whose inputs are all constants',
  run: (g, ctx) => {
    let out = g;
    for (;;) {
      const env = matchEnv(out, { frozenParams: ctx.frozenParams });
      const target = out.nodes.find(
        (n) =>
          n.op !== 'constant' &&
          n.outputs.length === 1 &&
          n.inputs.every((i) => env.constant(i) !== undefined) &&
          out.typeOf(n.outputs[0]!).shape.every((d) => typeof d === 'number') &&
          numel(out.typeOf(n.outputs[0]!).shape as number[]) <= FOLD_LIMIT,
      );
      if (target === undefined) return out;
      const o = target.outputs[0]!;
      const sub = G.create({
        name: 'fold',
        inputs: target.inputs.map((i) => ({ name: i, type: out.typeOf(i) })),
        params: [],
        nodes: [target],
        outputs: [o],
      });
      const inputs = Object.fromEntries(
        target.inputs.map((i) => [
          i,
          fromNumbers(out.typeOf(i).dtype, out.typeOf(i).shape as number[], env.constant(i)!),
        ]),
      );
      const t = out.typeOf(o);
      const value = Array.from(
        fromNumbers(t.dtype, [], interpret(sub, inputs)[o]!.data).data as ArrayLike<
          number | bigint
        >,
        Number,
      );
      const folded = {
        op: 'constant' as const,
        inputs: [],
        outputs: [o],
        attrs: { dtype: t.dtype, shape: t.shape as number[], value },
      };
      ctx.trace({
        pass: 'constant-folding',
        rule: 'constant-folding',
        node: o,
        op: target.op,
        replacement: 'constant',
      });
      out = deadCodeElimination(
        G.create({ ...out.toSpec(), nodes: out.nodes.map((n) => (n === target ? folded : n)) }),
      );
    }
  },
};

const isHeadSwap = (t: { perm: readonly number[] }) =>
  t.perm.length === 4 && BSHD_PERM.every((p, i) => t.perm[i] === p);
const headsInside = <N extends string>(tr: N) => op('transpose', [val(tr)], { where: isHeadSwap });
const foldLayout = (
  m: { q: string; k: string; v: string; m?: string; out: string },
  ctx: RewriteCtx,
) => {
  const a = ctx.env.producer(m.out)!.attrs;
  const y = ctx.emit(
    'attention',
    [m.q, m.k, m.v, ...(m.m !== undefined ? [m.m] : [])],
    { ...(a as object), layout: 'bshd' },
    'bshd',
  );
  return ctx.emit('transpose', [y], { perm: [...BSHD_PERM] }, 'bhsd');
};

/**
 * Transposes folded into their consumer's layout: bmm(transpose(a) over the last two axes,
 * b) → bmm[transpose_a] (and b), read in place; attention whose q, k, v are [B,S,H,d]
 * tensors transposed to [B,H,S,d] → attention[layout=bshd] on the originals (the transpose
 * back of its output then cancels against the consumer's in canonicalize).
 */
export const foldTranspose = rewritePass(
  'fold-transpose',
  'read transposed operands in place (bmm flags, attention layout)',
  [
    rule(
      'fold-attention-layout',
      op('attention', [headsInside('q'), headsInside('k'), headsInside('v')], {
        as: 'out',
        where: (a) => a.layout === 'bhsd',
      }),
      foldLayout,
    ),
    rule(
      'fold-attention-layout-mask',
      op('attention', [headsInside('q'), headsInside('k'), headsInside('v'), val('m')], {
        as: 'out',
        where: (a) => a.layout === 'bhsd',
      }),
      foldLayout,
    ),
    rule(
      'fold-transpose-a',
      op('bmm', [op('transpose', [val('a')], { where: (t) => isSwapLast2(t.perm) }), val('b')], {
        as: 'out',
      }),
      (m, ctx) => {
        const at = ctx.env.producer(m.out)!.attrs as { transpose_a: boolean; transpose_b: boolean };
        return ctx.emit('bmm', [m.a, m.b], {
          transpose_a: !at.transpose_a,
          transpose_b: at.transpose_b,
        });
      },
    ),
    rule(
      'fold-transpose-b',
      op('bmm', [val('a'), op('transpose', [val('b')], { where: (t) => isSwapLast2(t.perm) })], {
        as: 'out',
      }),
      (m, ctx) => {
        const at = ctx.env.producer(m.out)!.attrs as { transpose_a: boolean; transpose_b: boolean };
        return ctx.emit('bmm', [m.a, m.b], {
          transpose_a: at.transpose_a,
          transpose_b: !at.transpose_b,
        });
      },
    ),
  ],
);

/**
 * Linears that read the same input (q, k, v projections) → one linear over the stacked
 * weights and a split, whose outputs keep the original names. One pass over x instead of
 * three; with frozen params the stacked weights fold into constants.
 */
export const fuseQkvProjection: Pass = {
  name: 'fuse-qkv-projection',
  description: 'linears sharing an input → one linear and a split',
  run: (g, ctx) => {
    const groups = new Map<string, Node[]>();
    for (const n of g.nodes) {
      if (n.op !== 'linear') continue;
      const key = `${n.inputs[0]}|${n.inputs.length}`;
      groups.set(key, [...(groups.get(key) ?? []), n]);
    }
    let nodes: Node[] = [...g.nodes];
    let changed = false;
    for (const group of groups.values()) {
      if (group.length < 2 || group.some((n) => g.outputs.includes(n.outputs[0]!))) continue;
      const x = group[0]!.inputs[0]!;
      const outs = group.map((n) => g.typeOf(n.inputs[1]!).shape[0] as number);
      const name = (s: string) => `${group[0]!.outputs[0]}.${s}`;
      const w = {
        op: 'concat' as const,
        inputs: group.map((n) => n.inputs[1]!),
        outputs: [name('w')],
        attrs: { axis: 0 },
      };
      const hasBias = group[0]!.inputs.length === 3;
      const b = hasBias
        ? [
            {
              op: 'concat' as const,
              inputs: group.map((n) => n.inputs[2]!),
              outputs: [name('b')],
              attrs: { axis: 0 },
            },
          ]
        : [];
      const lin = {
        op: 'linear' as const,
        inputs: [x, name('w'), ...(hasBias ? [name('b')] : [])],
        outputs: [name('packed')],
        attrs: {},
      };
      const split = {
        op: 'split' as const,
        inputs: [name('packed')],
        outputs: group.map((n) => n.outputs[0]!),
        attrs: { axis: -1, sizes: outs },
      };
      const at = nodes.indexOf(group[0]!);
      nodes = [...nodes.slice(0, at), w, ...b, lin, split, ...nodes.slice(at)].filter(
        (n) => !group.includes(n),
      ) as Node[];
      changed = true;
      ctx.trace({
        pass: 'fuse-qkv-projection',
        rule: 'fuse-qkv-projection',
        node: group.map((n) => n.outputs[0]).join(','),
        op: 'linear',
        replacement: `split(linear(%${x}))`,
      });
    }
    return changed ? G.create({ ...g.toSpec(), nodes }) : g;
  },
};

export type { Graph };
