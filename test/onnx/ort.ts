/** Running a model in onnxruntime-node (the independent oracle of the ONNX tests). */
import * as ort from 'onnxruntime-node';
import type { Graph, Tensor } from '@glimpse/ir';

const ORT_TYPE = {
  f32: 'float32',
  f16: 'float16',
  i32: 'int32',
  i64: 'int64',
  bool: 'bool',
} as const;

/** Run `bytes` in onnxruntime on the inputs of `g`; the outputs of `g` as glimpse tensors. */
export async function runOrt(
  bytes: Uint8Array,
  g: Graph,
  inputs: Record<string, Tensor>,
): Promise<Record<string, Tensor>> {
  const s = await ort.InferenceSession.create(bytes);
  const feeds = Object.fromEntries(
    g.inputs.map((i) => {
      const t = inputs[i.name]!;
      return [i.name, new ort.Tensor(ORT_TYPE[t.dtype], t.data as never, [...t.shape])];
    }),
  );
  const r = await s.run(feeds);
  return Object.fromEntries(
    g.outputs.map((o) => [
      o,
      { dtype: g.typeOf(o).dtype, shape: [...r[o]!.dims], data: r[o]!.data } as Tensor,
    ]),
  );
}
