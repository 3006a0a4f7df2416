import type { Attrs, AttrsOf, Graph, Node, NodeSpec, OpName, TensorType } from '@glimpse/ir';
import { Graph as G, GlimpseError, inferNode, OPS, resolveAttrs, uniqueName } from '@glimpse/ir';
import { constantLookup } from './env.js';
import type { CapturesOf, Match, MatchEnv, Pattern } from './pattern.js';
import type { Pass, PassContext } from './pass.js';

/** A rewrite's answer when it matched but will not fire: why, in words a user can act on. */
export interface Decline {
  readonly declined: string;
}
export const decline = (reason: string): Decline => ({ declined: reason });
export const isDecline = (r: unknown): r is Decline =>
  typeof r === 'object' && r !== null && 'declined' in r;

/**
 * What a rewrite may do: look at the graph (through the match env) and emit new nodes.
 * Emitted nodes are type-checked at once; a shape error aborts the rewrite (a decline that
 * quotes the error).
 */
export class RewriteCtx {
  readonly nodes: NodeSpec[] = [];
  private readonly types = new Map<string, TensorType>();
  constructor(
    readonly env: MatchEnv,
    private readonly root: string,
    /** Names in use: the graph's, and those of earlier rewrites. */
    private readonly taken: Set<string>,
  ) {}

  typeOf(v: string): TensorType {
    return this.types.get(v) ?? this.env.typeOf(v);
  }

