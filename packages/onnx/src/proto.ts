import onnxProto from 'onnx-proto';
import { FormatError, UnsupportedError } from '@glimpse/ir';

/** The protobuf classes of ONNX (onnx-proto: protobufjs, CommonJS). */
export const onnx = (onnxProto as unknown as { onnx: typeof import('onnx-proto').onnx }).onnx;
export type ModelProto = import('onnx-proto').onnx.ModelProto;
export type NodeProto = import('onnx-proto').onnx.INodeProto;
export type TensorProto = import('onnx-proto').onnx.ITensorProto;
export type AttributeProto = import('onnx-proto').onnx.IAttributeProto;

/** An int64 field (protobufjs gives a Long past 32 bits) as a number, exactly, or an error. */
export function int(
  x: number | { toNumber(): number; toString(): string } | null | undefined,
  what: string,
): number {
  if (x === null || x === undefined) return 0;
  const n = typeof x === 'number' ? x : x.toNumber();
  if (!Number.isSafeInteger(n))
    throw new UnsupportedError(`${what}: integer ${x.toString()} is beyond 2^53`);
  return n;
}

/** Decode a model; a truncated or corrupt file is a FormatError naming it. */
export function decodeModel(bytes: Uint8Array, file: string): ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new FormatError(`not a valid ONNX model: ${(e as Error).message}`, { file });
  }
}

/** Decode one serialized TensorProto (an ONNX test's input_N.pb / output_N.pb). */
export function decodeTensor(bytes: Uint8Array, file: string): TensorProto {
  try {
    return onnx.TensorProto.decode(bytes);
  } catch (e) {
    throw new FormatError(`not a valid ONNX TensorProto: ${(e as Error).message}`, { file });
  }
}
