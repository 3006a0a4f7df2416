import type { Binding, ConstantAttrs, Graph, Node, Tensor } from '@glimpse/ir';
import {
  concreteShapes,
  constantValues,
  fromNumbers,
  numel,
  paramTensor,
  UnsupportedError,
  VIEW_OPS,
  withWhere,
} from '@glimpse/ir';
import { hasRelaxedSimd, hasSimd, ModuleBuilder } from '@glimpse/asm';
import type { Kernel } from '@glimpse/kernels-cpu';
import { KERNELS as CPU, Scratch } from '@glimpse/kernels-cpu';
import type {
  Backend,
  Executable,
  InputValue,
  MemoryReport,
  RunOptions,
  StorageKind,
} from '@glimpse/runtime';
import {
  BackendOptionError,
  BindingCache,
  fromStorage,
  nodeShapes,
  prepareInputs,
  STORAGE_BYTES,
  stepsOf,
  storageOf,
  toStorage,
  ValueIds,
  view,
} from '@glimpse/runtime';
import { align16, Arena } from './arena.js';
import { addSharedKernels, WASM_KERNELS } from './kernels/index.js';
import type { WasmCtx, WasmKernel, WasmRun, WasmStep } from './kernels/types.js';
import { CTRL_BYTES, Pool } from './pool.js';
import type { TaskFn } from './pool.js';

interface Step {
  readonly node: Node;
  readonly wasm?: WasmStep;
  readonly cpu?: Kernel;
  readonly ins: number[];
  readonly outs: number[];
}

interface Instance {
  readonly steps: Step[];
  readonly shapes: Map<string, number[]>;
  /** Byte offset of every value id's storage (views share their root's). */
  readonly offsets: number[];
  readonly end: number;
  readonly peakBytes: number;
  readonly unplannedBytes: number;
  readonly scratch: Scratch;
  readonly scratchBytes: number;
}

/** The options of the wasm backend (`compile(g, { backend: 'wasm', threads: 2 })`). */
export interface WasmOptions {
  /** Threads running the kernels, the main one included: an integer from 1 to 64 (default: the cores). */
  readonly threads?: number;
}

/** The most threads an executable runs. */
const MAX_THREADS = 64;

/**
 * `options.threads` checked (an integer from 1 to 64), or the default: the one place the
 * wasm backend reads it.
 */
function threadsOf(options: WasmOptions): number {
  const t: unknown = options.threads;
  if (t === undefined) return defaultThreads();
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > MAX_THREADS)
    throw new BackendOptionError(
      'wasm',
      'threads',
      `wasm backend: threads must be an integer from 1 to ${MAX_THREADS}, got ${typeof t === 'string' ? `'${t}'` : String(t)}`,
    );
  return t;
}

/** How many threads to use by default: the machine's cores. */
export function defaultThreads(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  // Node 20 has no navigator; process.getBuiltinModule (20.16+) reads the cores without an import.
  const proc = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
  const os = proc?.getBuiltinModule?.('node:os') as
    { availableParallelism?: () => number } | undefined;
  return Math.max(1, os?.availableParallelism?.() ?? 1);
}

let warnedSingle = false;

/**
 * A graph compiled for WebAssembly SIMD. All values live in one WebAssembly.Memory (shared
 * with the worker threads): params, constants and packed weights in a fixed region written
 * once, each binding's planned values from one base after it. Matmuls, attention and
 * row-wise normalisations run generated f32x4 kernels split over the threads; the other
 * ops run the CPU kernels on views of the same memory.
 */
export class WasmExecutable implements Executable {
  readonly backend = 'wasm';
  /**
   * The threads it runs on: `options.threads` (default: the cores), or 1 where there is no
   * SharedArrayBuffer.
   */
  readonly threads: number;
  /** Whether the matmul kernels use relaxed SIMD's multiply-add (the engine has it). */
  readonly fma: boolean = hasRelaxedSimd();
  private readonly values: ValueIds;
  private readonly kinds: StorageKind[];
  private readonly arena: Arena;
  private readonly fixed = new Map<number, number>();
  /** What the fixed region still needs written (values, then packed weights): the first run does it. */
  private fills: (() => void)[] = [];
  private readonly prepared = new Map<Node, unknown>();
  /** Nodes computed by their producer's kernel (a GEMM's epilogue), to that producer. */
  private readonly absorbed = new Map<Node, Node>();
  private readonly instances: BindingCache<Instance>;
  private readonly module: WebAssembly.Module;
  private readonly exportNames: string[];
  private readonly fns: TaskFn[];
  private pool: Pool | undefined;
  private readonly paramBytes: number;

