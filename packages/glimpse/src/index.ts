import type { Graph } from '@glimpse/ir';
import { UnsupportedError } from '@glimpse/ir';
import { compileJs, type JsExecutable } from '@glimpse/backend-js';

export * from '@glimpse/ir';
export { models, MODELS, MODEL_NAMES, buildModel } from '@glimpse/models';
export type { ModelInfo, ModelName, ModelOption } from '@glimpse/models';
export { compileJs, JsExecutable } from '@glimpse/backend-js';
export type { InputValue, RunOptions } from '@glimpse/backend-js';

export type Backend = 'js' | 'wgsl';
export interface CompileOptions {
  backend?: Backend;
  /** Optimisation level; only 0 (the graph as written) exists until the optimizer lands. */
  level?: 0 | 1 | 2;
}

export type Executable = JsExecutable;

/**
 * Compile a graph for a backend. Levels above 0 and the wgsl backend are refused with an
 * UnsupportedError rather than silently running something else.
 */
export async function compile(g: Graph, options: CompileOptions = {}): Promise<Executable> {
  const backend = options.backend ?? 'js';
  const level = options.level ?? 0;
  if (backend !== 'js')
    throw new UnsupportedError(
      `backend '${backend}' is not available in this build (available: js)`,
    );
  if (level !== 0)
    throw new UnsupportedError(
      `optimisation level ${level} is not available in this build (available: 0)`,
    );
  return compileJs(g);
}
