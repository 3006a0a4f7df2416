import type { Attrs, AttrsOf, Graph, Node, NodeSpec, OpName, TensorType } from '@glimpse/ir';
import { Graph as G, GlimpseError, inferNode, OPS, resolveAttrs } from '@glimpse/ir';
import { deadCodeElimination, matchEnv, redirect } from './env.js';
import type { CapturesOf, Match, MatchEnv, Pattern } from './pattern.js';
import type { Pass, PassContext } from './pass.js';

/**
 * What a rewrite may do: look at the graph (through the match env) and emit new nodes.
 * Emitted nodes are type-checked at once; a shape error aborts the rewrite (no match).
 */
export class RewriteCtx {
  readonly nodes: NodeSpec[] = [];
  private readonly types = new Map<string, TensorType>();
  private readonly taken: Set<string>;
  constructor(
    readonly env: MatchEnv,
    private readonly root: string,
  ) {
    this.taken = new Set(env.graph.valueNames());
  }

  typeOf(v: string): TensorType {
    return this.types.get(v) ?? this.env.graph.typeOf(v);
  }

  /** A fresh value name derived from the root's, so dumps stay readable. */
  fresh(hint: string): string {
    let n = `${this.root}.${hint}`;
    for (let i = 1; this.taken.has(n); i++) n = `${this.root}.${hint}${i}`;
    this.taken.add(n);
    return n;
  }

  /** Emit a single-output op; throws a GlimpseError if it does not type-check. */
  emit<K extends OpName>(
    opName: K,
    inputs: readonly string[],
    attrs: Partial<AttrsOf<K>>,
    hint: string = opName,
  ): string {
    return this.emitN(opName, inputs, attrs, [hint])[0]!;
  }

  emitN<K extends OpName>(
    opName: K,
    inputs: readonly string[],
    attrs: Partial<AttrsOf<K>>,
    hints: readonly string[],
  ): string[] {
    const outputs = hints.map((h) => this.fresh(h));
    const node: Node = {
      op: opName,
      inputs,
      outputs,
      attrs: resolveAttrs(OPS[opName] as never, attrs as Attrs),
    };
    const types = inferNode(node, (v) => this.typeOf(v));
    outputs.forEach((o, i) => this.types.set(o, types[i]!));
    this.nodes.push(node);
    return outputs;
  }
}

/** A named rewrite rule: a pattern matched at a node's first output, and a rewrite. */
export interface Rule<C extends string = string> {
  readonly name: string;
  readonly pattern: Pattern<C>;
  /** The value that replaces the matched root, or undefined to decline. */
  readonly rewrite: (m: Match<C>, ctx: RewriteCtx) => string | undefined;
}

// P is left unconstrained on purpose: a `Pattern<string>` constraint makes TypeScript infer
// the `as` capture of an inline op() from the constraint (string) instead of its literal.
export function rule<P>(
  name: string,
  pattern: P,
  rewrite: (m: Match<CapturesOf<P>>, ctx: RewriteCtx) => string | undefined,
): Rule {
  return { name, pattern: pattern as Pattern<string>, rewrite } as unknown as Rule;
}

export interface TraceEntry {
  readonly pass: string;
  readonly rule: string;
  /** The matched root value. */
  readonly node: string;
  readonly op: string;
  /** What replaced it: `op(inputs)` of the new root, or `%value`. */
  readonly replacement: string;
}

/**
 * Put the rewrite in place: the emitted node that defines the replacement takes the root's
 * name (value names stay stable across passes), other emitted values keep their fresh
 * names. When the replacement is an existing value, uses of the root are redirected.
 */
