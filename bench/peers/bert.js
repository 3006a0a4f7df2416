// A BERT-base encoder as torch.onnx exports transformers' BertModel (bert/gen_bert.py: the
// export of bert-base-uncased's shape without its weights, 260 kB), with seeded random
// weights filled in at bench time (440 MB are not worth committing).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { onnx } from '@glimpse/onnx';
import { randomTensor } from '../harness.js';

const SKELETON = fileURLToPath(new URL('bert/bert-base.onnx', import.meta.url));

/**
 * The model's bytes, every stripped initializer filled: matrices (the projections, stored
 * [in, out], and the embeddings) uniform in ±1/√rows, LayerNorm weights 1 ± 0.1, the other
 * vectors (biases) ±0.05 — activations stay O(1) through the 12 layers.
 */
export function bertModel() {
  const m = onnx.ModelProto.decode(readFileSync(SKELETON));
  let seed = 1000;
  for (const t of m.graph.initializer) {
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT || t.rawData?.length || t.floatData?.length)
      continue;
    const dims = t.dims.map(Number);
    const x = randomTensor(dims, seed++).data;
    const [scale, offset] =
      dims.length === 2
        ? [2 / Math.sqrt(dims[0]), 0]
        : t.name.endsWith('LayerNorm.weight')
          ? [0.2, 1]
          : [0.1, 0];
    for (let i = 0; i < x.length; i++) x[i] = offset + scale * x[i];
    t.rawData = new Uint8Array(x.buffer);
  }
  return onnx.ModelProto.encode(m).finish();
}
