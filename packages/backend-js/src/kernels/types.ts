import type { AttrsOf, DType, Node, OpName } from '@glimpse/ir';
import type { Buf } from '../storage.js';
import type { Scratch } from './scratch.js';

/** Concrete shapes and dtypes of one node under one binding (what every backend's kernels see). */
export interface NodeShapes {
  readonly node: Node;
  readonly inShapes: readonly number[][];
  readonly outShapes: readonly number[][];
  readonly inTypes: readonly DType[];
  readonly outTypes: readonly DType[];
}

/** What a JS kernel factory knows: the node's shapes and the instance's scratch. */
export interface KernelCtx extends NodeShapes {
  /** Scratch shared by the instance's kernels (they run one at a time). */
  readonly scratch: Scratch;
}

/** A compiled step: reads `ins`, writes `outs`; closes over everything shape-dependent. */
export type Kernel = (ins: readonly Buf[], outs: readonly Buf[]) => void;

export type KernelFactory<K extends OpName> = (attrs: AttrsOf<K>, ctx: KernelCtx) => Kernel;