  constructor(
    readonly graph: Graph,
    options: WasmOptions = {},
  ) {
    if (!hasSimd())
      throw new UnsupportedError(
        'the wasm backend needs WebAssembly SIMD (Node ≥ 16.4, Chrome ≥ 91, Firefox ≥ 89, Safari ≥ 16.4)',
      );
    const want = threadsOf(options);
    const sab = typeof SharedArrayBuffer !== 'undefined';
    if (want > 1 && !sab && !warnedSingle) {
      warnedSingle = true;
      console.warn(
        'glimpse wasm: SharedArrayBuffer is unavailable (a page must be cross-origin isolated): running on one thread',
      );
    }
    this.threads = sab ? want : 1;
    this.values = new ValueIds(graph);
    this.kinds = graph.valueNames().map((n) => storageOf(graph.typeOf(n).dtype));
    this.arena = new Arena(this.threads > 1, CTRL_BYTES);
    this.instances = new BindingCache(graph);
    // Params and constants get their place in the fixed region now and their values at the
    // first run (as the JS backend loads them), then the packed weights made from them.
    const fixedValue = (name: string, bytes: number, value: () => Tensor) => {
      const at = this.arena.fixed(bytes, `'${name}'`);
      this.fills.push(() => {
        const b = toStorage(value(), name);
        new Uint8Array(this.arena.buffer, at, b.byteLength).set(
          new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
        );
      });
      this.fixed.set(this.values.id(name), at);
    };
    const bytesOf = (id: number, shape: readonly number[]) =>
      numel(shape) * STORAGE_BYTES[this.kinds[id]!];
    for (const p of graph.params)
      fixedValue(p.name, bytesOf(this.values.id(p.name), p.type.shape as number[]), () =>
        paramTensor(p, graph.seed),
      );
    for (const n of graph.nodes)
      if (n.op === 'constant') {
        const a = n.attrs as unknown as ConstantAttrs;
        fixedValue(n.outputs[0]!, bytesOf(this.values.id(n.outputs[0]!), a.shape), () =>
          fromNumbers(a.dtype, a.shape, constantValues(a)),
        );
      }
    // The module: shared kernels, then what each node needs.
    const m = new ModuleBuilder({ initialPages: 1, maximumPages: 65536, shared: this.threads > 1 });
    const shared = addSharedKernels(m, this.fma);
    const consumers = soleConsumers(graph);
    graph.nodes.forEach((n, i) => {
      // A consumer its producer computes (which comes first) needs no code of its own.
      if (this.absorbed.has(n)) return;
      const k = WASM_KERNELS[n.op] as WasmKernel<never> | undefined;
      const prep = k?.prepare?.(n.attrs as never, n, {
        module: m,
        graph,
        id: `n${i}`,
        consumer: consumers.get(n),
        pack: (bytes, fill) => {
          const at = this.arena.fixed(bytes, `packed weights of '${n.outputs[0]}'`);
          this.fills.push(() => fill(new Float32Array(this.arena.buffer), at));
          return at;
        },
        fixedOffset: (v) => this.fixedOffset(v),
        ...shared,
      });
      this.prepared.set(n, prep);
      const absorbs = (prep as { absorbs?: Node } | undefined)?.absorbs;
      if (absorbs) this.absorbed.set(absorbs, n);
    });
    const bytes = m.bytes();
    this.module = new WebAssembly.Module(bytes);
    const inst = new WebAssembly.Instance(this.module, { env: { memory: this.arena.memory } });
    this.exportNames = WebAssembly.Module.exports(this.module).map((e) => e.name);
    this.fns = this.exportNames.map((e) => inst.exports[e] as TaskFn);
    this.paramBytes = this.arena.bindingBase;
  }

  private fixedOffset(name: string): number | undefined {
    return this.fixed.get(this.values.rootOf(name));
  }

