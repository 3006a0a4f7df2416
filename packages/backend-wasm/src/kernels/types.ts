import type { AttrsOf, Graph, Node, OpName } from '@glimpse/ir';
import type { ModuleBuilder } from '@glimpse/asm';
import type { NodeShapes } from '@glimpse/runtime';

/** What a wasm kernel sees when it runs: byte offsets of its operands in the memory. */
export interface WasmRun {
  readonly ins: readonly number[];
  readonly outs: readonly number[];
  /** The memory as it is now (views are made per run: the memory may have grown). */
  readonly f32: Float32Array;
  readonly i32: Int32Array;
  /** Run tasks 0..n−1 of export `fn` (its index) on every thread. */
  readonly parallel: (fn: number, n: number, args: number) => void;
}

/** A bound step: runs one node under one binding. */
export type WasmStep = (r: WasmRun) => void;

/** What a kernel factory gets for one binding. */
export interface WasmCtx extends NodeShapes {
  /** Byte offset of a fixed value (param, constant, packed weight) by value name. */
  readonly fixedOffset: (value: string) => number | undefined;
  /** Reserve bytes in this binding's region (argument blocks, per-task scratch). */
  readonly alloc: (bytes: number) => number;
  /** Export index of a function the kernel's `prepare` added. */
  readonly fn: (name: string) => number;
  readonly threads: number;
}

/** Compile time: add the functions this node needs (shapes may be symbolic). */
export interface WasmPrepare {
  readonly module: ModuleBuilder;
  readonly graph: Graph;
  /** A name unique to this node, for functions specialised to it. */
  readonly id: string;
  /** Reserve and fill bytes of the fixed region (packed weights); returns the offset. */
  readonly pack: (bytes: number, fill: (f32: Float32Array, at: number) => void) => number;
  /** Byte offset of a fixed value (param, constant) by value name, else undefined. */
  readonly fixedOffset: (value: string) => number | undefined;
  /**
   * The only reader of this node's single output, when the executable may let the node
   * compute it too (the output is not a graph output, nothing views it, and the reader's
   * other operands exist before this node runs). A kernel that does returns
   * `{ absorbs: consumer }` from `prepare`; its step then reads the consumer's other
   * operands after its own and writes the consumer's outputs.
   */
  readonly consumer?: Node;
  /** The shared functions: GEMM micro-kernels (`callMicro`'s table), vexp, vexp2, vtanh, vgelu. */
  readonly micro: number[][];
  readonly vexp: number;
  readonly vexp2: number;
  readonly vtanh: number;
  readonly vgelu: number;
}

/**
 * A SIMD kernel for an op: `prepare` adds functions at compile time (once per node);
 * `bind` returns the step for a binding, or undefined when this binding's shapes are not
 * ones it takes (the CPU kernel runs instead).
 */
export interface WasmKernel<K extends OpName> {
  /** Compile time; what it returns is given to `bind`. */
  prepare?(attrs: AttrsOf<K>, node: Node, p: WasmPrepare): unknown;
  bind(attrs: AttrsOf<K>, ctx: WasmCtx, prepared: unknown): WasmStep | undefined;
}
