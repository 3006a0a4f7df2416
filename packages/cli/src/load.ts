import type { Graph } from '@glimpse/ir';
import { graphFromJSON, parseGraph } from '@glimpse/ir';
import { importOnnx } from '@glimpse/onnx';
import type { ModelInfo } from '@glimpse/models';
import { buildModel } from '@glimpse/models';
import { readFile, readText } from './files.js';

export interface Loaded {
  graph: Graph;
  /** Defaults for symbols the inputs leave open. */
  symbolDefaults: Record<string, number>;
  info?: ModelInfo;
}

/** Symbol defaults for graphs from files (documented in the README's CLI section). */
export const FILE_SYMBOL_DEFAULTS: Record<string, number> = { B: 1, T: 128, S: 128 };
export const OTHER_SYMBOL_DEFAULT = 16;

/** A model argument: a built-in `name[:k=v,...]`, or a .glimpse, .json or .onnx file. */
export function loadModel(spec: string): Loaded {
  if (spec.endsWith('.glimpse'))
    return {
      graph: parseGraph(readText(spec), { file: spec }),
      symbolDefaults: FILE_SYMBOL_DEFAULTS,
    };
  if (spec.endsWith('.json'))
    return {
      graph: graphFromJSON(readText(spec), { file: spec }),
      symbolDefaults: FILE_SYMBOL_DEFAULTS,
    };
  if (spec.endsWith('.onnx'))
    return {
      graph: importOnnx(readFile(spec), { file: spec }),
      symbolDefaults: FILE_SYMBOL_DEFAULTS,
    };
  const { graph, info } = buildModel(spec);
  return { graph, info, symbolDefaults: { ...info.symbolDefaults } };
}
