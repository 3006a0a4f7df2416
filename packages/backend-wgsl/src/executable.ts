import type { Binding, ConstantAttrs, DType, Graph, Node, Tensor, TypedArray } from '@glimpse/ir';
import {
  checkAllocation,
  concreteShapes,
  constantValues,
  DeviceError,
  fromNumbers,
  numel,
  paramTensor,
  RuntimeError,
  UnsupportedError,
  withWhere,
} from '@glimpse/ir';
import type { Backend, Executable, InputValue, MemoryReport, RunOptions } from '@glimpse/runtime';
import {
  BindingCache,
  fromStorage,
  nodeShapes,
  prepareInputs,
  stepsOf,
  toStorage,
  ValueIds,
} from '@glimpse/runtime';
import { checkLive, gpuDevice } from './device.js';
import type { Dispatch, KernelCtx, KernelFactory, Ref } from './kernels/index.js';
import { KERNELS } from './kernels/index.js';
import { grid, pipelineFor } from './runtime.js';
import { storageType } from './wgsl.js';
import { declinesWgsl } from './legalize.js';

/** Every element is 4 bytes on the GPU (f32, i32, or a bool in a u32). */
const ELEM = 4;
/** Status words: [failing step + 1, first bad position]. */
const STATUS_INIT = new Uint32Array([0, 0xffffffff]);

interface Step {
  readonly node: Node;
  /** The message for bad data its kernel recorded in the status words. */
  readonly badData?: (position: number) => string;
  readonly dispatches: {
    readonly pipeline: GPUComputePipeline;
    readonly bindGroup: GPUBindGroup;
    readonly grid: [number, number];
  }[];
}

interface Instance {
  readonly steps: Step[];
  readonly shapes: Map<string, number[]>;
  /** Buffer of each value id (views and params included). */
  readonly buffers: GPUBuffer[];
  /** Buffers this instance created (destroyed when it is evicted). */
  readonly owned: GPUBuffer[];
  readonly inputBuffers: Map<string, GPUBuffer>;
  readonly status: GPUBuffer;
  readonly staging: GPUBuffer;
  /** Byte offset in `staging` of each graph output, then of the status words. */
  readonly readOffsets: number[];
  readonly peakBytes: number;
  readonly unplannedBytes: number;
}

type HostArray = Float32Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Uint32Array<ArrayBuffer>;

/** Host data in the GPU's 4-byte element types, never on a SharedArrayBuffer (Dawn refuses those). */
function hostArray(t: Tensor, what: string): HostArray {
  const b = toStorage(t, what);
  if (b instanceof Uint8Array) return Uint32Array.from(b);
  if (b.buffer instanceof ArrayBuffer) return b as HostArray;
  return b instanceof Float32Array ? new Float32Array(b) : new Int32Array(b);
}

/** A tensor from mapped GPU memory at `offset` (fromStorage copies it out, into `into` if given). */
function fromHost(
  bytes: ArrayBuffer,
  offset: number,
  dtype: DType,
  shape: number[],
  into: TypedArray | undefined,
): Tensor {
  const n = numel(shape);
  const s = storageType(dtype);
  const b =
    s === 'f32'
      ? new Float32Array(bytes, offset, n)
      : s === 'i32'
        ? new Int32Array(bytes, offset, n)
        : Uint8Array.from(new Uint32Array(bytes, offset, n));
  return fromStorage(b, dtype, shape, into);
}

/**
 * A graph compiled for WebGPU. Like the JS backend, each binding of the symbols gets an
 * instance: memory plan, buffers, uniforms and bind groups; pipelines are shared through
 * the device's cache keyed by shader text. One run is one command buffer.
 */
