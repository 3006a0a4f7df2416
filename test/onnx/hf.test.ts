/**
 * Hugging Face `transformers` architectures as people export them (test/fixtures/hf:
 * gen_hf.py, small seeded configurations exported by torch.onnx with optimum's names and
 * dynamic axes, two by its dynamo exporter, onnxruntime's transformer optimizer and float16
 * converter on some),
 * against onnxruntime's and PyTorch's outputs on every data set, on the JS and wasm backends
 * at -O0 and -O2: |got − want| ≤ 1e-4 + 1e-3·|want| (the fp16 model within f16's own error:
 * onnxruntime computes it in f16, glimpse in f32 from f16 values). The attention ops fused at
 * -O2 are counted; what glimpse cannot run yet is refused in one line naming every missing op.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@glimpse/ir';
import { loadModel } from '@glimpse/cli';
import { readTensorPb } from '@glimpse/onnx';
import { compile } from 'glimpse';
import { ROOT } from '../cli.js';
import { asRef, assertClose } from '../helpers.js';

const HF = `${ROOT}test/fixtures/hf`;
const TOL = { rtol: 1e-3, atol: 1e-4 };
/** The fp16 model against onnxruntime's f16 arithmetic: f16's own rounding. */
const F16_TOL = { rtol: 1e-2, atol: 1e-4 };
/** What the generator measured: onnxruntime's largest distance from PyTorch per fixture. */
const MANIFEST: Record<string, { max_abs_ort_vs_torch: number }> = JSON.parse(
  readFileSync(`${HF}/manifest.json`, 'utf8'),
);

/**
 * Each fixture that runs, and its attention ops at -O2. The SDPA decoders (GPT-2, Llama,
 * Mistral, Qwen2, Phi, Gemma) fuse through PyTorch's NaN guard (fuse-attention-nan-guard);
 * GPT-2 with eager attention keeps its softmax — its causal mask is where(buffer, s,
 * finfo.min) before the padding mask is added, which the op does not express exactly
 * (0 pinned here until it does).
 */
const RUNS: Record<string, number | readonly number[]> = {
  bert: 2,
  bert_fp16: 2,
  bert_ort_opt: 2,
  // The dynamo exporter's form: LayerNormalization, opset 18, no constant folding by torch.
  bert_dynamo: 2,
  distilbert: 2,
  roberta: 2,
  // com.microsoft.Attention (RoBERTa's CumSum position ids keep EmbedLayerNormalization out).
  roberta_ort_opt: 2,
  xlm_roberta: 2,
  modernbert: 3,
  t5_encoder: 2,
  bart_encoder: 2,
  bart_decoder_past: 4,
  // Two self- (relative position bias over the cache) and two cross-attentions per step.
  t5_decoder_past: 4,
  whisper_encoder: 2,
  clip_text: 2,
  clip_vision: 2,
  vit: 2,
  gpt2: 2,
  gpt2_eager: 0,
  gpt2_past: 2,
  // A step of one new token fuses (its causal mask is no mask); two new tokens do not.
  gpt2_eager_past: [0, 2],
  gpt2_ort_opt: 2,
  gpt2_past_ort_opt: 2,
  llama: 2,
  llama_past: 2,
  mistral: 2,
  qwen2: 2,
  phi: 2,
  gemma: 2,
};
/** Fixtures refused at import, with the ONNX ops the one-line refusal must name. */
const REFUSED: Record<string, RegExp> = {
  bloom: /ScatterND on computed \(non-constant\) inputs is not supported/,
  deberta_v2: /unsupported ONNX ops: .*Tile.*GatherElements/,
  // Each of these three needs one thing (tried with throwaway converters: then all run, equal
  // to onnxruntime, every attention fused — 4, 4 and 2). t5_decoder: its causal mask is a
  // Trilu of a ConstantOfShape, which import leaves computed, so the ScatterND after it is
  // refused; Trilu folded on a constant input is enough.
  t5_decoder:
    /node %\/m\/decoder\/ScatterND \(ScatterND\): ScatterND on computed \(non-constant\) inputs is not supported/,
  // Tile of constant position ids (position_ids.repeat(batch, 1)).
  whisper_decoder_past: /unsupported ONNX ops: Tile \(node '\/m\/model\/decoder\/Tile'\)$/,
  // GatherND with constant (batch, position) indices into the attention_mask input.
  llama_dynamo: /unsupported ONNX ops: GatherND \(node 'node_GatherND_61'\)$/,
};

const pb = (f: string) => readTensorPb(readFileSync(f), f);

describe('Hugging Face exports ≡ onnxruntime and PyTorch', () => {
  it('every fixture folder is in one of the two tables', () => {
    const dirs = readdirSync(HF).filter((d) => existsSync(`${HF}/${d}/model.onnx`));
    expect(dirs.sort()).toEqual([...Object.keys(RUNS), ...Object.keys(REFUSED)].sort());
  });

  for (const [name, attentions] of Object.entries(RUNS))
    it(name, async () => {
      const dir = `${HF}/${name}`;
      const f16 = name.endsWith('fp16');
      // Against PyTorch's f32 model, an f16 model is as far as its rounded weights put it:
      // glimpse within twice onnxruntime's own distance.
      const torchTol = f16 ? { rtol: 0, atol: 2 * MANIFEST[name]!.max_abs_ort_vs_torch } : TOL;
      // Each data set imported as `glimpse run --inputs` does: its inputs size the symbols.
      const sets = readdirSync(dir).filter((d) => d.startsWith('test_data_set_'));
      for (const [k, set] of sets.entries()) {
        const ds = `${dir}/${set}`;
        const { graph } = loadModel(`${dir}/model.onnx`, ds);
        const inputs: Record<string, Tensor> = Object.fromEntries(
          graph.inputs.map((inp, i) => [inp.name, pb(`${ds}/input_${i}.pb`)]),
        );
        // onnxruntime's and PyTorch's outputs, read once for the four runs.
        const ort = graph.outputs.map((_, i) => asRef(pb(`${ds}/output_${i}.pb`)));
        const torch = graph.outputs.map((_, i) => asRef(pb(`${ds}/torch/output_${i}.pb`)));
        for (const backend of ['js', 'wasm'] as const)
          for (const level of [0, 2] as const) {
            const exe = await compile(graph, {
              backend,
              level,
              ...(backend === 'wasm' ? { threads: 1 } : {}),
            });
            const got = await exe.run(inputs);
            graph.outputs.forEach((o, i) => {
              const what = `${name} ${set} ${backend} -O${level} %${o}`;
              assertClose(got[o]!, ort[i]!, f16 ? F16_TOL : TOL, `${what} vs onnxruntime`);
              assertClose(got[o]!, torch[i]!, torchTol, `${what} vs PyTorch`);
            });
            if (level === 2)
              expect(
                exe.graph.nodes.filter((n) => n.op === 'attention').length,
                `${name} ${set}: attention ops at -O2`,
              ).toBe(typeof attentions === 'number' ? attentions : attentions[k]);
          }
      }
    });

  for (const [name, why] of Object.entries(REFUSED))
    it(`${name} is refused in one line`, () => {
      const dir = `${HF}/${name}`;
      expect(() => loadModel(`${dir}/model.onnx`, `${dir}/test_data_set_0`)).toThrow(why);
    });
});
