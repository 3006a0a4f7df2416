export {
  decodeOnnx,
  importOnnx,
  onnxDimParams,
  onnxInputNames,
  onnxSymbol,
  OPSETS,
} from './import.js';
export type { ModelProto } from './proto.js';
export type { ImportOptions } from './import.js';
export { decodeTensor, onnx } from './proto.js';
export { tensorFromProto, tensorToProto } from './tensor.js';
export { CONVERTERS } from './convert/index.js';
export { hasSchema } from './schema.js';

import { decodeTensor } from './proto.js';
import { tensorFromProto } from './tensor.js';
import type { Tensor } from '@glimpse/ir';

/** Read one serialized TensorProto (`input_N.pb`, `output_N.pb` of ONNX's test layout). */
export function readTensorPb(bytes: Uint8Array, file: string): Tensor {
  return tensorFromProto(decodeTensor(bytes, file), file, file);
}
export { exportOnnx, EXPORT_OPSET } from './export.js';
