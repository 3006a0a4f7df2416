import type { Graph } from '@glimpse/ir';
import { UnsupportedError } from '@glimpse/ir';
import { compileJs, type JsExecutable } from '@glimpse/backend-js';
import { optimize } from '@glimpse/optimizer';

export { optimize, optimizeWithResults, PASSES, PIPELINES } from '@glimpse/optimizer';
export type { Instrument, OptimizeOptions, Pass } from '@glimpse/optimizer';

export * from '@glimpse/ir';
export { models, MODELS, MODEL_NAMES, buildModel } from '@glimpse/models';
export type { ModelInfo, ModelName, ModelOption } from '@glimpse/models';
export { compileJs, JsExecutable } from '@glimpse/backend-js';
export type { InputValue, RunOptions } from '@glimpse/backend-js';

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

export type Executable = JsExecutable;

/**
 * Optimise (level 2 unless told otherwise) and compile a graph for a backend. The wgsl
 * backend is refused with an UnsupportedError rather than silently running something else.
 */
export async function compile(g: Graph, options: CompileOptions = {}): Promise<Executable> {
  const backend = options.backend ?? 'js';
  if (backend !== 'js')
    throw new UnsupportedError(
      `backend '${backend}' is not available in this build (available: js)`,
    );
  const optimized = optimize(g, {
    level: options.level ?? 2,
    ...(options.passes ? { passes: options.passes } : {}),
    frozenParams: options.frozenParams === true,
  });
  return compileJs(optimized);
}

export { renderGraph, renderReport, graphToDot, dotToSvg } from './render/index.js';
export type { GraphFormat, ReportOptions } from './render/index.js';
