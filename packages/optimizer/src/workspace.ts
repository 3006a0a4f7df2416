import type { Graph, Node, TensorType } from '@glimpse/ir';
import { constantLookup, readsValues } from './env.js';
import type { MatchEnv } from './pattern.js';

/** A node's place in the pass's working graph; emitted nodes go before their root's. */
export interface Entry {
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
export class Workspace implements MatchEnv {
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

  /**
   * Register a node's outputs and its reads. An input read only for its shape (tril's) is
   * a reader but no use: that is no reason to keep the scores alive.
   */
  attach(e: Entry) {
    for (const o of e.node.outputs) this.producers.set(o, e);
    e.node.inputs.forEach((i, k) => {
      const list = this.consumers.get(i);
      if (list === undefined) this.consumers.set(i, [e]);
      else if (!list.includes(e)) list.push(e);
      if (readsValues(e.node.op, k)) this.useCount.set(i, (this.useCount.get(i) ?? 0) + 1);
    });
  }

  /** Unregister a node's reads; returns the values it read (their counts dropped). */
  detach(e: Entry): readonly string[] {
    e.node.inputs.forEach((i, k) => {
      const list = this.consumers.get(i);
      const at = list?.indexOf(e) ?? -1;
      if (at >= 0) list!.splice(at, 1);
      if (readsValues(e.node.op, k)) this.useCount.set(i, (this.useCount.get(i) ?? 1) - 1);
    });
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