  /** The attributes of the node producing `v`, which must be an `op` (typed by the op). */
  attrs<K extends OpName>(v: string, op: K): AttrsOf<K> {
    const n = this.env.producer(v);
    if (n?.op !== op) throw new Error(`internal: %${v} is not produced by ${op}`);
    return n.attrs as AttrsOf<K>;
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

  /** Types of the emitted values. */
  emittedType(v: string): TensorType | undefined {
    return this.types.get(v);
  }
}

/** What a rewrite returns: the value that replaces the root, a decline, or no match. */
export type RewriteResult = string | Decline | undefined;

/** A named rewrite rule: a pattern matched at a node's first output, and a rewrite. */
export interface Rule<C extends string = string> {
  readonly name: string;
  readonly pattern: Pattern<C>;
  /** The value that replaces the matched root; a decline (with its reason); or undefined. */
  readonly rewrite: (m: Match<C>, ctx: RewriteCtx) => RewriteResult;
}

// P is left unconstrained on purpose: a `Pattern<string>` constraint makes TypeScript infer
// the `as` capture of an inline op() from the constraint (string) instead of its literal.
export function rule<P>(
  name: string,
  pattern: P,
  rewrite: (m: Match<CapturesOf<P>>, ctx: RewriteCtx) => RewriteResult,
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

/** A rule whose pattern matched a root that is still in the final graph, but declined. */
export interface DeclineEntry {
  readonly pass: string;
  readonly rule: string;
  readonly node: string;
  readonly op: string;
  readonly reason: string;
}

const MAX_REWRITES = 1_000_000;

/** A node's place in the pass's working graph; emitted nodes go before their root's. */
interface Entry {
  node: Node;
  alive: boolean;
  queued: boolean;
  readonly before: Entry[];
}

/**
 * The graph a rule pass rewrites in place: producers, use counts and consumers kept up to
 * date one rewrite at a time (MLIR's greedy driver, tinygrad's graph_rewrite), so the cost of
 * a rewrite is the size of what it touches, not of the graph.
 */
class Workspace implements MatchEnv {
  readonly roots: Entry[];
  private readonly producers = new Map<string, Entry>();
  private readonly useCount = new Map<string, number>();
  /** Readers of each value (a few per value: arrays, not sets). */
  private readonly consumers = new Map<string, Entry[]>();
  private readonly types = new Map<string, TensorType>();
  private readonly outputs: ReadonlySet<string>;
  private readonly constants: ReturnType<typeof constantLookup>;

  constructor(
    readonly graph: Graph,
    frozenParams: boolean,
  ) {
    this.outputs = new Set(graph.outputs);
    this.constants = constantLookup(graph, frozenParams);
    for (const o of graph.outputs) this.useCount.set(o, (this.useCount.get(o) ?? 0) + 1);
    this.roots = graph.nodes.map((node) => {
      const e: Entry = { node, alive: true, queued: false, before: [] };
      this.attach(e);
      return e;
    });
  }

  // MatchEnv
  typeOf(v: string): TensorType {
    return this.types.get(v) ?? this.graph.typeOf(v);
  }
  isOutput(v: string): boolean {
    return this.outputs.has(v);
  }
  producer(v: string): Node | undefined {
    const e = this.producers.get(v);
    return e?.alive ? e.node : undefined;
  }
  uses(v: string): number {
    return this.useCount.get(v) ?? 0;
  }
  constant(v: string): readonly number[] | undefined {
    return this.constants(v, this.producer(v));
  }

  consumersOf(v: string): Entry[] {
    return [...(this.consumers.get(v) ?? [])];
  }
  entryOf(v: string): Entry | undefined {
    return this.producers.get(v);
  }

  /** Register a node's outputs and its reads. */
  attach(e: Entry) {
    for (const o of e.node.outputs) this.producers.set(o, e);
    // tril reads only its input's shape: that is no reason to keep the scores alive (DCE
    // drops the tril with the mask it feeds). Undercounting can only keep nodes alive.
    for (const i of e.node.inputs) {
      const list = this.consumers.get(i);
      if (list === undefined) this.consumers.set(i, [e]);
      else if (!list.includes(e)) list.push(e);
      if (e.node.op !== 'tril') this.useCount.set(i, (this.useCount.get(i) ?? 0) + 1);
    }
  }

  /** Unregister a node's reads; returns the values it read (their counts dropped). */
  detach(e: Entry): readonly string[] {
    for (const i of e.node.inputs) {
      const list = this.consumers.get(i);
      const at = list?.indexOf(e) ?? -1;
      if (at >= 0) list!.splice(at, 1);
      if (e.node.op !== 'tril') this.useCount.set(i, (this.useCount.get(i) ?? 1) - 1);
    }
    return e.node.inputs;
  }

  setType(v: string, t: TensorType) {
    this.types.set(v, t);
  }

  /** Nodes in a valid order (emitted nodes before the node they were emitted for). */
  flatten(): Node[] {
    const out: Node[] = [];
    const stack: [Entry, number][] = this.roots.map((e) => [e, 0] as [Entry, number]).reverse();
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [e, k] = top;
      if (k < e.before.length) {
        top[1]++;
        stack.push([e.before[k]!, 0]);
      } else {
        stack.pop();
        if (e.alive) out.push(e.node);
      }
    }
    return out;
  }
}

/**
 * Rewrite to a fixpoint with a worklist: every node is visited once, and after a rewrite
 * only what it touched is revisited — the new nodes, the users of the replaced value, and
 * the producers whose use counts dropped (a single-use pattern may match them now). Rules
 * are indexed by the op of their pattern's root. Nodes the rewrites leave dead are removed
 * as they die (traced as `dce`). The graph is rebuilt and verified once, at the end.
 */
export function applyRules(
  g: Graph,
  rules: readonly Rule[],
  ctx: PassContext,
  passName: string,
): Graph {
  const byOp = new Map<string, Rule[]>();
  const anyOp: Rule[] = [];
  for (const r of rules)
    if (r.pattern.rootOps === undefined) anyOp.push(r);
    else for (const o of r.pattern.rootOps) byOp.set(o, [...(byOp.get(o) ?? []), r]);
  const rulesFor = (op: string) =>
    anyOp.length === 0
      ? (byOp.get(op) ?? [])
      : rules.filter(
          (r) => r.pattern.rootOps === undefined || r.pattern.rootOps.includes(op as OpName),
        );

  // Nothing any rule could match at: no working graph to build.
  if (anyOp.length === 0 && !g.nodes.some((n) => byOp.has(n.op))) return g;
  const ws = new Workspace(g, ctx.frozenParams);
  const taken = new Set(g.valueNames());
  /** Root → rule → its latest decline there. */
  const declines = new Map<string, Map<string, DeclineEntry>>();
  const queue: Entry[] = [];
  let head = 0;
  const push = (e: Entry | undefined) => {
    if (e === undefined || !e.alive || e.queued) return;
    e.queued = true;
    queue.push(e);
  };
  for (const e of ws.roots) push(e);

  /** Remove nodes none of whose outputs is used any more, transitively. */
  const collect = (values: readonly string[]) => {
    const check = [...values];
    while (check.length > 0) {
      const v = check.pop()!;
      const e = ws.entryOf(v);
      if (e === undefined || !e.alive) continue;
      if (e.node.outputs.some((o) => ws.uses(o) > 0 || ws.isOutput(o))) {
        push(e); // fewer uses: a single-use pattern may match its consumer now
        continue;
      }
      e.alive = false;
      ctx.trace({
        pass: passName,
        rule: 'dce',
        node: e.node.outputs[0]!,
        op: e.node.op,
        replacement: '(removed)',
      });
      check.push(...ws.detach(e));
    }
  };

  let count = 0;
  let changed = false;
  while (head < queue.length) {
    const e = queue[head++]!;
    e.queued = false;
    if (!e.alive || e.node.outputs.length !== 1) continue; // rules rewrite single-output nodes
    const node = e.node;
    const root = node.outputs[0]!;
    const hit = tryRules(node, rulesFor(node.op), ws, taken);
    for (const d of hit.declined) {
      let at = declines.get(root);
      if (at === undefined) declines.set(root, (at = new Map()));
      at.set(d.rule, { pass: passName, rule: d.rule, node: root, op: node.op, reason: d.reason });
    }
    if (hit.fired === undefined) continue;
    const { rule: ruleName, replacement, emitted, types } = hit.fired;
    if (++count > MAX_REWRITES)
      throw new GlimpseError(
        'E_VERIFY',
        `pass ${passName} did not reach a fixpoint after ${MAX_REWRITES} rewrites`,
      );
    changed = true;
    declines.delete(root);
    const def = emitted.find((n) => n.outputs.includes(replacement));
    ctx.trace({
      pass: passName,
      rule: ruleName,
      node: root,
      op: node.op,
      replacement: def
        ? `${def.op}(${def.inputs.map((x) => `%${x}`).join(', ')})`
        : `%${replacement}`,
    });
    // The emitted node that defines the replacement takes the root's name (value names stay
    // stable across passes); where the replacement is an existing value, uses read it.
    const rename = (v: string) => (def !== undefined && v === replacement ? root : v);
    const dropped = ws.detach(e);
    const users = ws.consumersOf(root);
    const added: Entry[] = [];
    for (const n of emitted) {
      const renamed: Node = {
        ...(n as Node),
        inputs: n.inputs.map(rename),
        outputs: n.outputs.map(rename),
      };
      n.outputs.forEach((o) => ws.setType(rename(o), types.get(o)!));
      if (n === def) {
        e.node = renamed;
        ws.attach(e);
      } else {
        const ne: Entry = { node: renamed, alive: true, queued: false, before: [] };
        e.before.push(ne);
        ws.attach(ne);
        added.push(ne);
      }
    }
    if (def === undefined) {
      e.alive = false;
      for (const u of users) {
        ws.detach(u);
        u.node = { ...u.node, inputs: u.node.inputs.map((i) => (i === root ? replacement : i)) };
        ws.attach(u);
      }
    }
    for (const u of users) push(u);
    if (def !== undefined) push(e);
    for (const a of added) push(a);
    collect([...dropped, ...added.flatMap((a) => a.node.outputs)]);
  }

  // Declines at nodes that are still there, in graph order.
  const nodes = ws.flatten();
  if (declines.size > 0)
    for (const n of nodes)
      for (const d of declines.get(n.outputs[0]!)?.values() ?? []) ctx.decline?.(d);
  return changed ? G.create({ ...g.toSpec(), nodes }) : g;
}

interface Fired {
  rule: string;
  replacement: string;
  emitted: readonly NodeSpec[];
  types: ReadonlyMap<string, TensorType>;
}

/** The first rule that fires at `node`, and the declines of those tried before it. */
function tryRules(node: Node, rules: readonly Rule[], env: Workspace, taken: Set<string>) {
  const root = node.outputs[0]!;
  const declined: { rule: string; reason: string }[] = [];
  for (const r of rules) {
    const m = r.pattern.match(root, env, {});
    if (m === undefined) continue;
    const rc = new RewriteCtx(env, root, taken);
    let result: RewriteResult;
    try {
      result = r.rewrite(m as never, rc);
    } catch (e) {
      if (!(e instanceof GlimpseError)) throw e;
      // Emitted nodes did not type-check: the rewrite cannot express this case.
      declined.push({ rule: r.name, reason: `the replacement does not type-check: ${e.message}` });
      continue;
    }
    if (result === undefined) continue;
    if (isDecline(result)) {
      declined.push({ rule: r.name, reason: result.declined });
      continue;
    }
    const replacement = result;
    // A graph output keeps its name: replacing it by another existing value is declined.
    const defined = rc.nodes.some((n) => n.outputs.includes(replacement));
    if (!defined && env.isOutput(root)) {
      declined.push({ rule: r.name, reason: `%${root} is a graph output: it keeps its own node` });
      continue;
    }
    const types = new Map<string, TensorType>();
    for (const n of rc.nodes) for (const o of n.outputs) types.set(o, rc.emittedType(o)!);
    return { declined, fired: { rule: r.name, replacement, emitted: rc.nodes, types } as Fired };
  }
  return { declined, fired: undefined };
}

/** A pass made of rules. */
export function rewritePass(
  name: string,
  description: string,
  /** Why the pass is exact on special values, and each rule (by name): docs/passes.md. */
  exact: { readonly pass: string; readonly rules: Readonly<Record<string, string>> },
  rules: readonly Rule[],
): Pass & { rules: readonly Rule[]; ruleExact: Readonly<Record<string, string>> } {
  return {
    name,
    description,
    exact: exact.pass,
    ruleExact: exact.rules,
    rules,
    idempotent: true,
    run: (g, ctx) => applyRules(g, rules, ctx, name),
  };
}
