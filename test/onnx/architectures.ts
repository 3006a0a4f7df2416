/**
 * The architectures exported by test/fixtures/gen_architectures.py: each model, its inputs
 * and PyTorch's output, and how many attention layers it has.
 */
import { readFileSync } from 'node:fs';
import type { Tensor } from '@glimpse/ir';
import { importOnnx, readTensorPb } from '@glimpse/onnx';
import { ROOT } from '../cli.js';

export const DIR = `${ROOT}test/fixtures/architectures`;
/** The tolerance against PyTorch and onnxruntime: |got − want| ≤ 1e-4 + 1e-3·|want|. */
export const TOL = { rtol: 1e-3, atol: 1e-4 };

export function load(name: string) {
  const bytes = readFileSync(`${DIR}/${name}/model.onnx`);
  const graph = importOnnx(bytes, { file: `${name}/model.onnx` });
  const pb = (f: string) => readTensorPb(readFileSync(`${DIR}/${name}/test_data_set_0/${f}`), f);
  const inputs: Record<string, Tensor> = Object.fromEntries(
    graph.inputs.map((inp, i) => [inp.name, pb(`input_${i}.pb`)]),
  );
  return { bytes, graph, inputs, torch: pb('output_0.pb') };
}

/** Attention layers of each model, fused at -O2 into that many `attention` nodes. */
export const ARCHITECTURES: Record<string, number> = {
  vit: 2,
  swin: 4,
  wav2vec2: 2,
  conformer: 2,
  transformer: 6, // 2 encoder self, 2 decoder self (causal), 2 decoder cross
  encoder: 2,
};
