import type { Graph } from '@glimpse/ir';
import { UnsupportedError } from '@glimpse/ir';
import { compileJs, type JsExecutable } from '@glimpse/backend-js';
import { compileWgsl, type WgslExecutable } from '@glimpse/backend-wgsl';
import { optimize } from '@glimpse/optimizer';

export { optimize, optimizeWithResults, PASSES, PIPELINES } from '@glimpse/optimizer';
export type { Instrument, OptimizeOptions, Pass } from '@glimpse/optimizer';

export * from '@glimpse/ir';
export { models, MODELS, MODEL_NAMES, buildModel } from '@glimpse/models';
export type { ModelInfo, ModelName, ModelOption } from '@glimpse/models';
export { compileJs, JsExecutable } from '@glimpse/backend-js';
export type { InputValue, RunOptions } from '@glimpse/backend-js';
export {
  adapterDescription,
  compileWgsl,
  navigatorGpu,
  releaseGpu,
  ShaderError,
  WgslExecutable,
} from '@glimpse/backend-wgsl';

export type Backend = 'js' | 'wgsl';
export interface CompileOptions {
  backend?: Backend;
  /** Optimisation level (default 2): 0 runs the graph as written. */
  level?: 0 | 1 | 2;
  /** Explicit pass pipeline instead of a level. */
  passes?: readonly string[];
  /** Params may be folded as constants. */
  frozenParams?: boolean;
}

/** What both backends' executables offer: `run` (async) and the graph they run. */
export type Executable = JsExecutable | WgslExecutable;

export const BACKENDS: readonly Backend[] = ['js', 'wgsl'];

/**
 * Optimise (level 2 unless told otherwise) and compile a graph for a backend: `js` (CPU
 * closures) or `wgsl` (WebGPU: navigator.gpu in a browser, the `webgpu` package in Node; a
 * DeviceError says what is missing when there is no adapter).
 */
export async function compile(
  g: Graph,
  options: CompileOptions & { backend: 'wgsl' },
): Promise<WgslExecutable>;
export async function compile(
  g: Graph,
  options?: CompileOptions & { backend?: 'js' },
): Promise<JsExecutable>;
export async function compile(g: Graph, options?: CompileOptions): Promise<Executable>;
export async function compile(g: Graph, options: CompileOptions = {}): Promise<Executable> {
  const backend = options.backend ?? 'js';
  if (!BACKENDS.includes(backend))
    throw new UnsupportedError(`unknown backend '${backend}' (available: ${BACKENDS.join(', ')})`);
  const optimized = optimize(g, {
    level: options.level ?? 2,
    ...(options.passes ? { passes: options.passes } : {}),
    frozenParams: options.frozenParams === true,
  });
  return backend === 'wgsl' ? compileWgsl(optimized) : compileJs(optimized);
}

export { renderGraph, renderReport, graphToDot, dotToSvg } from './render/index.js';
export type { GraphFormat, ReportOptions } from './render/index.js';
