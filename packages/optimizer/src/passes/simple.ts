import type { Node, Param, RefTensor } from '@glimpse/ir';
import {
  BSHD_PERM,
  canonicalKey,
  evalNode,
  fromNumbers,
  Graph as G,
  numel,
  paramValues,
  toNumbers,
  uniqueName,
} from '@glimpse/ir';
import { deadCodeElimination, frozenParams, matchEnv, replaceParams } from '../env.js';
import type { Pass } from '../pass.js';
import type { OpNode } from '../pattern.js';
import { op, val } from '../pattern.js';
import type { RewriteCtx } from '../rule.js';
import { rewritePass } from '../rewrite.js';
import { rule } from '../rule.js';
import { isSwapLast2 } from './canonicalize.js';

export const dce: Pass = {
  name: 'dce',
  description: 'remove nodes whose results no output needs',
  exact: 'removes only values that no output reads',
  idempotent: true,
  run: (g) => deadCodeElimination(g),
};

/** Attribute keys by attrs object: nodes a pass leaves alone keep theirs between passes. */
const attrKeys = new WeakMap<object, string>();
function attrsKey(attrs: object): string {
  let k = attrKeys.get(attrs);
  if (k === undefined) attrKeys.set(attrs, (k = canonicalKey(attrs)));
  return k;
}

/**
 * Common subexpressions: a node with the same op, inputs and attributes as an earlier one
 * is dropped and its uses read the earlier result (graph outputs keep their own nodes).
 */
