import type { Binding, ConstantAttrs, DType, Graph, Tensor, TypedArray } from '@glimpse/ir';
import {
  constantValues,
  DeviceError,
  fromNumbers,
  numel,
  paramTensor,
  RuntimeError,
  UnsupportedError,
} from '@glimpse/ir';
import type { Backend, Executable, InputValue, MemoryReport, RunOptions } from '@glimpse/runtime';
import { BindingCache, fromStorage, prepareInputs, toStorage, ValueIds } from '@glimpse/runtime';
import { checkLive, gpuDevice } from './device.js';
import { buildInstance, destroyInstance, ELEM, type Instance } from './instance.js';
import { storageType } from './wgsl.js';
import { declinesWgsl } from './legalize.js';

/** Status words: [failing step + 1, first bad position]. */
const STATUS_INIT = new Uint32Array([0, 0xffffffff]);

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

  /** One run: upload the inputs, one command buffer of every step, read the outputs back. */
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
    const enc = this.encode(inst);
    dev.pushErrorScope('out-of-memory');
    dev.pushErrorScope('validation');
    dev.queue.submit([enc.finish()]);
    const [validation, oom] = [await dev.popErrorScope(), await dev.popErrorScope()];
    if (validation || oom)
      throw new DeviceError(
        `WebGPU rejected the run of '${g.name}': ${(validation ?? oom)!.message}`,
      );
    return this.readOutputs(inst, into);
  }

  /** The run's commands: every dispatch in one pass, then copies of the outputs and status words to staging. */
  private encode(inst: Instance): GPUCommandEncoder {
    const g = this.graph;
    const enc = this.device.createCommandEncoder();
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
    return enc;
  }

  /** The outputs from staging; bad data a kernel recorded in the status words fails the run. */
  private async readOutputs(
    inst: Instance,
    into: Readonly<Record<string, TypedArray | undefined>>,
  ): Promise<Record<string, Tensor>> {
    const g = this.graph;
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
      const inst = buildInstance(
        {
          graph: this.graph,
          device: this.device,
          values: this.values,
          makeBuffer: (bytes, usage, what) => this.makeBuffer(bytes, usage, what),
          fixed: () => this.fixedBuffers(),
        },
        binding,
      );
      inst.catch(() => this.instances.drop(binding));
      return inst;
    });
  }
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
