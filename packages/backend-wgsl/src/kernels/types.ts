import type { AttrsOf, OpName } from '@glimpse/ir';
import type { NodeShapes } from '@glimpse/runtime';

/** What a binding slot of a dispatch refers to. */
export type Ref =
  | { readonly in: number }
  | { readonly out: number }
  /** The instance's status words (kernels that find bad data record it there). */
  | 'status';

/** One compute dispatch: a shader, what its bindings refer to, its uniform values and grid. */
export interface Dispatch {
  readonly wgsl: string;
  readonly bindings: readonly Ref[];
  /** The uniform block: the filled layout that the shader declares (uniforms.ts). */
  readonly uniforms: Uint32Array<ArrayBuffer>;
  /** Linear workgroup count; the runtime splits it over x and y past the device limit. */
  readonly workgroups: number;
  /**
   * For kernels that record bad data in the status words: the error message for the
   * first bad position (the run then fails with a RuntimeError naming the node).
   */
  readonly badData?: (position: number) => string;
}

/** What a kernel factory knows: the node's concrete shapes and dtypes, and its step. */
export interface KernelCtx extends NodeShapes {
  /** Index of this step (status words name the step that found bad data). */
  readonly step: number;
}

export type KernelFactory<K extends OpName> = (attrs: AttrsOf<K>, ctx: KernelCtx) => Dispatch[];