export const cse: Pass = {
  name: 'cse',
  description: 'merge nodes that compute the same thing',
  exact:
    'keys compare attributes and constants with Object.is (NaN ≡ NaN, −0 ≢ 0, inf ≢ −inf): only nodes that compute the same bits merge',
  idempotent: true,
  run: (g, ctx) => {
    const seen = new Map<string, Node>();
    const replace = new Map<string, string>();
    const kept: Node[] = [];
    for (const n0 of g.nodes) {
      // Inputs first read through earlier merges, so chains of duplicates merge too.
      const n = { ...n0, inputs: n0.inputs.map((i) => replace.get(i) ?? i) };
      // Object.is semantics: constants that differ only in NaN, ±inf or −0 stay apart.
      const key = `${n.op}|${n.outputs.length}|${canonicalKey(n.inputs)}|${attrsKey(n0.attrs)}`;
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
 * the reference interpreter's kernels and replaced by a `constant` with the result rounded
 * to its dtype — as the backends would store it. One sweep in graph order: a folded result
 * feeds the next fold at once, so a chain folds in linear time.
 */
export const constantFolding: Pass = {
  name: 'constant-folding',
  description: 'evaluate nodes whose inputs are all constants',
  exact:
    'evaluates with the reference interpreter’s kernels (the ops’ definition) on values rounded to their dtype, and rounds the result to it: the constant is what the backends would store, special values as the op defines them; an f16 result folds only where f16 holds it exactly (the backends keep f16 results in f32)',
  idempotent: true,
  run: (g, ctx) => {
    const env = matchEnv(g, { frozenParams: ctx.frozenParams });
    const folded = new Map<string, RefTensor>();
    /** A constant operand as the interpreter holds it: float64 values rounded to its dtype. */
    const operand = (v: string): RefTensor | undefined => {
      const f = folded.get(v);
      if (f !== undefined) return f;
      const c = env.constant(v);
      if (c === undefined) return undefined;
      const t = g.typeOf(v);
      const r = {
        dtype: t.dtype,
        shape: t.shape as number[],
        data: toNumbers(fromNumbers(t.dtype, t.shape as number[], c)),
      };
      folded.set(v, r);
      return r;
    };
    let changed = false;
    const nodes = g.nodes.map((n) => {
      if (n.op === 'constant' || n.outputs.length !== 1) return n;
      const o = n.outputs[0]!;
      const t = g.typeOf(o);
      if (!t.shape.every((d) => typeof d === 'number') || numel(t.shape as number[]) > FOLD_LIMIT)
        return n;
      const ins: RefTensor[] = [];
      for (const i of n.inputs) {
        const c = operand(i);
        if (c === undefined) return n;
        ins.push(c);
      }
      const shape = t.shape as number[];
      const exact = evalNode(n, ins, [shape])[0]!.data;
      const data = toNumbers(fromNumbers(t.dtype, shape, exact));
      // The backends hold an f16 result in f32 (f16 is storage, rounded at a cast, the
      // boundary and a constant): a result that an f16 constant would hold differently
      // stays a node (65504 + 65504 is 131008 there, inf as a constant). Gathers, slices and
      // casts of f16 values are f16 already and fold.
      if (t.dtype === 'f16' && exact.some((v, i) => !Object.is(Math.fround(v), data[i]))) {
        ctx.decline?.({
          pass: 'constant-folding',
          rule: 'constant-folding',
          node: o,
          op: n.op,
          reason: 'an f16 result the backends hold in f32 would round to f16',
        });
        return n;
      }
      folded.set(o, { dtype: t.dtype, shape, data });
      changed = true;
      ctx.trace({
        pass: 'constant-folding',
        rule: 'constant-folding',
        node: o,
        op: n.op,
        replacement: 'constant',
      });
      return {
        op: 'constant' as const,
        inputs: [],
        outputs: [o],
        attrs: { dtype: t.dtype, shape, value: Array.from(data) },
      };
    });
    return changed ? deadCodeElimination(G.create({ ...g.toSpec(), nodes })) : g;
  },
};

const isHeadSwap = (t: { perm: readonly number[] }) =>
  t.perm.length === 4 && BSHD_PERM.every((p, i) => t.perm[i] === p);
const headsInside = <N extends string>(tr: N) => op('transpose', [val(tr)], { where: isHeadSwap });
const foldLayout = (
  m: { q: string; k: string; v: string; m?: string; $out: OpNode<'attention'> },
  ctx: RewriteCtx,
) => {
  const y = ctx.emit(
    'attention',
    [m.q, m.k, m.v, ...(m.m !== undefined ? [m.m] : [])],
    { ...m.$out.attrs, layout: 'bshd' },
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
  {
    pass: 'layout only: the same elements are read, nothing is computed differently',
    rules: {
      'fold-attention-layout': 'layout only',
      'fold-attention-layout-mask': 'layout only',
      'fold-transpose-a': 'layout only',
      'fold-transpose-b': 'layout only',
    },
  },
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
        const at = m.$out.attrs;
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
        const at = m.$out.attrs;
        return ctx.emit('bmm', [m.a, m.b], {
          transpose_a: at.transpose_a,
          transpose_b: !at.transpose_b,
        });
      },
    ),
  ],
);

/**
 * With frozen params: linears that read the same input (q, k, v projections) → one linear
 * over weights stacked once at compile time (new params) and a split whose outputs keep the
 * original names. One pass over x instead of three. Without frozen params it does nothing:
 * stacking weights that may change would cost a copy on every run.
 */
export const fuseQkvProjection: Pass = {
  name: 'fuse-qkv-projection',
  description: 'linears sharing an input → one linear over stacked frozen weights and a split',
  exact: 'each output element is the same dot product over the same weights',
  run: (g, ctx) => {
    if (!ctx.frozenParams) return g;
    const params = frozenParams(g);
    const frozen = (v: string) => params.has(v);
    const groups = new Map<string, Node[]>();
    for (const n of g.nodes) {
      if (n.op !== 'linear' || !n.inputs.slice(1).every(frozen)) continue;
      const key = `${n.inputs[0]}|${n.inputs.length}`;
      groups.set(key, [...(groups.get(key) ?? []), n]);
    }
    let nodes: Node[] = [...g.nodes];
    const newParams: Param[] = [];
    const taken = new Set(g.valueNames());
    const fresh = (n: string) => uniqueName(n, taken);
    /** Stack the params' values (rows) into a new param. */
    const stack = (names: string[], hint: string) => {
      const vals = names.map((n) => paramValues(params.get(n)!, g.seed));
      const rows = names.reduce((a, n) => a + (params.get(n)!.type.shape[0] as number), 0);
      const rest = params.get(names[0]!)!.type.shape.slice(1) as number[];
      const data = new Float32Array(vals.reduce((a, v) => a + v.length, 0));
      let o = 0;
      for (const v of vals) {
        data.set(v, o);
        o += v.length;
      }
      const name = fresh(hint);
      newParams.push({
        name,
        type: { dtype: 'f32', shape: [rows, ...rest] },
        init: { kind: 'data', data },
      });
      return name;
    };
    for (const group of groups.values()) {
      if (group.length < 2 || group.some((n) => g.outputs.includes(n.outputs[0]!))) continue;
      const x = group[0]!.inputs[0]!;
      const base = group[0]!.outputs[0]!;
      const w = stack(
        group.map((n) => n.inputs[1]!),
        `${base}.stacked_weight`,
      );
      const b =
        group[0]!.inputs.length === 3
          ? [
              stack(
                group.map((n) => n.inputs[2]!),
                `${base}.stacked_bias`,
              ),
            ]
          : [];
      const packed = fresh(`${base}.packed`);
      const lin: Node = { op: 'linear', inputs: [x, w, ...b], outputs: [packed], attrs: {} };
      const sizes = group.map((n) => g.typeOf(n.inputs[1]!).shape[0] as number);
      const split: Node = {
        op: 'split',
        inputs: [packed],
        outputs: group.map((n) => n.outputs[0]!),
        attrs: { axis: -1, sizes },
      };
      const at = nodes.indexOf(group[0]!);
      nodes = [...nodes.slice(0, at), lin, split, ...nodes.slice(at)].filter(
        (n) => !group.includes(n),
      );
      ctx.trace({
        pass: 'fuse-qkv-projection',
        rule: 'fuse-qkv-projection',
        node: group.map((n) => n.outputs[0]).join(','),
        op: 'linear',
        replacement: `split(linear(%${x}, %${w}))`,
      });
    }
    return newParams.length === 0 ? g : replaceParams(g, newParams, nodes);
  },
};