export class WgslExecutable implements Executable {
  readonly backend = 'wgsl';
  private readonly values: ValueIds;
  private readonly instances: BindingCache<Promise<Instance>>;
  /** Params and constants: uploaded once, shared by every instance. */
  private fixed: Map<number, GPUBuffer> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly graph: Graph,
    readonly device: GPUDevice,
  ) {
    this.values = new ValueIds(graph);
    this.instances = new BindingCache(graph, (old) => void old.then(destroyInstance, () => {}));
  }

  private id(name: string): number {
    return this.values.id(name);
  }

  /** Run with boundary tensors (or bare typed arrays shaped by the graph and `shapes`). */
  run(
    inputs: Readonly<Record<string, InputValue>>,
    options: RunOptions = {},
  ): Promise<Record<string, Tensor>> {
    // Runs share staging buffers: one at a time.
    const r = this.queue.then(() => this.runNow(inputs, options));
    this.queue = r.catch(() => undefined);
    return r;
  }

  /**
   * GPU memory of a binding: planned peak of intermediates, params and constants (uploaded
   * once); the kernels need no scratch.
   */
  async memory(binding: Binding): Promise<MemoryReport> {
    const i = await this.instance(binding);
    let paramBytes = 0;
    for (const b of this.fixedBuffers().values()) paramBytes += b.size;
    return {
      peakBytes: i.peakBytes,
      unplannedBytes: i.unplannedBytes,
      paramBytes,
      scratchBytes: 0,
    };
  }

  /** Destroy every GPU buffer this executable made; a later run uploads again. */
  async release(): Promise<void> {
    await this.queue;
    this.instances.clear();
    for (const b of this.fixed?.values() ?? []) b.destroy();
    this.fixed = undefined;
  }

  private async runNow(
    inputs: Readonly<Record<string, InputValue>>,
    options: RunOptions,
  ): Promise<Record<string, Tensor>> {
    checkLive(this.device);
    const g = this.graph;
    const { tensors, binding, into } = prepareInputs(g, inputs, options);
    const inst = await this.instance(binding);
    const dev = this.device;
    for (const inp of g.inputs) {
      const data = hostArray(tensors[inp.name]!, `input '${inp.name}'`);
      if (data.byteLength > 0) dev.queue.writeBuffer(inst.inputBuffers.get(inp.name)!, 0, data);
    }
    dev.queue.writeBuffer(inst.status, 0, STATUS_INIT);
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (const s of inst.steps)
      for (const d of s.dispatches) {
        pass.setPipeline(d.pipeline);
        pass.setBindGroup(0, d.bindGroup);
        pass.dispatchWorkgroups(d.grid[0], d.grid[1]);
      }
    pass.end();
    g.outputs.forEach((o, i) => {
      const bytes = numel(inst.shapes.get(o)!) * ELEM;
      if (bytes > 0)
        enc.copyBufferToBuffer(
          this.bufferOf(inst, o),
          0,
          inst.staging,
          inst.readOffsets[i]!,
          bytes,
        );
    });
    enc.copyBufferToBuffer(inst.status, 0, inst.staging, inst.readOffsets[g.outputs.length]!, 8);
    dev.pushErrorScope('out-of-memory');
    dev.pushErrorScope('validation');
    dev.queue.submit([enc.finish()]);
    const [validation, oom] = [await dev.popErrorScope(), await dev.popErrorScope()];
    if (validation || oom)
      throw new DeviceError(
        `WebGPU rejected the run of '${g.name}': ${(validation ?? oom)!.message}`,
      );
    await inst.staging.mapAsync(GPUMapMode.READ);
    try {
      const all = inst.staging.getMappedRange();
      const status = new Uint32Array(all, inst.readOffsets[g.outputs.length]!, 2);
      if (status[0] !== 0) {
        const step = inst.steps[status[0]! - 1]!;
        throw new RuntimeError(step.badData!(status[1]!), {
          node: step.node.outputs[0]!,
          op: step.node.op,
        });
      }
      return Object.fromEntries(
        g.outputs.map((o, i) => {
          const shape = inst.shapes.get(o)!;
          return [o, fromHost(all, inst.readOffsets[i]!, g.typeOf(o).dtype, shape, into[o])];
        }),
      );
    } finally {
      inst.staging.unmap();
    }
  }

  private bufferOf(inst: Instance, name: string): GPUBuffer {
    return inst.buffers[this.values.rootOf(name)]!;
  }

  private makeBuffer(bytes: number, usage: number, what: string): GPUBuffer {
    const max = this.device.limits.maxStorageBufferBindingSize;
    if (bytes > max)
      throw new UnsupportedError(
        `${what} needs ${bytes} bytes, over this device's storage-buffer binding limit of ${max} bytes`,
      );
    // Multiples of 16 bytes: kernels may bind a buffer as array<vec4<f32>>.
    return this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
  }

  private fixedBuffers(): Map<number, GPUBuffer> {
    if (this.fixed) return this.fixed;
    const m = new Map<number, GPUBuffer>();
    const upload = (name: string, data: HostArray) => {
      const b = this.makeBuffer(
        data.byteLength,
        GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
        `'${name}'`,
      );
      if (data.byteLength > 0) this.device.queue.writeBuffer(b, 0, data);
      m.set(this.id(name), b);
    };
    for (const p of this.graph.params)
      upload(p.name, hostArray(paramTensor(p, this.graph.seed), `param '${p.name}'`));
    for (const n of this.graph.nodes)
      if (n.op === 'constant') {
        const a = n.attrs as unknown as ConstantAttrs;
        upload(
          n.outputs[0]!,
          hostArray(fromNumbers(a.dtype, a.shape, constantValues(a)), n.outputs[0]!),
        );
      }
    this.fixed = m;
    return m;
  }

  private instance(binding: Binding): Promise<Instance> {
    return this.instances.get(binding, () => {
      const inst = this.instantiate(binding);
      inst.catch(() => this.instances.drop(binding));
      return inst;
    });
  }

  private async instantiate(binding: Binding): Promise<Instance> {
    const g = this.graph;
    const dev = this.device;
    const shapes = concreteShapes(g, binding);
    // Views need no step; constants are uploaded once, like params.
    const nodes = stepsOf(g, (n) => n.op === 'constant');
    const { order, plan } = this.values.plan(nodes, shapes, () => ELEM);
    const inputBytes = g.inputs.reduce((a, i) => a + numel(shapes.get(i.name)!) * ELEM, 0);
    const outBytes = g.outputs.reduce((a, o) => a + numel(shapes.get(o)!) * ELEM, 0);
    checkAllocation(
      plan.peakBytes + inputBytes + outBytes,
      `${g.name} at ${JSON.stringify(binding)}`,
    );

    const dispatches = nodes.map((n, step) => {
      const ctx: KernelCtx = { step, ...nodeShapes(g, n, shapes) };
      try {
        return (KERNELS[n.op as keyof typeof KERNELS] as KernelFactory<never>)(
          n.attrs as never,
          ctx,
        );
      } catch (e) {
        throw withWhere(e, { node: n.outputs[0]!, op: n.op });
      }
    });

    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const buffers: GPUBuffer[] = [];
    const slotBuffers = plan.slotBytes.map((b, i) =>
      this.makeBuffer(b, usage, `intermediate slot ${i} of '${g.name}'`),
    );
    order.forEach((id, i) => (buffers[id] = slotBuffers[plan.slotOf[i]!]!));
    const inputBuffers = new Map<string, GPUBuffer>();
    for (const inp of g.inputs) {
      const b = this.makeBuffer(numel(shapes.get(inp.name)!) * ELEM, usage, `input '${inp.name}'`);
      inputBuffers.set(inp.name, b);
      buffers[this.id(inp.name)] = b;
    }
    for (const [id, b] of this.fixedBuffers()) buffers[id] = b;
    const status = dev.createBuffer({ size: 16, usage });
    const readOffsets: number[] = [];
    let at = 0;
    for (const o of g.outputs) {
      readOffsets.push(at);
      at += Math.ceil((numel(shapes.get(o)!) * ELEM) / 8) * 8;
    }
    readOffsets.push(at);
    const staging = dev.createBuffer({
      size: at + 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });

    const bufferFor = (n: Node, ref: Ref): GPUBuffer =>
      ref === 'status'
        ? status
        : 'in' in ref
          ? buffers[this.values.rootOf(n.inputs[ref.in]!)]!
          : buffers[this.values.rootOf(n.outputs[ref.out]!)]!;
    const maxDim = dev.limits.maxComputeWorkgroupsPerDimension;
    const owned = [...slotBuffers, ...inputBuffers.values()];
    const steps = await Promise.all(
      nodes.map(async (n, s): Promise<Step> => {
        const where = { node: n.outputs[0]!, op: n.op };
        return {
          node: n,
          badData: dispatches[s]!.find((d) => d.badData)?.badData,
          dispatches: await Promise.all(
            dispatches[s]!.filter((d) => d.workgroups > 0).map(async (d: Dispatch) => {
              const pipeline = await pipelineFor(dev, d.wgsl, where);
              const words = d.uniforms;
              const uniform = dev.createBuffer({
                size: words.byteLength,
                usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
              });
              dev.queue.writeBuffer(uniform, 0, words);
              owned.push(uniform);
              const entries: GPUBindGroupEntry[] = d.bindings.map((r, i) => ({
                binding: i,
                resource: { buffer: bufferFor(n, r) },
              }));
              entries.push({ binding: d.bindings.length, resource: { buffer: uniform } });
              const bindGroup = dev.createBindGroup({
                layout: pipeline.getBindGroupLayout(0),
                entries,
              });
              return { pipeline, bindGroup, grid: grid(d.workgroups, maxDim) };
            }),
          ),
        };
      }),
    );
    return {
      steps,
      shapes,
      buffers,
      owned,
      inputBuffers,
      status,
      staging,
      readOffsets,
      peakBytes: plan.peakBytes,
      unplannedBytes: plan.unplannedBytes,
    };
  }
}

function destroyInstance(inst: Instance): void {
  for (const b of inst.owned) b.destroy();
  inst.status.destroy();
  inst.staging.destroy();
}

/** Compile a graph for WebGPU (acquiring the device on first use). */
export async function compileWgsl(g: Graph): Promise<WgslExecutable> {
  return new WgslExecutable(g, await gpuDevice());
}

/** The WGSL backend: WebGPU compute shaders (navigator.gpu, or the `webgpu` package in Node). */
export const wgslBackend: Backend<WgslExecutable> = {
  name: 'wgsl',
  description: 'WGSL compute shaders on WebGPU',
  compile: (g) => compileWgsl(g),
  declines: declinesWgsl,
};
