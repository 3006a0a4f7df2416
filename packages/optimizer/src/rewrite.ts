import type { Graph, Node, NodeSpec, OpName, TensorType } from '@glimpse/ir';
import { Graph as G, GlimpseError } from '@glimpse/ir';
import type { Pass, PassContext } from './pass.js';
import type { Rule, RewriteResult } from './rule.js';
import { isDecline, RewriteCtx } from './rule.js';
import type { DeclineEntry } from './trace.js';
import type { Entry } from './workspace.js';
import { Workspace } from './workspace.js';

const MAX_REWRITES = 1_000_000;

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
  const index = new RuleIndex(rules);
  // Nothing any rule could match at: no working graph to build.
  if (!index.mayMatch(g)) return g;
  const ws = new Workspace(g, ctx.frozenParams);
  const driver = new Driver(ws, index, ctx, passName, new Set(g.valueNames()));
  driver.run();
  const nodes = ws.flatten();
  driver.reportDeclines(nodes);
  return driver.changed ? G.create({ ...g.toSpec(), nodes }) : g;
}

/** Rules by the op at their pattern's root (rules whose root may be any op: all of them). */
class RuleIndex {
  private readonly byOp = new Map<string, Rule[]>();
  private readonly anyOp: Rule[] = [];

  constructor(private readonly rules: readonly Rule[]) {
    for (const r of rules)
      if (r.pattern.rootOps === undefined) this.anyOp.push(r);
      else for (const o of r.pattern.rootOps) this.byOp.set(o, [...(this.byOp.get(o) ?? []), r]);
  }

  /** The rules that may match at a node of `op`, in their order. */
  for(op: string): readonly Rule[] {
    return this.anyOp.length === 0
      ? (this.byOp.get(op) ?? [])
      : this.rules.filter(
          (r) => r.pattern.rootOps === undefined || r.pattern.rootOps.includes(op as OpName),
        );
  }

  /** Whether some node of `g` has an op some rule may match at. */
  mayMatch(g: Graph): boolean {
    return this.anyOp.length > 0 || g.nodes.some((n) => this.byOp.has(n.op));
  }
}

/** A rule that fired: its replacement value and the nodes it emitted, with their types. */
interface Fired {
  rule: string;
  replacement: string;
  emitted: readonly NodeSpec[];
  types: ReadonlyMap<string, TensorType>;
}

/** The worklist over a working graph: visits nodes, fires rules, removes what dies. */
class Driver {
  private readonly queue: Entry[] = [];
  private head = 0;
  /** Root → rule → its latest decline there. */
  private readonly declines = new Map<string, Map<string, DeclineEntry>>();
  private count = 0;
  changed = false;

  constructor(
    private readonly ws: Workspace,
    private readonly rules: RuleIndex,
    private readonly ctx: PassContext,
    private readonly passName: string,
    /** Names in use: the graph's, and those the rewrites emitted. */
    private readonly taken: Set<string>,
  ) {
    for (const e of ws.roots) this.push(e);
  }

  run(): void {
    while (this.head < this.queue.length) {
      const e = this.queue[this.head++]!;
      e.queued = false;
      if (e.alive && e.node.outputs.length === 1) this.visit(e); // rules rewrite single-output nodes
    }
  }

  /** The declines at nodes that are still there, in graph order. */
  reportDeclines(nodes: readonly Node[]): void {
    if (this.declines.size === 0) return;
    for (const n of nodes)
      for (const d of this.declines.get(n.outputs[0]!)?.values() ?? []) this.ctx.decline?.(d);
  }

  private push(e: Entry | undefined): void {
    if (e === undefined || !e.alive || e.queued) return;
    e.queued = true;
    this.queue.push(e);
  }

  /** Try the rules at one node: record their declines, apply the first that fires. */
  private visit(e: Entry): void {
    const node = e.node;
    const root = node.outputs[0]!;
    const hit = tryRules(node, this.rules.for(node.op), this.ws, this.taken);
    for (const d of hit.declined) {
      let at = this.declines.get(root);
      if (at === undefined) this.declines.set(root, (at = new Map()));
      at.set(d.rule, {
        pass: this.passName,
        rule: d.rule,
        node: root,
        op: node.op,
        reason: d.reason,
      });
    }
    if (hit.fired !== undefined) this.fire(e, hit.fired);
  }

  /** Trace a firing, put its nodes in place of the root's, revisit what it touched. */
  private fire(e: Entry, fired: Fired): void {
    const { node } = e;
    const root = node.outputs[0]!;
    const { rule: ruleName, replacement, emitted } = fired;
    if (++this.count > MAX_REWRITES)
      throw new GlimpseError(
        'E_VERIFY',
        `pass ${this.passName} did not reach a fixpoint after ${MAX_REWRITES} rewrites`,
      );
    this.changed = true;
    this.declines.delete(root);
    const def = emitted.find((n) => n.outputs.includes(replacement));
    this.ctx.trace({
      pass: this.passName,
      rule: ruleName,
      node: root,
      op: node.op,
      replacement: def
        ? `${def.op}(${def.inputs.map((x) => `%${x}`).join(', ')})`
        : `%${replacement}`,
    });
    const { dropped, users, added } = this.replace(e, fired, def);
    for (const u of users) this.push(u);
    if (def !== undefined) this.push(e);
    for (const a of added) this.push(a);
    this.collect([...dropped, ...added.flatMap((a) => a.node.outputs)]);
  }

  /**
   * Splice the emitted nodes into the working graph at the root's entry. The emitted node
   * that defines the replacement (`def`) takes the root's name (value names stay stable
   * across passes); where the replacement is an existing value, uses read it. Returns the
   * values the old root read, the readers of the root, and the entries added before it.
   */
  private replace(e: Entry, fired: Fired, def: NodeSpec | undefined) {
    const ws = this.ws;
    const root = e.node.outputs[0]!;
    const { replacement, emitted, types } = fired;
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
    return { dropped, users, added };
  }

  /** Remove nodes none of whose outputs is used any more, transitively. */
  private collect(values: readonly string[]): void {
    const ws = this.ws;
    const check = [...values];
    while (check.length > 0) {
      const v = check.pop()!;
      const e = ws.entryOf(v);
      if (e === undefined || !e.alive) continue;
      if (e.node.outputs.some((o) => ws.uses(o) > 0 || ws.isOutput(o))) {
        this.push(e); // fewer uses: a single-use pattern may match its consumer now
        continue;
      }
      e.alive = false;
      this.ctx.trace({
        pass: this.passName,
        rule: 'dce',
        node: e.node.outputs[0]!,
        op: e.node.op,
        replacement: '(removed)',
      });
      check.push(...ws.detach(e));
    }
  }
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
