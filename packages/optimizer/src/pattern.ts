import type { AttrsOf, Node, OpName, TensorType } from '@glimpse/ir';

/**
 * A typed pattern over the graph. `C` is the union of capture names, `N` the node captures
 * (an `op(…, { as })` capture: its name and op): a rule's rewrite can only read captures its
 * pattern defines, and a captured node's attributes come typed by its op (the type checker
 * says so).
 */
export interface Pattern<C extends string = never, N extends NodeCapture = never> {
  /** Phantom: carries the capture names. */
  readonly _captures?: C;
  /** Phantom: carries the node captures. */
  readonly _nodes?: N;
  readonly match: (value: string, env: MatchEnv, b: Bindings) => Bindings | undefined;
  /** For traces and docs. */
  readonly describe: string;
  /** The ops a matched value can be produced by (undefined: any), so drivers index rules. */
  readonly rootOps?: readonly OpName[];
}

/** An `op(opName, …, { as: name })` capture, at the type level. */
export interface NodeCapture<N extends string = string, K extends OpName = OpName> {
  readonly name: N;
  readonly op: K;
}

/** A node of op `K` (any op: one of them), its attributes typed by the op. */
export type OpNode<K extends OpName = OpName> = K extends OpName
  ? Omit<Node, 'op' | 'attrs'> & { readonly op: K; readonly attrs: AttrsOf<K> }
  : never;

export type CapturesOf<P> = P extends Pattern<infer C, NodeCapture> ? C : never;
export type NodesOf<P> = P extends Pattern<string, infer N> ? N : never;

/**
 * A successful match: capture name → value name, and for each node capture `$name` → the
 * node producing it (`m.out` is the value, `m.$out.attrs` its producer's typed attributes).
 */
export type Match<C extends string, N extends NodeCapture = never> = {
  readonly [K in C]: string;
} & { readonly [B in N as `$${B['name']}`]: OpNode<B['op']> };

/** Captures bound so far: value names, and the nodes of node captures (under `$name`). */
export type Bindings = Readonly<Record<string, string | Node>>;
/** A pattern whatever its captures (what combinators hold their operands as). */
export type AnyPattern = Pattern<string, NodeCapture>;

/** What a matcher may look at: producers, use counts, constants. */
export interface MatchEnv {
  /** The value's type (values emitted by the rewrite in progress included). */
  typeOf(value: string): TensorType;
  /** Whether the value is a graph output. */
  isOutput(value: string): boolean;
  producer(value: string): Node | undefined;
  uses(value: string): number;
  /** Elements of a value produced by a `constant` node (or a frozen param). */
  constant(value: string): readonly number[] | undefined;
}

/**
 * Capture `name` as `value` (and with `node`, `$name` as the node producing it). The same
 * name twice must be the same value: otherwise undefined (no match).
 */
export function capture(
  b: Bindings,
  name: string,
  value: string,
  node?: Node,
): Bindings | undefined {
  const prev = b[name];
  if (prev !== undefined && prev !== value) return undefined;
  if (node === undefined || b[`$${name}`] !== undefined)
    return prev !== undefined ? b : { ...b, [name]: value };
  return { ...b, [name]: value, [`$${name}`]: node };
}

/** Any value, captured as `name`. The same name twice must be the same value. */
export function val<N extends string>(name: N): Pattern<N> {
  return { describe: `%${name}`, match: (v, _e, b) => capture(b, name, v) };
}

/** Any value, not captured. */
export const anyValue: Pattern = { describe: '_', match: (_v, _e, b) => b };

/** A value produced by a `constant` node whose elements are all equal, captured. */
export function splat<N extends string>(
  name: N,
  test: (x: number) => boolean = () => true,
): Pattern<N> {
  return {
    describe: `splat(%${name})`,
    match: (v, e, b) => {
      const c = e.constant(v);
      if (c === undefined || c.length === 0) return undefined;
      const x = c[0]!;
      if (!c.every((y) => Object.is(y, x)) || !test(x)) return undefined;
      return capture(b, name, v);
    },
  };
}

