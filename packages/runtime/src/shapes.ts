import type { DType, Graph, Node } from '@glimpse/ir';

/** Concrete shapes and dtypes of one node under one binding (what every backend's kernels see). */
export interface NodeShapes {
  readonly node: Node;
  readonly inShapes: readonly number[][];
  readonly outShapes: readonly number[][];
  readonly inTypes: readonly DType[];
  readonly outTypes: readonly DType[];
}

export function nodeShapes(g: Graph, n: Node, shapes: ReadonlyMap<string, number[]>): NodeShapes {
  return {
    node: n,
    inShapes: n.inputs.map((i) => shapes.get(i)!),
    outShapes: n.outputs.map((o) => shapes.get(o)!),
    inTypes: n.inputs.map((i) => g.typeOf(i).dtype),
    outTypes: n.outputs.map((o) => g.typeOf(o).dtype),
  };
}