function apply(
  g: Graph,
  root: string,
  replacement: string,
  emitted: readonly NodeSpec[],
): Graph | undefined {
  const rootNode = g.nodes.find((n) => n.outputs.includes(root))!;
  if (rootNode.outputs.length !== 1) return undefined; // rules rewrite single-output nodes
  const definer = emitted.find((n) => n.outputs.includes(replacement));
  if (definer === undefined) {
    // An existing value replaces the root: redirect uses (a graph output keeps its name, so
    // such a rewrite is declined there).
    if (g.outputs.includes(root)) return undefined;
    const rest = [...g.nodes.filter((n) => n !== rootNode), ...emitted];
    return G.create({ ...g.toSpec(), nodes: redirect(rest, root, replacement) });
  }
  const rename = (v: string) => (v === replacement ? root : v);
  const renamed = emitted.map((n) => ({
    ...n,
    inputs: n.inputs.map(rename),
    outputs: n.outputs.map(rename),
  }));
  const at = g.nodes.indexOf(rootNode);
  return G.create({
    ...g.toSpec(),
    nodes: [...g.nodes.slice(0, at), ...renamed, ...g.nodes.slice(at + 1)],
  });
}

const MAX_REWRITES = 100_000;

/** Rewrite to a fixpoint: scan nodes in order, fire the first rule that matches, repeat. */
export function applyRules(
  g: Graph,
  rules: readonly Rule[],
  ctx: PassContext,
  passName: string,
): Graph {
  let count = 0;
  // Sweeps in node order; after a rewrite the sweep goes on from the same position in the new
  // graph (not from the start), and sweeps repeat until one changes nothing: a fixpoint.
  for (let changed = true; changed;) {
    changed = false;
    let env = matchEnv(g, { frozenParams: ctx.frozenParams });
    for (let i = 0; i < g.nodes.length; i++) {
      const node = g.nodes[i]!;
      const next = tryRules(g, node, rules, env, ctx, passName);
      if (next === undefined) continue;
      if (++count > MAX_REWRITES)
        throw new GlimpseError(
          'E_VERIFY',
          `pass ${passName} did not reach a fixpoint after ${MAX_REWRITES} rewrites`,
        );
      g = next;
      env = matchEnv(g, { frozenParams: ctx.frozenParams });
      changed = true;
      i = Math.max(-1, Math.min(i, g.nodes.length) - 2);
    }
  }
  return g;
}

/** The graph after the first rule that fires at `node`, with dead nodes removed; or undefined. */
function tryRules(
  g: Graph,
  node: Node,
  rules: readonly Rule[],
  env: MatchEnv,
  ctx: PassContext,
  passName: string,
): Graph | undefined {
  const root = node.outputs[0]!;
  for (const r of rules) {
    const m = r.pattern.match(root, env, {});
    if (m === undefined) continue;
    const rc = new RewriteCtx(env, root);
    let replacement: string | undefined;
    try {
      replacement = r.rewrite(m as never, rc);
    } catch (e) {
      if (e instanceof GlimpseError) continue; // emitted nodes did not type-check: no match
      throw e;
    }
    if (replacement === undefined) continue;
    const applied = apply(g, root, replacement, rc.nodes);
    if (applied === undefined) continue;
    const def = rc.nodes.find((n) => n.outputs.includes(replacement));
    ctx.trace({
      pass: passName,
      rule: r.name,
      node: root,
      op: node.op,
      replacement: def
        ? `${def.op}(${def.inputs.map((x) => `%${x}`).join(', ')})`
        : `%${replacement}`,
    });
    const next = deadCodeElimination(applied);
    // Nodes the rewrite left dead are part of what it did: trace them as `dce`.
    const live = new Set(next.nodes.map((n) => n.outputs[0]));
    for (const n of applied.nodes)
      if (!live.has(n.outputs[0]))
        ctx.trace({
          pass: passName,
          rule: 'dce',
          node: n.outputs[0]!,
          op: n.op,
          replacement: '(removed)',
        });
    return next;
  }
  return undefined;
}

/** A pass made of rules. */
export function rewritePass(
  name: string,
  description: string,
  rules: readonly Rule[],
): Pass & { rules: readonly Rule[] } {
  return { name, description, rules, run: (g, ctx) => applyRules(g, rules, ctx, name) };
}
