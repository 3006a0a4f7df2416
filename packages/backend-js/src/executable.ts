import type { Binding, Graph, Tensor, TypedArray } from '@glimpse/ir';
import {
  bindInputs,
  checkAllocation,
  concreteShape,
  concreteShapes,
  InputError,
  numel,
  paramTensor,
  withWhere,
} from '@glimpse/ir';
import type { Kernel } from './kernels/index.js';
import { KERNELS, VIEW_OPS } from './kernels/index.js';
import { Scratch } from './kernels/scratch.js';
import { BindingCache, ValueIds } from './instances.js';
import type { MemoryPlan } from './memory.js';
import type { Buf, StorageKind } from './storage.js';
import { fromStorage, STORAGE_BYTES, storageOf, toStorage, view } from './storage.js';

export type InputValue = Tensor | TypedArray;
export interface RunOptions {
  /** Values for symbols the inputs do not fix (needed for bare typed-array inputs). */
  shapes?: Binding;
}

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
  readonly paramBytes: number;
}

/**
 * A graph compiled for the JS backend. Compiling decides, once, the step order, which
 * values are views of others and every value's storage kind; each binding of the symbols
 * then gets its memory plan and shape-specialised kernels, cached and reused.
 */
export class JsExecutable {
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
    const tensors = normalizeInputs(this.graph, inputs, options.shapes ?? {});
    const binding = bindInputs(this.graph, tensors, options.shapes);
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
        return [o, fromStorage(bufs[this.values.rootOf(o)]!, t.dtype, inst.shapes.get(o)!)];
      }),
    );
  }

  /**
   * The memory plan for a binding: planned peak of intermediates (`peakBytes`), kernel
   * scratch shared by all steps (`scratchBytes`) and params (`paramBytes`).
   */
  memory(binding: Binding): MemoryPlan & { paramBytes: number; scratchBytes: number } {
    const inst = this.instance(binding);
    return { ...inst.memory, paramBytes: inst.paramBytes };
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
    const nodes = g.nodes.filter((n) => !VIEW_OPS.has(n.op));
    const { order, plan: memory } = this.values.plan(
      nodes,
      shapes,
      (id) => STORAGE_BYTES[this.kinds[id]!],
    );
    const names = g.valueNames();
    const paramBytes = g.params.reduce(
      (a, p) => a + numel(p.type.shape as number[]) * STORAGE_BYTES[storageOf(p.type.dtype)],
      0,
    );
    const scratch = new Scratch();
    const steps = nodes.map((n): Step => {
      const ctx = {
        scratch,
        node: n,
        inShapes: n.inputs.map((i) => shapes.get(i)!),
        outShapes: n.outputs.map((o) => shapes.get(o)!),
        inTypes: n.inputs.map((i) => g.typeOf(i).dtype),
        outTypes: n.outputs.map((o) => g.typeOf(o).dtype),
      };
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
      memory.peakBytes + paramBytes + scratch.bytes,
      `${g.name} at ${JSON.stringify(binding)}`,
    );
    const slots = memory.slotBytes.map((b) => new ArrayBuffer(b));
    const bufs: Buf[] = new Array(names.length);
    order.forEach((id, i) => {
      bufs[id] = view(this.kinds[id]!, slots[memory.slotOf[i]!]!, numel(shapes.get(names[id]!)!));
    });
    return { steps, bufs, memory: { ...memory, scratchBytes: scratch.bytes }, shapes, paramBytes };
  }
}

/**
 * Bare typed arrays become tensors shaped by the graph under the binding given by the
 * other inputs and `shapes`; a length that does not fit is an InputError.
 */
export function normalizeInputs(
  g: Graph,
  inputs: Readonly<Record<string, InputValue>>,
  shapes: Binding,
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const partial: Record<string, number> = { ...shapes };
  const bare: string[] = [];
  for (const [name, v] of Object.entries(inputs)) {
    if (ArrayBuffer.isView(v)) bare.push(name);
    else out[name] = v;
  }
  for (const inp of g.inputs) {
    const t = out[inp.name];
    if (t)
      inp.type.shape.forEach(
        (d, i) =>
          typeof d === 'string' &&
          partial[d] === undefined &&
          t.shape[i] !== undefined &&
          (partial[d] = t.shape[i]!),
      );
  }
  for (const name of bare) {
    const inp = g.inputs.find((i) => i.name === name);
    const data = inputs[name] as TypedArray;
    if (inp === undefined) {
      out[name] = { dtype: 'f32', shape: [data.length], data }; // reported as unknown by bindInputs
      continue;
    }
    let shape: number[];
    try {
      shape = concreteShape(inp.type.shape, partial, `input '${name}'`);
    } catch {
      throw new InputError(
        `input '${name}' is a bare array but its shape [${inp.type.shape.join(',')}] is not fixed: pass { dtype, shape, data } or options.shapes`,
        { value: name },
      );
    }
    out[name] = { dtype: inp.type.dtype, shape, data };
  }
  return out;
}

/** Compile a graph for the JS backend. */
export function compileJs(g: Graph): JsExecutable {
  return new JsExecutable(g);
}
