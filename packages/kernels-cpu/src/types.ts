import type { AttrsOf, OpName } from '@glimpse/ir';
import type { Buf, NodeShapes } from '@glimpse/runtime';
import type { Scratch } from './scratch.js';

/** What a JS kernel factory knows: the node's shapes and the instance's scratch. */
export interface KernelCtx extends NodeShapes {
  /** Scratch shared by the instance's kernels (they run one at a time). */
  readonly scratch: Scratch;
}

/** A compiled step: reads `ins`, writes `outs`; closes over everything shape-dependent. */
export type Kernel = (ins: readonly Buf[], outs: readonly Buf[]) => void;

export type KernelFactory<K extends OpName> = (attrs: AttrsOf<K>, ctx: KernelCtx) => Kernel;