  async run(
    inputs: Readonly<Record<string, InputValue>>,
    options: RunOptions = {},
  ): Promise<Record<string, Tensor>> {
    const { tensors, binding, into } = prepareInputs(this.graph, inputs, options);
    const inst = this.instance(binding);
    this.arena.ensure(inst.end, `'${this.graph.name}' at ${JSON.stringify(binding)}`);
    if (this.threads > 1) {
      this.pool ??= new Pool(
        this.threads,
        this.arena.memory,
        this.module,
        this.exportNames,
        this.fns,
        0,
      );
      await this.pool.start();
    }
    for (const f of this.fills) f();
    this.fills = [];
    const buf = this.arena.buffer;
    const bufOf = (id: number, shape: readonly number[]) =>
      view(this.kinds[id]!, buf, numel(shape), inst.offsets[id]!);
    for (const inp of this.graph.inputs) {
      const id = this.values.id(inp.name);
      const src = toStorage(tensors[inp.name]!, `input '${inp.name}'`);
      bufOf(id, inst.shapes.get(inp.name)!).set(src as never);
    }
    const r: WasmRun = {
      ins: [],
      outs: [],
      f32: new Float32Array(buf),
      i32: new Int32Array(buf),
      parallel: (fn, n, args) =>
        this.pool ? this.pool.run(fn, n, args) : runAll(this.fns[fn]!, n, args),
    };
    for (const s of inst.steps) {
      try {
        if (s.wasm)
          s.wasm({
            ...r,
            ins: s.ins.map((i) => inst.offsets[i]!),
            outs: s.outs.map((i) => inst.offsets[i]!),
          });
        else
          s.cpu!(
            s.node.inputs.map((v, k) => bufOf(s.ins[k]!, inst.shapes.get(v)!)),
            s.node.outputs.map((v, k) => bufOf(s.outs[k]!, inst.shapes.get(v)!)),
          );
      } catch (e) {
        throw withWhere(e, { node: s.node.outputs[0]!, op: s.node.op });
      }
    }
    return Object.fromEntries(
      this.graph.outputs.map((o) => {
        const id = this.values.rootOf(o);
        const shape = inst.shapes.get(o)!;
        return [o, fromStorage(bufOf(id, shape), this.graph.typeOf(o).dtype, shape, into[o])];
      }),
    );
  }

  async memory(binding: Binding): Promise<MemoryReport> {
    const i = this.instance(binding);
    return {
      peakBytes: i.peakBytes,
      unplannedBytes: i.unplannedBytes,
      paramBytes: this.paramBytes,
      scratchBytes: i.scratchBytes,
    };
  }

  /**
   * The consumers computed in their producer's epilogue, as [producer's output, consumer's
   * output] ('fc' → 'gelu': the GELU applied to the GEMM's tiles as they finish).
   */
  get epilogues(): [string, string][] {
    return [...this.absorbed].map(([u, l]) => [l.outputs[0]!, u.outputs[0]!]);
  }

  /**
   * Where each step of a binding runs: 'wasm' (a SIMD kernel of this backend) or 'cpu' (the
   * JS kernel of `@glimpse/kernels-cpu` on views of the memory), by the step's first output.
   */
  placement(binding: Binding = {}): { value: string; op: string; runs: 'wasm' | 'cpu' }[] {
    return this.instance(binding).steps.map((s) => ({
      value: s.node.outputs[0]!,
      op: s.node.op,
      runs: s.wasm ? 'wasm' : 'cpu',
    }));
  }

  /** Worker threads this executable runs now (0 before the first run and after release). */
  get workers(): number {
    return this.pool?.workerCount ?? 0;
  }

  /** Stop the worker threads and forget the bindings; a later run starts them again. */
  async release(): Promise<void> {
    this.instances.clear();
    await this.pool?.close();
    this.pool = undefined;
  }

  private instance(binding: Binding): Instance {
    return this.instances.get(binding, () => this.instantiate(binding));
  }