export interface OpOptions<K extends OpName, N extends string> {
  /** Capture the op's (first) output value as `name`, and its node (typed) as `$name`. */
  as?: N;
  /** Checked after the structural match of the inputs: attrs, axes, shapes. */
  where?: (attrs: AttrsOf<K>, node: Node, env: MatchEnv) => boolean;
  /** Try the two inputs in both orders (add, mul). */
  commutative?: boolean;
  /** Require the value to have exactly one use (so a rewrite can drop its producer). */
  singleUse?: boolean;
}

/** The node capture of `op(opName, …, { as: N })`: none without `as`. */
type NodeOf<N extends string, K extends OpName> = N extends string ? NodeCapture<N, K> : never;

/** A value produced by op `op` whose inputs match `inputs` (exactly that many). */
// P's elements are left unconstrained: a Pattern<string> constraint would make TypeScript
// infer the `as` capture of a nested op() as `string` rather than its literal.
export function op<K extends OpName, const P extends readonly unknown[], N extends string = never>(
  opName: K,
  inputPatterns: P,
  options: OpOptions<K, N> = {},
): Pattern<CapturesOf<P[number]> | N, NodesOf<P[number]> | NodeOf<N, K>> {
  const inputs = inputPatterns as unknown as readonly AnyPattern[];
  const tryOrder = (order: readonly AnyPattern[], node: Node, e: MatchEnv, b0: Bindings) => {
    let b: Bindings | undefined = b0;
    for (let i = 0; i < order.length && b !== undefined; i++)
      b = order[i]!.match(node.inputs[i]!, e, b);
    return b;
  };
  return {
    describe: `${opName}(${inputs.map((p) => p.describe).join(', ')})`,
    rootOps: [opName],
    match: (v, e, b0) => {
      const node = e.producer(v);
      if (
        node === undefined ||
        node.op !== opName ||
        node.outputs[0] !== v ||
        node.inputs.length !== inputs.length
      )
        return undefined;
      if (options.singleUse && e.uses(v) !== 1) return undefined;
      let b = options.as !== undefined ? capture(b0, options.as, v, node) : b0;
      if (b === undefined) return undefined;
      const orders =
        options.commutative && inputs.length === 2 ? [inputs, [inputs[1]!, inputs[0]!]] : [inputs];
      for (const order of orders) {
        const m = tryOrder(order, node, e, b);
        if (
          m !== undefined &&
          (options.where === undefined || options.where(node.attrs as AttrsOf<K>, node, e))
        )
          return m;
      }
      return undefined;
    },
  };
}

/** The first alternative that matches. Captures of the others stay unbound. */
export function oneOf<const P extends readonly unknown[]>(
  ...altPatterns: P
): Pattern<CapturesOf<P[number]>, NodesOf<P[number]>> {
  const alts = altPatterns as unknown as readonly AnyPattern[];
  const roots = alts.map((a) => a.rootOps);
  return {
    describe: `(${alts.map((a) => a.describe).join(' | ')})`,
    ...(roots.every((r) => r !== undefined) ? { rootOps: [...new Set(roots.flat())] } : {}),
    match: (v, e, b) => {
      for (const a of alts) {
        const m = a.match(v, e, b);
        if (m !== undefined) return m;
      }
      return undefined;
    },
  };
}

/** Match `p` at `value`; returns the captures or undefined. */
// P is unconstrained for the reason op()'s inputs are: an inline op()'s `as` stays a literal.
export function matchAt<P>(
  p: P,
  value: string,
  env: MatchEnv,
): Partial<Match<CapturesOf<P>, NodesOf<P>>> | undefined {
  return (p as AnyPattern).match(value, env, {}) as
    Partial<Match<CapturesOf<P>, NodesOf<P>>> | undefined;
}
