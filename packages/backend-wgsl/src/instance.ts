import type { Binding, Graph, Node } from '@glimpse/ir';
import { checkAllocation, concreteShapes, numel, withWhere } from '@glimpse/ir';
import type { MemoryPlan, ValueIds } from '@glimpse/runtime';
import { nodeShapes, stepsOf } from '@glimpse/runtime';
import type { Dispatch, KernelCtx, KernelFactory, Ref } from './kernels/index.js';
import { KERNELS } from './kernels/index.js';
import { grid, pipelineFor } from './runtime.js';

/**
 * An instance: what one binding of the symbols needs on the device — the steps' pipelines
 * and bind groups, one buffer per memory-plan slot, input, uniform, status and staging
 * buffers. `buildInstance` makes one in named phases (kernels, buffers, read-back layout,
 * steps), each reading what it needs from one `InstanceCtx`.
 */

/** Every element is 4 bytes on the GPU (f32, i32, or a bool in a u32). */
export const ELEM = 4;

export interface Step {
  readonly node: Node;
  /** The message for bad data its kernel recorded in the status words. */
  readonly badData?: (position: number) => string;
  readonly dispatches: {
    readonly pipeline: GPUComputePipeline;
    readonly bindGroup: GPUBindGroup;
    readonly grid: [number, number];
  }[];
}

export interface Instance {
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

/** What the executable lends to building an instance. */
export interface InstanceCtx {
  readonly graph: Graph;
  readonly device: GPUDevice;
  readonly values: ValueIds;
  /** A storage buffer of `bytes`, refused past the device's binding limit (naming `what`). */
  readonly makeBuffer: (bytes: number, usage: number, what: string) => GPUBuffer;
  /** Params' and constants' buffers, by value id (shared by every instance). */
  readonly fixed: () => Map<number, GPUBuffer>;
}

/** The buffers of an instance's values, and the ones it owns. */
type Memory = Pick<Instance, 'buffers' | 'owned' | 'inputBuffers' | 'status'>;

export async function buildInstance(cx: InstanceCtx, binding: Binding): Promise<Instance> {
  const g = cx.graph;
  const shapes = concreteShapes(g, binding);
  // Views need no step; constants are uploaded once, like params.
  const nodes = stepsOf(g, (n) => n.op === 'constant');
  const { order, plan } = cx.values.plan(nodes, shapes, () => ELEM);
  const inputBytes = g.inputs.reduce((a, i) => a + numel(shapes.get(i.name)!) * ELEM, 0);
  const outBytes = g.outputs.reduce((a, o) => a + numel(shapes.get(o)!) * ELEM, 0);
  checkAllocation(
    plan.peakBytes + inputBytes + outBytes,
    `${g.name} at ${JSON.stringify(binding)}`,
  );
  // Kernels first: a node no kernel can run fails before anything is allocated.
  const dispatches = nodes.map((n, step) => kernelOf(g, n, step, shapes));
  const mem = allocate(cx, shapes, order, plan);
  const read = readback(cx, shapes);
  const steps = await Promise.all(nodes.map((n, s) => prepareStep(cx, mem, n, dispatches[s]!)));
  return {
    steps,
    shapes,
    ...mem,
    ...read,
    peakBytes: plan.peakBytes,
    unplannedBytes: plan.unplannedBytes,
  };
}

/** The dispatches of step `step` (errors name the node). */
function kernelOf(
  g: Graph,
  n: Node,
  step: number,
  shapes: ReadonlyMap<string, number[]>,
): Dispatch[] {
  const ctx: KernelCtx = { step, ...nodeShapes(g, n, shapes) };
  try {
    return (KERNELS[n.op as keyof typeof KERNELS] as KernelFactory<never>)(n.attrs as never, ctx);
  } catch (e) {
    throw withWhere(e, { node: n.outputs[0]!, op: n.op });
  }
}

/** One buffer per slot of the memory plan and per input; params and constants are shared. */
function allocate(
  cx: InstanceCtx,
  shapes: ReadonlyMap<string, number[]>,
  order: readonly number[],
  plan: MemoryPlan,
): Memory {
  const g = cx.graph;
  // (GPUBufferUsage is a global only once Dawn is loaded: not at module scope.)
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const buffers: GPUBuffer[] = [];
  const slotBuffers = plan.slotBytes.map((b, i) =>
    cx.makeBuffer(b, usage, `intermediate slot ${i} of '${g.name}'`),
  );
  order.forEach((id, i) => (buffers[id] = slotBuffers[plan.slotOf[i]!]!));
  const inputBuffers = new Map<string, GPUBuffer>();
  for (const inp of g.inputs) {
    const bytes = numel(shapes.get(inp.name)!) * ELEM;
    const b = cx.makeBuffer(bytes, usage, `input '${inp.name}'`);
    inputBuffers.set(inp.name, b);
    buffers[cx.values.id(inp.name)] = b;
  }
  for (const [id, b] of cx.fixed()) buffers[id] = b;
  const status = cx.device.createBuffer({ size: 16, usage });
  return { buffers, owned: [...slotBuffers, ...inputBuffers.values()], inputBuffers, status };
}

/** Where each output (8-byte aligned), then the status words, land in the staging buffer. */
function readback(
  cx: InstanceCtx,
  shapes: ReadonlyMap<string, number[]>,
): Pick<Instance, 'staging' | 'readOffsets'> {
  const readOffsets: number[] = [];
  let at = 0;
  for (const o of cx.graph.outputs) {
    readOffsets.push(at);
    at += Math.ceil((numel(shapes.get(o)!) * ELEM) / 8) * 8;
  }
  readOffsets.push(at);
  const staging = cx.device.createBuffer({
    size: at + 16,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  return { staging, readOffsets };
}

/**
 * A step's dispatches made runnable: the pipeline (cached by shader text), the uniform
 * buffer with the kernel's filled layout, the bind group of its buffers.
 */
async function prepareStep(cx: InstanceCtx, mem: Memory, n: Node, ds: Dispatch[]): Promise<Step> {
  const dev = cx.device;
  const where = { node: n.outputs[0]!, op: n.op };
  const bufferFor = (ref: Ref): GPUBuffer =>
    ref === 'status'
      ? mem.status
      : mem.buffers[cx.values.rootOf('in' in ref ? n.inputs[ref.in]! : n.outputs[ref.out]!)]!;
  const maxDim = dev.limits.maxComputeWorkgroupsPerDimension;
  const prepare = async (d: Dispatch) => {
    const pipeline = await pipelineFor(dev, d.wgsl, where);
    const uniform = dev.createBuffer({
      size: d.uniforms.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    dev.queue.writeBuffer(uniform, 0, d.uniforms);
    mem.owned.push(uniform);
    const entries: GPUBindGroupEntry[] = d.bindings.map((r, i) => ({
      binding: i,
      resource: { buffer: bufferFor(r) },
    }));
    // The uniform block is bound after the storage bindings (wgsl.ts: shader).
    entries.push({ binding: d.bindings.length, resource: { buffer: uniform } });
    const bindGroup = dev.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    return { pipeline, bindGroup, grid: grid(d.workgroups, maxDim) };
  };
  return {
    node: n,
    badData: ds.find((d) => d.badData)?.badData,
    dispatches: await Promise.all(ds.filter((d) => d.workgroups > 0).map(prepare)),
  };
}

export function destroyInstance(inst: Instance): void {
  for (const b of inst.owned) b.destroy();
  inst.status.destroy();
  inst.staging.destroy();
}