  private instantiate(binding: Binding): Instance {
    const g = this.graph;
    const shapes = concreteShapes(g, binding);
    // A node that absorbs its consumer is planned as one step from its inputs and the
    // consumer's other operands to the consumer's outputs (its own output never exists).
    const absorber = new Map([...this.absorbed].map(([u, l]) => [l, u]));
    const nodes = stepsOf(g, (n) => n.op === 'constant' || this.absorbed.has(n));
    const planned = nodes.map((n): { inputs: readonly string[]; outputs: readonly string[] } => {
      const u = absorber.get(n);
      return u
        ? {
            inputs: [...n.inputs, ...u.inputs.filter((v) => v !== n.outputs[0])],
            outputs: u.outputs,
          }
        : n;
    });
    const { order, plan } = this.values.plan(
      planned,
      shapes,
      (id) => STORAGE_BYTES[this.kinds[id]!],
    );
    const names = g.valueNames();
    // Slots laid out from the binding base, 16-byte aligned; inputs after them.
    let at = this.arena.bindingBase;
    const slotAt = plan.slotBytes.map((b) => {
      const s = at;
      at = align16(at + b);
      return s;
    });
    const offsets: number[] = new Array(names.length).fill(-1);
    order.forEach((id, i) => (offsets[id] = slotAt[plan.slotOf[i]!]!));
    for (const inp of g.inputs) {
      offsets[this.values.id(inp.name)] = at;
      at = align16(
        at + numel(shapes.get(inp.name)!) * STORAGE_BYTES[this.kinds[this.values.id(inp.name)]!],
      );
    }
    for (const [id, off] of this.fixed) offsets[id] = off;
    // Views share their root's storage.
    names.forEach((n, id) => (offsets[id] = offsets[this.values.rootOf(n)]!));
    const scratch = new Scratch();
    let allocated = 0;
    const alloc = (bytes: number) => {
      const s = at;
      at = align16(at + bytes);
      allocated += at - s;
      return s;
    };
    const steps = nodes.map((n, s): Step => {
      const ns = nodeShapes(g, n, shapes);
      const ins = planned[s]!.inputs.map((v) => this.values.rootOf(v));
      const outs = planned[s]!.outputs.map((v) => this.values.rootOf(v));
      try {
        const k = WASM_KERNELS[n.op] as WasmKernel<never> | undefined;
        const ctx: WasmCtx = {
          ...ns,
          fixedOffset: (v) => this.fixedOffset(v),
          alloc,
          fn: (name) => {
            const i = this.exportNames.indexOf(name);
            if (i < 0) throw new Error(`no export ${name}`);
            return i;
          },
          threads: this.threads,
        };
        const wasm = k?.bind(n.attrs as never, ctx, this.prepared.get(n));
        if (wasm) return { node: n, wasm, ins, outs };
        const cpu = (CPU[n.op] as (a: unknown, c: unknown) => Kernel)(n.attrs, { ...ns, scratch });
        return { node: n, cpu, ins, outs };
      } catch (e) {
        throw withWhere(e, { node: n.outputs[0]!, op: n.op });
      }
    });
    return {
      steps,
      shapes,
      offsets,
      end: at,
      peakBytes: plan.peakBytes,
      unplannedBytes: plan.unplannedBytes,
      scratch,
      // Kernels' argument blocks and per-thread scratch, and the CPU kernels' scratch.
      scratchBytes: allocated + scratch.bytes,
    };
  }
}

/**
 * For each node with one output, its only reader when a kernel could compute that reader
 * too: the output is no graph output and no view's root, the reader is not a view, and the
 * reader's other operands are defined before the node (graph inputs, params, constants or
 * outputs of earlier nodes).
 */
function soleConsumers(g: Graph): Map<Node, Node> {
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes)
    for (const v of new Set(n.inputs)) {
      const r = readers.get(v);
      if (r) r.push(n);
      else readers.set(v, [n]);
    }
  const defined = new Set([...g.inputs.map((i) => i.name), ...g.params.map((p) => p.name)]);
  const outputs = new Set(g.outputs);
  const out = new Map<Node, Node>();
  for (const n of g.nodes) {
    const [o] = n.outputs;
    const r = readers.get(o!);
    if (n.outputs.length === 1 && !outputs.has(o!) && r?.length === 1 && !VIEW_OPS.has(r[0]!.op)) {
      const u = r[0]!;
      if (u.inputs.every((v) => v === o || defined.has(v))) out.set(n, u);
    }
    n.outputs.forEach((v) => defined.add(v));
  }
  return out;
}

function runAll(f: TaskFn, n: number, args: number): void {
  for (let t = 0; t < n; t++) f(t, args, 0);
}

/** The WebAssembly backend: f32x4 SIMD kernels, multi-threaded; the fast CPU path. */
export const wasmBackend: Backend<WasmExecutable, WasmOptions> = {
  name: 'wasm',
  description: 'WebAssembly SIMD kernels on the CPU, multi-threaded',
  options: { threads: `threads, an integer from 1 to ${MAX_THREADS} (default: the cores)` },
  compile: async (g: Graph, options?: WasmOptions) => new WasmExecutable(g, options),
};
