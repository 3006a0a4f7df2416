import type { Graph, Tensor } from '@glimpse/ir';
import { dict, graphFromJSON, own, parseGraph } from '@glimpse/ir';
import type { ModelProto } from '@glimpse/onnx';
import {
  decodeOnnx,
  importOnnx,
  onnxDimParams,
  onnxInputNames,
  onnxSymbol,
  readTensorPb,
} from '@glimpse/onnx';
import type { ModelInfo } from '@glimpse/models';
import { buildModel } from '@glimpse/models';
import { existsSync, pbPath, readFile, readText } from './files.js';

export interface Loaded {
  graph: Graph;
  /** ONNX models: the model's input names in order (input_N.pb numbering). */
  onnxInputs?: string[];
  /** ONNX models: the ONNX node each glimpse value was made for. */
  origins?: ReadonlyMap<string, string>;
  /** ONNX models: the symbols fixed at import (from --shape and the input files). */
  fixed?: ReadonlySet<string>;
  /** Defaults for symbols the inputs leave open. */
  symbolDefaults: Record<string, number>;
  info?: ModelInfo;
}

/** Symbol defaults for graphs from files (documented in the README's CLI section). */
export const FILE_SYMBOL_DEFAULTS: Record<string, number> = { B: 1, T: 128, S: 128 };
export const OTHER_SYMBOL_DEFAULT = 16;

/**
 * A model argument: a built-in `name[:k=v,...]`, or a .glimpse, .json or .onnx file. For
 * ONNX, `inputsDir` (ONNX's input_N.pb layout) gives values to inputs that determine shapes,
 * and sizes to the symbolic dims of the others; `shapes` (--shape) sizes more. Those
 * symbols are fixed at import, where ops that need static shapes (Conv, the pools) read them.
 */
export function loadModel(
  spec: string,
  inputsDir?: string,
  shapes: Readonly<Record<string, number>> = {},
): Loaded {
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
    // input_N.pb, each read once: values for inputs that determine shapes, sizes for the
    // symbolic dims of the others.
    const read = new Map<number, Tensor | undefined>();
    const inputFile = (i: number): Tensor | undefined => {
      if (!read.has(i)) {
        const p = inputsDir === undefined ? undefined : pbPath(inputsDir, 'input', i);
        read.set(i, p !== undefined && existsSync(p) ? readTensorPb(readFile(p), p) : undefined);
      }
      return read.get(i);
    };
    const constants = (_name: string, i: number) => inputFile(i);
    const origins = new Map<string, string>();
    const sizes = { ...shapes, ...inputSizes(model, inputFile) };
    const fixed = new Set(
      onnxDimParams(model)
        .filter((p) => own(sizes, p) !== undefined || own(sizes, onnxSymbol(p)) !== undefined)
        .map(onnxSymbol),
    );
    return {
      graph: importOnnx(model, { file: spec, constants, origins, shapes: sizes }),
      symbolDefaults: FILE_SYMBOL_DEFAULTS,
      onnxInputs: onnxInputNames(model),
      origins,
      fixed,
    };
  }
  const { graph, info } = buildModel(spec);
  return { graph, info, symbolDefaults: { ...info.symbolDefaults } };
}

/** Sizes of the model inputs' symbolic dims, from the shapes of their input_N.pb files. */
function inputSizes(
  model: ModelProto,
  inputFile: (i: number) => Tensor | undefined,
): Record<string, number> {
  const sizes = dict<number>();
  const inits = new Set((model.graph?.initializer ?? []).map((t) => t.name ?? ''));
  (model.graph?.input ?? [])
    .filter((i) => !inits.has(i.name ?? ''))
    .forEach((inp, i) => {
      const t = inputFile(i);
      if (t === undefined) return;
      (inp.type?.tensorType?.shape?.dim ?? []).forEach((d, j) => {
        if (d.dimParam && t.shape[j] !== undefined) sizes[d.dimParam] = t.shape[j]!;
      });
    });
  return sizes;
}
