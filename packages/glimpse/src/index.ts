import type { Graph } from '@glimpse/ir';
import { jsBackend, type JsExecutable } from '@glimpse/backend-js';
import { wgslBackend, type WgslExecutable } from '@glimpse/backend-wgsl';
import { wasmBackend, type WasmExecutable } from '@glimpse/backend-wasm';
import { hasSimd } from '@glimpse/asm';
import { lowerDeclined, optimize, type OptimizeOptions } from '@glimpse/optimizer';
import type { Backend, Executable } from '@glimpse/runtime';
import { backendNames, checkBackendOptions, getBackend, registerBackend } from '@glimpse/runtime';

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
  BackendOptionError,
  backendNames,
  checkBackendOptions,
  getBackend,
  optionNames,
  planGraph,
  registerBackend,
  unregisterBackend,
} from '@glimpse/runtime';
export type {
  Backend,
  Executable,
  InputValue,
  MemoryReport,
  OptionDocs,
  RunOptions,
} from '@glimpse/runtime';
export { WasmExecutable, wasmBackend, defaultThreads } from '@glimpse/backend-wasm';
export type { WasmOptions } from '@glimpse/backend-wasm';
export {
  adapterDescription,
  compileWgsl,
  navigatorGpu,
  releaseGpu,
  ShaderError,
  WgslExecutable,
  wgslBackend,
} from '@glimpse/backend-wgsl';

/** What `compile()` takes whatever the backend: the pipeline. */
export interface PipelineOptions {
  /** Optimisation level (default 2): 0 runs the graph as written. */
  level?: 0 | 1 | 2;
  /** Explicit pass pipeline instead of a level. */
  passes?: OptimizeOptions['passes'];
  /** Params may be folded as constants. */
  frozenParams?: boolean;
}

/** The options a backend declares (`Backend<E, O>`'s `O`). */
export type OptionsOf<B> = B extends Backend<Executable, infer O> ? O : never;

/**
 * The options of each built-in backend, by name: wasm takes `threads`, js and wgsl none.
 * `compile()` refuses any other key, at compile time here and at run time from the
 * backend's declared `options`.
 */
export interface BackendOptions {
  js: OptionsOf<typeof jsBackend>;
  wasm: OptionsOf<typeof wasmBackend>;
  wgsl: OptionsOf<typeof wgslBackend>;
}

/** What `compile()` gives for each built-in backend. */
interface BuiltinExecutables {
  js: JsExecutable;
  wasm: WasmExecutable;
  wgsl: WgslExecutable;
}

/**
 * `compile()`'s options for backend `B`: the pipeline and that backend's own options. With
 * no backend named (or a name known only at run time) they are those of the default
 * backend, checked when it compiles.
 */
export type CompileOptions<B extends string = string> = PipelineOptions & {
  /** A registered backend's name (default `DEFAULT_BACKEND`; built in: `wasm`, `js`, `wgsl`). */
  backend?: B;
} & (B extends keyof BackendOptions ? BackendOptions[B] : BackendOptions['wasm']);

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
 * missing when there is no adapter), or one registered with `registerBackend`. Options
 * other than the pipeline's go to the backend, which must declare them (`Backend.options`;
 * wasm: `threads`): any other key is a `BackendOptionError`, before anything is optimised.
 */
export async function compile<B extends keyof BackendOptions>(
  g: Graph,
  options: CompileOptions<B> & { backend: B },
): Promise<BuiltinExecutables[B]>;
export async function compile<B extends string>(
  g: Graph,
  options?: CompileOptions<B>,
): Promise<Executable>;
export async function compile(g: Graph, options: CompileOptions = {}): Promise<Executable> {
  const { backend: name, level, passes, frozenParams, ...own } = options;
  const backend = getBackend(name ?? DEFAULT_BACKEND);
  checkBackendOptions(backend, own);
  const optimized = optimize(g, {
    level: level ?? 2,
    ...(passes ? { passes } : {}),
    frozenParams: frozenParams === true,
  });
  const legal = backend.declines ? lowerDeclined(optimized, backend.declines).graph : optimized;
  return backend.compile(legal, own);
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
