import type { Attrs, AttrsOf, Graph, Node, NodeSpec, OpName, TensorType } from '@glimpse/ir';
import { Graph as G, GlimpseError, inferNode, OPS, resolveAttrs, uniqueName } from '@glimpse/ir';
import { deadCodeElimination, matchEnv } from './env.js';
import type { CapturesOf, Match, MatchEnv, Pattern } from './pattern.js';
import type { Pass, PassContext } from './pass.js';

/**
 * What a rewrite may do: look at the graph (through the match env) and emit new nodes.
 * Emitted nodes are type-checked at once; a shape error aborts the rewrite (no match).
 */
export class RewriteCtx {
  readonly nodes: NodeSpec[] = [];
  private readonly types = new Map<string, TensorType>();
  constructor(
    readonly env: MatchEnv,
    private readonly root: string,
    /** Names in use: the graph's, and those of rewrites batched with this one. */
    private readonly taken: Set<string> = new Set(env.graph.valueNames()),
  ) {}

  typeOf(v: string): TensorType {
    return this.types.get(v) ?? this.env.graph.typeOf(v);
  }

  /** A fresh value name derived from the root's, so dumps stay readable. */
  fresh(hint: string): string {
    return uniqueName(`${this.root}.${hint}`, this.taken);
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

interface Accepted {
  readonly root: string;
  readonly replacement: string;
  readonly emitted: readonly NodeSpec[];
}

/**
 * Put a sweep's rewrites in place at once. The emitted node that defines a replacement
 * takes the root's name (value names stay stable across passes); other emitted values keep
 * their fresh names; where the replacement is an existing value, uses of the root read it.
 */
function applyBatch(g: Graph, batch: readonly Accepted[]): Graph {
  let nodes: NodeSpec[] = [...g.nodes];
  const redirects = new Map<string, string>();
  for (const { root, replacement, emitted } of batch) {
    const at = nodes.findIndex((n) => n.outputs[0] === root);
    if (emitted.some((n) => n.outputs.includes(replacement))) {
      const rename = (v: string) => (v === replacement ? root : v);
      const renamed = emitted.map((n) => ({
        ...n,
        inputs: n.inputs.map(rename),
        outputs: n.outputs.map(rename),
      }));
      nodes.splice(at, 1, ...renamed);
    } else {
      nodes.splice(at, 1, ...emitted);
      redirects.set(root, replacement);
    }
  }
  const resolve = (v: string) => {
    while (redirects.has(v)) v = redirects.get(v)!;
    return v;
  };
  if (redirects.size > 0)
    nodes = nodes.map((n) =>
      n.inputs.some((i) => redirects.has(i)) ? { ...n, inputs: n.inputs.map(resolve) } : n,
    );
  return G.create({ ...g.toSpec(), nodes });
}

const MAX_REWRITES = 100_000;

/** A MatchEnv that records every value a match looks at: the region a rewrite depends on. */
function tracking(env: MatchEnv, seen: Set<string>): MatchEnv {
  return {
    graph: env.graph,
    producer: (v) => (seen.add(v), env.producer(v)),
    uses: (v) => (seen.add(v), env.uses(v)),
    constant: (v) => (seen.add(v), env.constant(v)),
  };
}

/**
 * Rewrite to a fixpoint, in sweeps: each sweep matches every node of one graph and keeps the
 * rewrites whose regions (the values their match looked at, and what they emit) do not
 * overlap an earlier one's; they are applied together, dead nodes dropped, and the next sweep
 * starts — until a sweep changes nothing. One graph rebuild per sweep, not per rewrite.
 */
export function applyRules(
  g: Graph,
  rules: readonly Rule[],
  ctx: PassContext,
  passName: string,
): Graph {
  let count = 0;
  for (;;) {
    const env = matchEnv(g, { frozenParams: ctx.frozenParams });
    const taken = new Set(g.valueNames());
    const dirty = new Set<string>();
    const batch: Accepted[] = [];
    for (const node of g.nodes) {
      const root = node.outputs[0]!;
      if (dirty.has(root) || node.outputs.length !== 1) continue; // rules rewrite single-output nodes
      const seen = new Set<string>([root]);
      const hit = tryRules(node, rules, tracking(env, seen), taken, g);
      if (hit === undefined || [...seen].some((v) => dirty.has(v))) continue; // overlaps: next sweep
      for (const v of seen) dirty.add(v);
      for (const n of hit.emitted) for (const o of n.outputs) dirty.add(o);
      batch.push({ root, replacement: hit.replacement, emitted: hit.emitted });
      const def = hit.emitted.find((n) => n.outputs.includes(hit.replacement));
      ctx.trace({
        pass: passName,
        rule: hit.rule,
        node: root,
        op: node.op,
        replacement: def
          ? `${def.op}(${def.inputs.map((x) => `%${x}`).join(', ')})`
          : `%${hit.replacement}`,
      });
    }
    if (batch.length === 0) return g;
    count += batch.length;
    if (count > MAX_REWRITES)
      throw new GlimpseError(
        'E_VERIFY',
        `pass ${passName} did not reach a fixpoint after ${MAX_REWRITES} rewrites`,
      );
    const applied = applyBatch(g, batch);
    const next = deadCodeElimination(applied);
    // Nodes the rewrites left dead are part of what they did: trace them as `dce`.
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
    g = next;
  }
}

/** The first rule that fires at `node`: its name, replacement and emitted nodes. */
function tryRules(node: Node, rules: readonly Rule[], env: MatchEnv, taken: Set<string>, g: Graph) {
  const root = node.outputs[0]!;
  for (const r of rules) {
    const m = r.pattern.match(root, env, {});
    if (m === undefined) continue;
    const rc = new RewriteCtx(env, root, taken);
    let replacement: string | undefined;
    try {
      replacement = r.rewrite(m as never, rc);
    } catch (e) {
      if (e instanceof GlimpseError) continue; // emitted nodes did not type-check: no match
      throw e;
    }
    if (replacement === undefined) continue;
    // A graph output keeps its name: replacing it by another existing value is declined.
    const defined = rc.nodes.some((n) => n.outputs.includes(replacement));
    if (!defined && g.outputs.includes(root)) continue;
    return { rule: r.name, replacement, emitted: rc.nodes };
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
