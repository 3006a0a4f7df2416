import type { Graph, Tensor } from '@glimpse/ir';
import { graphFromJSON, parseGraph } from '@glimpse/ir';
import { decodeOnnx, importOnnx, onnxInputNames, readTensorPb } from '@glimpse/onnx';
import type { ModelInfo } from '@glimpse/models';
import { buildModel } from '@glimpse/models';
import { existsSync, pbPath, readFile, readText } from './files.js';

export interface Loaded {
  graph: Graph;
  /** ONNX models: the model's input names in order (input_N.pb numbering). */
  onnxInputs?: string[];
  /** ONNX models: the ONNX node each glimpse value was made for. */
  origins?: ReadonlyMap<string, string>;
  /** Defaults for symbols the inputs leave open. */
  symbolDefaults: Record<string, number>;
  info?: ModelInfo;
}

/** Symbol defaults for graphs from files (documented in the README's CLI section). */
export const FILE_SYMBOL_DEFAULTS: Record<string, number> = { B: 1, T: 128, S: 128 };
export const OTHER_SYMBOL_DEFAULT = 16;

/**
 * A model argument: a built-in `name[:k=v,...]`, or a .glimpse, .json or .onnx file. For
 * ONNX, `inputsDir` (ONNX's input_N.pb layout) gives values to inputs that determine shapes.
 */
export function loadModel(spec: string, inputsDir?: string): Loaded {
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
  if (spec.endsWith('.onnx')) {
    const model = decodeOnnx(readFile(spec), spec);
    // Inputs that determine shapes take their values from input_N.pb, read on demand.
    const constants = (_name: string, i: number): Tensor | undefined => {
      const p = inputsDir === undefined ? undefined : pbPath(inputsDir, 'input', i);
      return p !== undefined && existsSync(p) ? readTensorPb(readFile(p), p) : undefined;
    };
    const origins = new Map<string, string>();
    return {
      graph: importOnnx(model, { file: spec, constants, origins }),
      symbolDefaults: FILE_SYMBOL_DEFAULTS,
      onnxInputs: onnxInputNames(model),
      origins,
    };
  }
  const { graph, info } = buildModel(spec);
  return { graph, info, symbolDefaults: { ...info.symbolDefaults } };
}
