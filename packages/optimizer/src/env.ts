import type { ConstantAttrs, Graph, Node, NodeSpec, OpName, Param, TensorType } from '@glimpse/ir';
import { constantValues, Graph as G, OPS, paramValues } from '@glimpse/ir';
import type { MatchEnv } from './pattern.js';

/**
 * Whether input `k` of an `op` node is read for its values. An input read only for its
 * shape (the op's `shapeOnly` trait: tril's) is no use that keeps a value alive (DCE drops
 * the tril with the mask it feeds); undercounting uses can only keep nodes alive.
 */
export function readsValues(op: OpName, k: number): boolean {
  const specs = OPS[op].inputs;
  return !specs[Math.min(k, specs.length - 1)]?.shapeOnly;
}

/** Producers, use counts and constant values of a graph, for matching. */
export function matchEnv(g: Graph, options: { frozenParams?: boolean } = {}): MatchEnv {
  const producer = new Map<string, Node>();
  const uses = new Map<string, number>();
  for (const n of g.nodes) {
    for (const o of n.outputs) producer.set(o, n);
    n.inputs.forEach((i, k) => {
      if (readsValues(n.op, k)) uses.set(i, (uses.get(i) ?? 0) + 1);
    });
  }
  for (const o of g.outputs) uses.set(o, (uses.get(o) ?? 0) + 1);
  const outputs = new Set(g.outputs);
  const constant = constantLookup(g, options.frozenParams === true);
  return {
    typeOf: (v) => g.typeOf(v),
    isOutput: (v) => outputs.has(v),
    producer: (v) => producer.get(v),
    uses: (v) => uses.get(v) ?? 0,
    constant: (v) => constant(v, producer.get(v)),
  };
}

/**
 * The elements of a value known before any run, given its producer: a `constant` node's,
 * or (with frozen params) a param's initial values. Cached per node object and per param,
 * so a working graph whose producers change (the rewrite driver's) can keep one lookup.
 */
export function constantLookup(
  g: Graph,
  frozen: boolean,
): (v: string, producer: Node | undefined) => readonly number[] | undefined {
  const params = new Map(g.params.map((p) => [p.name, p]));
  const byNode = new WeakMap<Node, readonly number[]>();
  const byParam = new Map<string, readonly number[] | undefined>();
  return (v, n) => {
    if (n !== undefined) {
      if (n.op !== 'constant') return undefined;
      let c = byNode.get(n);
      if (c === undefined) byNode.set(n, (c = constantValues(n.attrs as unknown as ConstantAttrs)));
      return c;
    }
    if (!frozen) return undefined;
    if (!byParam.has(v)) {
      const p = params.get(v);
      byParam.set(
        v,
        p && p.init.kind !== 'external' ? Array.from(paramValues(p, g.seed)) : undefined,
      );
    }
    return byParam.get(v);
  };
}

/** Drop nodes none of whose outputs is used (transitively) by a graph output. */
export function deadCodeElimination(g: Graph): Graph {
  const live = new Set(g.outputs);
  const keep: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (n.outputs.some((o) => live.has(o))) {
      keep.push(n);
      for (const x of n.inputs) live.add(x);
    }
  }
  if (keep.length === g.nodes.length) return g;
  return G.create({ ...g.toSpec(), nodes: keep.reverse() });
}

/** Params whose values are known and final (frozen mode): f32, with data or an initialiser. */
export function frozenParams(g: Graph): Map<string, Param> {
  return new Map(
    g.params
      .filter((p) => p.init.kind !== 'external' && p.type.dtype === 'f32')
      .map((p) => [p.name, p]),
  );
}

/**
 * `g` with new nodes and params, minus dead nodes and the params no node reads any more
 * (those folded into the new ones).
 */
export function replaceParams(
  g: Graph,
  added: readonly Param[],
  nodes: readonly NodeSpec[],
): Graph {
  const out = deadCodeElimination(
    G.create({ ...g.toSpec(), params: [...g.params, ...added], nodes }),
  );
  const used = new Set(out.nodes.flatMap((n) => n.inputs));
  return out.with({
    params: out.params.filter((p) => used.has(p.name) || out.outputs.includes(p.name)),
  });
}

export type { TensorType };
