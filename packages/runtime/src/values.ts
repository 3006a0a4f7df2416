import type { Binding, Graph } from '@glimpse/ir';
import { numel, VIEW_OPS } from '@glimpse/ir';
import type { MemoryPlan } from './memory.js';
import { liveness, planMemory } from './memory.js';

/**
 * What every backend's executable decides once per graph: an id per value and the id of
 * the value whose storage it uses (itself, unless it is a view such as `reshape`).
 */
export class ValueIds {
  private readonly ids = new Map<string, number>();
  /** Value id → id of the value whose storage it uses. */
  readonly root: number[] = [];

  constructor(readonly graph: Graph) {
    for (const name of graph.valueNames()) {
      this.root.push(this.ids.size);
      this.ids.set(name, this.ids.size);
    }
    for (const n of graph.nodes)
      if (VIEW_OPS.has(n.op)) this.root[this.id(n.outputs[0]!)] = this.root[this.id(n.inputs[0]!)]!;
  }

  id(name: string): number {
    return this.ids.get(name)!;
  }

  /** Id of the storage `name` lives in. */
  rootOf(name: string): number {
    return this.root[this.id(name)]!;
  }

  /**
   * The memory plan of one binding: liveness of the values `steps` define (views keep their
   * root alive, outputs live to the end), then best-fit slots. `order[i]` is the value id of
   * the plan's value i.
   */
  plan(
    steps: readonly { readonly inputs: readonly string[]; readonly outputs: readonly string[] }[],
    shapes: ReadonlyMap<string, number[]>,
    elemBytes: (id: number) => number,
  ): { order: number[]; plan: MemoryPlan } {
    const live = liveness(
      steps,
      this.graph.outputs,
      (n) => this.id(n),
      (i) => this.root[i]!,
    );
    const order = [...live.keys()];
    const names = this.graph.valueNames();
    const plan = planMemory(
      order.map((id) => ({
        bytes: numel(shapes.get(names[id]!)!) * elemBytes(id),
        ...live.get(id)!,
      })),
      steps.length,
    );
    return { order, plan };
  }
}

export const MAX_INSTANCES = 8;

/**
 * Per-binding instances of a compiled graph, keyed by the values of its symbols: the
 * `capacity` most recently used are kept (least recently used evicted first; `evicted`
 * sees them go, to free GPU buffers).
 */
export class BindingCache<T> {
  private readonly map = new Map<string, T>();
  private readonly symbols: string[];

  constructor(
    graph: Graph,
    private readonly evicted: (t: T) => void = () => {},
    private readonly capacity = MAX_INSTANCES,
  ) {
    this.symbols = graph.symbols();
  }

  private key(binding: Binding): string {
    return this.symbols.map((s) => `${s}=${binding[s]}`).join(',');
  }

  get(binding: Binding, make: () => T): T {
    const key = this.key(binding);
    let t = this.map.get(key);
    if (t !== undefined) {
      // A Map iterates in insertion order: re-inserting makes this the most recent.
      this.map.delete(key);
      this.map.set(key, t);
      return t;
    }
    t = make();
    if (this.map.size >= this.capacity) {
      const [oldKey, old] = this.map.entries().next().value!;
      this.map.delete(oldKey);
      this.evicted(old);
    }
    this.map.set(key, t);
    return t;
  }

  /** Bindings held, least recently used first. */
  keys(): string[] {
    return [...this.map.keys()];
  }

  /** Evict everything (`release()`). */
  clear(): void {
    const all = [...this.map.values()];
    this.map.clear();
    all.forEach(this.evicted);
  }

  /** Forget the instance of `binding` (one that failed to build). */
  drop(binding: Binding): void {
    this.map.delete(this.key(binding));
  }
}
