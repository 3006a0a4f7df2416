import type { Binding, Graph, Tensor } from '@glimpse/ir';
import { checkAllocation, concreteShapes, numel, paramTensor, withWhere } from '@glimpse/ir';
import type {
  Backend,
  Buf,
  Executable,
  InputValue,
  MemoryPlan,
  MemoryReport,
  RunOptions,
  StorageKind,
} from '@glimpse/runtime';
import {
  BindingCache,
  fromStorage,
  nodeShapes,
  paramBytes,
  prepareInputs,
  STORAGE_BYTES,
  stepsOf,
  storageOf,
  toStorage,
  ValueIds,
  view,
} from '@glimpse/runtime';
import type { Kernel } from '@glimpse/kernels-cpu';
import { KERNELS, Scratch } from '@glimpse/kernels-cpu';

interface Step {
  readonly kernel: Kernel;
  readonly ins: number[];
  readonly outs: number[];
  readonly node: string;
  readonly op: string;
}

/** Everything that depends on one binding of the symbols: buffers and bound kernels. */
interface Instance {
  readonly steps: Step[];
  readonly bufs: Buf[];
  readonly memory: MemoryPlan & { scratchBytes: number };
  readonly shapes: Map<string, number[]>;
}

/**
 * A graph compiled for the JS backend. Compiling decides, once, the step order, which
 * values are views of others and every value's storage kind; each binding of the symbols
 * then gets its memory plan and shape-specialised kernels, cached and reused.
 */
export class JsExecutable implements Executable {
  readonly backend = 'js';
  private readonly values: ValueIds;
  private readonly kinds: StorageKind[];
  private params: Map<number, Buf> | undefined;
  private readonly instances: BindingCache<Instance>;

  constructor(readonly graph: Graph) {
    this.values = new ValueIds(graph);
    this.kinds = graph.valueNames().map((n) => storageOf(graph.typeOf(n).dtype));
    this.instances = new BindingCache(graph);
  }

  private id(name: string): number {
    return this.values.id(name);
  }

  /** Run with boundary tensors (or bare typed arrays shaped by the graph and `shapes`). */
  async run(
    inputs: Readonly<Record<string, InputValue>>,
    options: RunOptions = {},
  ): Promise<Record<string, Tensor>> {
    return this.runSync(inputs, options);
  }

  runSync(
    inputs: Readonly<Record<string, InputValue>>,
    options: RunOptions = {},
  ): Record<string, Tensor> {
    const { tensors, binding, into } = prepareInputs(this.graph, inputs, options);
    const inst = this.instance(binding);
    const bufs = inst.bufs;
    for (const inp of this.graph.inputs)
      bufs[this.id(inp.name)] = toStorage(tensors[inp.name]!, `input '${inp.name}'`);
    for (const [id, b] of this.loadParams()) bufs[id] = b;
    for (const s of inst.steps) {
      try {
        s.kernel(
          s.ins.map((i) => bufs[i]!),
          s.outs.map((i) => bufs[i]!),
        );
      } catch (e) {
        throw withWhere(e, { node: s.node, op: s.op });
      }
    }
    return Object.fromEntries(
      this.graph.outputs.map((o) => {
        const t = this.graph.typeOf(o);
        return [
          o,
          fromStorage(bufs[this.values.rootOf(o)]!, t.dtype, inst.shapes.get(o)!, into[o]),
        ];
      }),
    );
  }

  /**
   * The memory plan for a binding: planned peak of intermediates (`peakBytes`), kernel
   * scratch shared by all steps (`scratchBytes`) and params (`paramBytes`).
   */
  async memory(binding: Binding): Promise<MemoryReport> {
    const { peakBytes, unplannedBytes, scratchBytes } = this.instance(binding).memory;
    return { peakBytes, unplannedBytes, scratchBytes, paramBytes: paramBytes(this.graph) };
  }

  /** Drop every binding's buffers and the params; a later run builds them again. */
  async release(): Promise<void> {
    this.instances.clear();
    this.params = undefined;
  }

  private loadParams(): Map<number, Buf> {
    if (this.params === undefined) {
      const m = new Map<number, Buf>();
      for (const p of this.graph.params)
        m.set(this.id(p.name), toStorage(paramTensor(p, this.graph.seed), `param '${p.name}'`));
      this.params = m;
    }
    return this.params;
  }

  private instance(binding: Binding): Instance {
    return this.instances.get(binding, () => this.instantiate(binding));
  }

  private instantiate(binding: Binding): Instance {
    const g = this.graph;
    const shapes = concreteShapes(g, binding);
    const nodes = stepsOf(g);
    const { order, plan: memory } = this.values.plan(
      nodes,
      shapes,
      (id) => STORAGE_BYTES[this.kinds[id]!],
    );
    const names = g.valueNames();
    const scratch = new Scratch();
    const steps = nodes.map((n): Step => {
      const ctx = { scratch, ...nodeShapes(g, n, shapes) };
      const factory = KERNELS[n.op] as (a: unknown, c: typeof ctx) => Kernel;
      return {
        kernel: factory(n.attrs, ctx),
        ins: n.inputs.map((i) => this.values.rootOf(i)),
        outs: n.outputs.map((o) => this.values.rootOf(o)),
        node: n.outputs[0]!,
        op: n.op,
      };
    });
    // Checked before anything sized by the shapes is allocated.
    checkAllocation(
      memory.peakBytes + paramBytes(g) + scratch.bytes,
      `${g.name} at ${JSON.stringify(binding)}`,
    );
    const slots = memory.slotBytes.map((b) => new ArrayBuffer(b));
    const bufs: Buf[] = new Array(names.length);
    order.forEach((id, i) => {
      bufs[id] = view(this.kinds[id]!, slots[memory.slotOf[i]!]!, numel(shapes.get(names[id]!)!));
    });
    return { steps, bufs, memory: { ...memory, scratchBytes: scratch.bytes }, shapes };
  }
}

/** Compile a graph for the JS backend. */
export function compileJs(g: Graph): JsExecutable {
  return new JsExecutable(g);
}

/** The JS backend: readable closures, float64 sums; runs wherever JavaScript does. */
export const jsBackend: Backend<JsExecutable> = {
  name: 'js',
  description: 'JavaScript closures on the CPU (float64 sums)',
  compile: async (g) => compileJs(g),
};
