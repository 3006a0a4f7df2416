/**
 * The Hugging Face fixtures (test/fixtures/hf, made by gen_hf.py): each data set imported as
 * `glimpse run --inputs` imports it (its inputs size the symbols), with onnxruntime's and
 * PyTorch's outputs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Graph, RefTensor, Tensor } from '@glimpse/ir';
import { loadModel } from '@glimpse/cli';
import { readTensorPb } from '@glimpse/onnx';
import { ROOT } from '../cli.js';
import { asRef } from '../helpers.js';

export const HF = `${ROOT}test/fixtures/hf`;
/** The tolerance against onnxruntime and PyTorch. */
export const HF_TOL = { rtol: 1e-3, atol: 1e-4 };
/** An fp16 model against onnxruntime's f16 arithmetic: f16's own rounding. */
const F16_TOL = { rtol: 1e-2, atol: 1e-4 };

/** The tolerance against onnxruntime for fixture `name` (the fp16 ones: F16_TOL). */
export const hfTolerance = (name: string) => (name.endsWith('fp16') ? F16_TOL : HF_TOL);

/**
 * Each fixture that runs, and its attention ops at -O2. The SDPA decoders (GPT-2, Llama,
 * Mistral, Qwen2, Phi, Gemma) fuse through PyTorch's NaN guard (fuse-attention-nan-guard);
 * GPT-2 with eager attention through its causal buffer: where(buffer, s, finfo.min) before
 * the padding mask is added is the op's causal_fill (with params frozen, as `glimpse run`
 * compiles: the buffer is an initializer; a step of one new token has no causal mask left).
 */
export const RUNS: Record<string, number | readonly number[]> = {
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
  gpt2_eager: 2,
  gpt2_past: 2,
  gpt2_eager_past: 2,
  gpt2_ort_opt: 2,
  gpt2_past_ort_opt: 2,
  llama: 2,
  llama_past: 2,
  mistral: 2,
  qwen2: 2,
  phi: 2,
  gemma: 2,
  // DeBERTa-v2 keeps its softmax: its scores are q·kᵀ/c plus the disentangled bias
  // (c2p + p2c)/c, two gather_elements of position projections, computed per [B·H] and
  // viewed [B, H, S, S] for where(mask, s, finfo.min); the probabilities are viewed back to
  // [B·H, S, S] for the matmul with v. Fusing needs a rule that looks through the
  // head-merging reshapes and takes the bias as an additive float mask (finfo.min, not
  // −inf, in the masked_fill: a fully masked row is uniform, which the op must then keep).
  deberta_v2: 0,
  // BLOOM keeps its softmax: its scores are baddbmm(alibi, q, kᵀ, alpha=1/√d) over [B·H],
  // viewed [B, H, S, S] to add the causal/padding mask (the ScatterND's output), and the
  // probabilities are viewed back to [B·H, S, S] for the matmul with v. Fusing needs the
  // same look-through-reshape rule, with alibi + mask as one additive mask (issue 26's ALiBi).
  bloom: 0,
  t5_decoder: 4,
  whisper_decoder_past: 4,
  llama_dynamo: 2,
};
/**
 * Rotary ops at -O2 (fuse-rotary): q and k of every layer in the decoders that compute
 * rotate-half rotary embeddings in the graph — two layers of the Llama family, Phi's partial
 * rotary included — and ModernBERT's three; none elsewhere.
 */
export const ROTARY: Record<string, number> = {
  llama: 4,
  llama_past: 4,
  mistral: 4,
  // The dynamo export writes the same rotate-half.
  llama_dynamo: 4,
  qwen2: 4,
  phi: 4,
  gemma: 4,
  modernbert: 6,
};
/** Fixtures refused at import, with the ONNX ops the one-line refusal must name. */
export const REFUSED: Record<string, RegExp> = {};

export interface HfDataSet {
  /** `test_data_set_K`. */
  readonly set: string;
  readonly graph: Graph;
  readonly inputs: Record<string, Tensor>;
  /** onnxruntime's outputs, in the graph's output order. */
  readonly ort: readonly RefTensor[];
  /** PyTorch's outputs (of the f32 model, for the converted ones). */
  readonly torch: readonly RefTensor[];
}

const pb = (f: string) => readTensorPb(readFileSync(f), f);

/** Every data set of fixture `name`. */
export function hfDataSets(name: string): HfDataSet[] {
  const dir = `${HF}/${name}`;
  return readdirSync(dir)
    .filter((d) => d.startsWith('test_data_set_'))
    .map((set) => {
      const ds = `${dir}/${set}`;
      const { graph } = loadModel(`${dir}/model.onnx`, ds);
      const inputs = Object.fromEntries(
        graph.inputs.map((inp, i) => [inp.name, pb(`${ds}/input_${i}.pb`)]),
      );
      const read = (sub: string) =>
        graph.outputs.map((_, i) => asRef(pb(`${ds}/${sub}output_${i}.pb`)));
      return { set, graph, inputs, ort: read(''), torch: read('torch/') };
    });
}
