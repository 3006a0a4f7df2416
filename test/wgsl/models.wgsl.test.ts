/**
 * Real models on WebGPU (Dawn on SwiftShader here): the six architectures exported by
 * PyTorch against PyTorch's output, and the three PP-OCR models against onnxruntime-node,
 * at -O0 and -O2, within the tolerance (|got − want| ≤ 1e-4 + 1e-3·|want|).
 */
import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import type { Graph } from '@glimpse/ir';
import { compile } from 'glimpse';
import { importFixed, MODELS } from '../../examples/ocr/ocr.js';
import { asRef, assertClose, tensor } from '../helpers.js';
import { ARCHITECTURES, load, TOL } from '../onnx/architectures.js';
import { runOrt } from '../onnx/ort.js';
import { describeGpu } from './gpu.js';

describeGpu('architectures on WGSL ≡ PyTorch', () => {
  for (const name of Object.keys(ARCHITECTURES))
    it(name, async () => {
      const { graph, inputs, torch } = load(name);
      for (const level of [0, 2] as const) {
        const got = (await (await compile(graph, { backend: 'wgsl', level })).run(inputs)).y!;
        assertClose(got, asRef(torch), TOL, `${name} wgsl -O${level}`);
      }
    });
});

describeGpu('PP-OCR models on WGSL ≡ onnxruntime-node', () => {
  const cases: [keyof typeof MODELS, number[]][] = [
    ['rec', [1, 3, 48, 320]],
    ['det', [1, 3, 64, 96]],
    ['cls', [1, 3, 48, 192]],
  ];
  for (const [name, shape] of cases)
    it(`${name} ${shape.join('×')}`, async () => {
      const graph: Graph = importFixed(MODELS[name], shape);
      const inputs = { [graph.inputs[0]!.name]: tensor('f32', shape, 7, 1) };
      const out = graph.outputs[0]!;
      const want = asRef((await runOrt(readFileSync(MODELS[name]), graph, inputs))[out]!);
      for (const level of [0, 2] as const) {
        const got = (await (await compile(graph, { backend: 'wgsl', level })).run(inputs))[out]!;
        assertClose(got, want, TOL, `${name} wgsl -O${level}`);
      }
    });
});
