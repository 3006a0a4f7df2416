// A Llama-style decoder in the form onnxruntime's transformer optimizer and GenAI model
// builder write (SimplifiedLayerNormalization, RotaryEmbedding nodes in layer 0 and
// GroupQueryAttention's do_rotary after, a key/value cache, SkipSimplifiedLayerNormalization,
// a SiLU-gated MLP; seqlens_k and total_sequence_length from attention_mask as the builder
// writes them), with seeded random weights. Neither tool installs here. The benchmark builds
// it in memory at a size worth timing (80 MB of weights are not worth committing); the test
// fixture is the small one this file writes when run:
//
//   node bench/peers/decoder.js test/fixtures/ort-fused/llama.onnx
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { onnx } from '@glimpse/onnx';
import { randomTensor } from '../harness.js';

const T = onnx.TensorProto.DataType;
const INT = onnx.AttributeProto.AttributeType.INT;
const FLOAT = onnx.AttributeProto.AttributeType.FLOAT;
const MS = 'com.microsoft';

/**
 * @param {{ hidden: number, heads: number, kvHeads: number, layers: number, mlp: number,
 *   vocab: number, maxPos: number }} c
 */
export function decoderModel(c) {
  const d = c.hidden / c.heads;
  const inits = [];
  let seed = 100;
  const f32 = (name, dims, data) =>
    inits.push({ name, dataType: T.FLOAT, dims, rawData: new Uint8Array(data.buffer) }) && name;
  // Weights uniform in ±0.5·scale (scale 1/√fan-in keeps activations O(1) through the layers).
  const w = (name, rows, cols) => {
    const t = randomTensor([rows, cols], seed++).data;
    const s = 2 / Math.sqrt(rows);
    for (let i = 0; i < t.length; i++) t[i] *= s;
    return f32(name, [rows, cols], t);
  };
  const ones = (name, n) =>
    f32(
      name,
      [n],
      randomTensor([n], seed++).data.map((x) => 1 + 0.2 * x),
    );
  const i64 = (name, dims, v) =>
    inits.push({ name, dataType: T.INT64, dims, int64Data: v }) && name;
  // RoPE caches [maxPos, d/2], θ = 10000.
  const half = d / 2;
  const cos = new Float32Array(c.maxPos * half);
  const sin = new Float32Array(c.maxPos * half);
  for (let p = 0; p < c.maxPos; p++)
    for (let i = 0; i < half; i++) {
      const a = p / 10000 ** ((2 * i) / d);
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  f32('cos_cache', [c.maxPos, half], cos);
  f32('sin_cache', [c.maxPos, half], sin);
  i64('axis1', [1], [1]);
  i64('one64', [], [1]);
  i64('index1', [], [1]);
  // Each node named after its first output (what a dump's names derive from).
  const node = (opType, input, output, attrs = {}, domain = '') => ({
    name: output[0],
    opType,
    domain,
    input,
    output,
    attribute: Object.entries(attrs).map(([name, v]) =>
      name === 'epsilon' ? { name, type: FLOAT, f: v } : { name, type: INT, i: v },
    ),
  });
  const vi = (name, elemType, dims) => ({
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((x) => (typeof x === 'string' ? { dimParam: x } : { dimValue: x })),
        },
      },
    },
  });
  const nodes = [
    node('ReduceSum', ['attention_mask', 'axis1'], ['mask_sum'], { keepdims: 0 }),
    node('Sub', ['mask_sum', 'one64'], ['seqlens64']),
    node('Cast', ['seqlens64'], ['seqlens_k'], { to: T.INT32 }),
    node('Shape', ['attention_mask'], ['mask_shape']),
    node('Gather', ['mask_shape', 'index1'], ['total64'], { axis: 0 }),
    node('Cast', ['total64'], ['total_seq'], { to: T.INT32 }),
    node('Gather', [w('embed', c.vocab, c.hidden), 'input_ids'], ['x0'], { axis: 0 }),
  ];
  const inputs = [
    vi('input_ids', T.INT64, ['batch', 'sequence']),
    vi('attention_mask', T.INT64, ['batch', 'total']),
    vi('position_ids', T.INT64, ['batch', 'sequence']),
  ];
  const outputs = [vi('logits', T.FLOAT, ['batch', 'sequence', c.vocab])];
  let x = 'x0';
  let resid;
  for (let l = 0; l < c.layers; l++) {
    const p = `l${l}`;
    if (resid === undefined) {
      nodes.push(
        node('SimplifiedLayerNormalization', [x, ones(`${p}_ln1`, c.hidden)], [`${p}_h`], {
          epsilon: 1e-5,
        }),
      );
      resid = x;
    } else {
      nodes.push(
        node(
          'SkipSimplifiedLayerNormalization',
          [x, resid, ones(`${p}_ln1`, c.hidden)],
          [`${p}_h`, '', '', `${p}_r1`],
          { epsilon: 1e-5 },
          MS,
        ),
      );
      resid = `${p}_r1`;
    }
    const widths = { q: c.heads * d, k: c.kvHeads * d, v: c.kvHeads * d };
    for (const [t, width] of Object.entries(widths))
      nodes.push(node('MatMul', [`${p}_h`, w(`${p}_w${t}`, c.hidden, width)], [`${p}_${t}`]));
    const past = [`past_key_values.${l}.key`, `past_key_values.${l}.value`];
    const present = [`present.${l}.key`, `present.${l}.value`];
    for (const n of past) inputs.push(vi(n, T.FLOAT, ['batch', c.kvHeads, 'past', d]));
    for (const n of present) outputs.push(vi(n, T.FLOAT, ['batch', c.kvHeads, 'total', d]));
    let [q, k] = [`${p}_q`, `${p}_k`];
    const attrs = { num_heads: c.heads, kv_num_heads: c.kvHeads };
    let rope = [];
    if (l === 0) {
      nodes.push(
        node(
          'RotaryEmbedding',
          [q, 'position_ids', 'cos_cache', 'sin_cache'],
          [`${p}_qr`],
          {
            num_heads: c.heads,
          },
          MS,
        ),
        node(
          'RotaryEmbedding',
          [k, 'position_ids', 'cos_cache', 'sin_cache'],
          [`${p}_kr`],
          {
            num_heads: c.kvHeads,
          },
          MS,
        ),
      );
      [q, k] = [`${p}_qr`, `${p}_kr`];
    } else {
      rope = ['cos_cache', 'sin_cache'];
      attrs.do_rotary = 1;
    }
    nodes.push(
      node(
        'GroupQueryAttention',
        [q, k, `${p}_v`, ...past, 'seqlens_k', 'total_seq', ...rope],
        [`${p}_attn`, ...present],
        attrs,
        MS,
      ),
      node('MatMul', [`${p}_attn`, w(`${p}_wo`, c.heads * d, c.hidden)], [`${p}_o`]),
      node(
        'SkipSimplifiedLayerNormalization',
        [`${p}_o`, resid, ones(`${p}_ln2`, c.hidden)],
        [`${p}_h2`, '', '', `${p}_r2`],
        { epsilon: 1e-5 },
        MS,
      ),
      node('MatMul', [`${p}_h2`, w(`${p}_wg`, c.hidden, c.mlp)], [`${p}_gate`]),
      node('Sigmoid', [`${p}_gate`], [`${p}_sig`]),
      node('Mul', [`${p}_gate`, `${p}_sig`], [`${p}_silu`]),
      node('MatMul', [`${p}_h2`, w(`${p}_wu`, c.hidden, c.mlp)], [`${p}_up`]),
      node('Mul', [`${p}_silu`, `${p}_up`], [`${p}_m`]),
      node('MatMul', [`${p}_m`, w(`${p}_wd`, c.mlp, c.hidden)], [`${p}_down`]),
    );
    [x, resid] = [`${p}_down`, `${p}_r2`];
  }
  nodes.push(
    node(
      'SkipSimplifiedLayerNormalization',
      [x, resid, ones('final_ln', c.hidden)],
      ['final'],
      { epsilon: 1e-5 },
      MS,
    ),
    node('MatMul', ['final', w('lm_head', c.hidden, c.vocab)], ['logits']),
  );
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: MS, version: 1 },
    ],
    graph: {
      name: 'llama_ort_fused',
      node: nodes,
      input: inputs,
      output: outputs,
      initializer: inits,
    },
  }).finish();
}

/** The test fixture's size (test/onnx/microsoft-ort.test.ts): two layers, heads of 16. */
export const FIXTURE = {
  hidden: 64,
  heads: 4,
  kvHeads: 2,
  layers: 2,
  mlp: 128,
  vocab: 64,
  maxPos: 32,
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: node bench/peers/decoder.js OUT.onnx');
  const bytes = decoderModel(FIXTURE);
  writeFileSync(out, bytes);
  console.log(`wrote ${out}: ${bytes.length} bytes`);
}
