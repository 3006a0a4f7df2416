import type { Graph } from '@glimpse/ir';
import { jsBackend, type JsExecutable } from '@glimpse/backend-js';
import { wgslBackend, type WgslExecutable } from '@glimpse/backend-wgsl';
import { wasmBackend, type WasmExecutable } from '@glimpse/backend-wasm';
import { hasSimd } from '@glimpse/asm';
import { lowerDeclined, optimize, type OptimizeOptions } from '@glimpse/optimizer';
import type { Executable } from '@glimpse/runtime';
import { backendNames, getBackend, registerBackend } from '@glimpse/runtime';

export {
  optimize,
  optimizeWithResults,
  PASSES,
  PIPELINES,
  lowerDeclined,
} from '@glimpse/optimizer';
export type { Instrument, Lowered, OptimizeOptions, Pass } from '@glimpse/optimizer';

export * from '@glimpse/ir';
export { models, MODELS, MODEL_NAMES, buildModel } from '@glimpse/models';
export type { ModelInfo, ModelName, ModelOption } from '@glimpse/models';
export { compileJs, JsExecutable, jsBackend } from '@glimpse/backend-js';
export {
  backendNames,
  getBackend,
  planGraph,
  registerBackend,
  unregisterBackend,
} from '@glimpse/runtime';
export type {
  Backend,
  BackendOptions,
  Executable,
  InputValue,
  MemoryReport,
  RunOptions,
} from '@glimpse/runtime';
export { WasmExecutable, wasmBackend, defaultThreads } from '@glimpse/backend-wasm';
export {
  adapterDescription,
  compileWgsl,
  navigatorGpu,
  releaseGpu,
  ShaderError,
  WgslExecutable,
  wgslBackend,
} from '@glimpse/backend-wgsl';

export interface CompileOptions {
  /** A registered backend's name (default `DEFAULT_BACKEND`; built in: `wasm`, `js`, `wgsl`). */
  backend?: string;
  /** Threads for the wasm backend (default: the machine's cores). */
  threads?: number;
  /** Optimisation level (default 2): 0 runs the graph as written. */
  level?: 0 | 1 | 2;
  /** Explicit pass pipeline instead of a level. */
  passes?: OptimizeOptions['passes'];
  /** Params may be folded as constants. */
  frozenParams?: boolean;
  /** Options for the backend (e.g. `threads`), passed through. */
  [backendOption: string]: unknown;
}

// The built-in backends, registered when the package loads (its one side effect:
// package.json says so to bundlers).
registerBackend(wasmBackend);
registerBackend(jsBackend);
registerBackend(wgslBackend);

/**
 * The backend `compile()` uses when none is named: `wasm` wherever WebAssembly SIMD exists
 * (the fast CPU path), else `js` (the readable float64 one).
 */
export const DEFAULT_BACKEND: string = hasSimd() ? 'wasm' : 'js';

/** Names of the registered backends, built-ins first. */
export function backends(): string[] {
  return backendNames();
}

/**
 * Optimise (level 2 unless told otherwise), lower the nodes the backend declines, and
 * compile for a registered backend: `wasm` (WebAssembly SIMD, multi-threaded; the default
 * where the engine has SIMD), `js` (CPU closures, float64 sums), `wgsl` (WebGPU:
 * navigator.gpu in a browser, the `webgpu` package in Node; a DeviceError says what is
 * missing when there is no adapter), or one registered with `registerBackend`.
 */
export async function compile(
  g: Graph,
  options: CompileOptions & { backend: 'wgsl' },
): Promise<WgslExecutable>;
export async function compile(
  g: Graph,
  options: CompileOptions & { backend: 'js' },
): Promise<JsExecutable>;
export async function compile(
  g: Graph,
  options: CompileOptions & { backend: 'wasm' },
): Promise<WasmExecutable>;
export async function compile(g: Graph, options?: CompileOptions): Promise<Executable>;
export async function compile(g: Graph, options: CompileOptions = {}): Promise<Executable> {
  const backend = getBackend(options.backend ?? DEFAULT_BACKEND);
  const optimized = optimize(g, {
    level: options.level ?? 2,
    ...(options.passes ? { passes: options.passes } : {}),
    frozenParams: options.frozenParams === true,
  });
  const legal = backend.declines ? lowerDeclined(optimized, backend.declines).graph : optimized;
  return backend.compile(legal, options);
}

export { renderGraph, renderReport, graphToDot, dotToSvg, statsAt } from './render/index.js';
export { compareValues, ulpDistance } from './compare.js';
export { parseBinding, pipelineOf, randomInputs, summarize } from './inputs.js';
export type { Comparison, Tolerance, Values } from './compare.js';
export { bisect, bisectPasses, DEFAULT_TOLERANCE } from './bisect.js';
export { formatBisect, formatPassBisect } from './bisect-text.js';
export type {
  BisectOptions,
  BisectReport,
  PassBisectReport,
  PassReport,
  ValueReport,
  ValueStatus,
} from './bisect.js';
export type { GraphFormat, ReportOptions } from './render/index.js';
