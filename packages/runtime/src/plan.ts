import type { Binding, Graph, Node } from '@glimpse/ir';
import { concreteShapes, numel, VIEW_OPS } from '@glimpse/ir';
import type { MemoryPlan } from './memory.js';
import { STORAGE_BYTES, storageOf } from './storage.js';
import { ValueIds } from './values.js';

/** The steps a backend runs: every node but views (which alias their input). */
export function stepsOf(g: Graph, skip: (n: Node) => boolean = () => false): Node[] {
  return g.nodes.filter((n) => !VIEW_OPS.has(n.op) && !skip(n));
}

/**
 * The memory plan of a graph under a binding, with host storage sizes (f32 and i32 in 4
 * bytes, bools in 1): what `dump --stats` reports, computed without compiling anything or
 * allocating a byte.
 */
export function planGraph(g: Graph, binding: Binding): MemoryPlan {
  const values = new ValueIds(g);
  const shapes = concreteShapes(g, binding);
  const names = g.valueNames();
  return values.plan(
    stepsOf(g),
    shapes,
    (id) => STORAGE_BYTES[storageOf(g.typeOf(names[id]!).dtype)],
  ).plan;
}

/** Bytes of the params a graph holds, in host storage. */
export function paramBytes(g: Graph): number {
  return g.params.reduce(
    (a, p) => a + numel(p.type.shape as number[]) * STORAGE_BYTES[storageOf(p.type.dtype)],
    0,
  );
}
