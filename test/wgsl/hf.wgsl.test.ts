/**
 * The Hugging Face fixtures on WebGPU (Dawn on SwiftShader here), every data set at -O0 and
 * -O2, against onnxruntime's outputs within the tolerance test/onnx/hf.test.ts holds the JS
 * and wasm backends to.
 */
import { it } from 'vitest';
import { compile } from 'glimpse';
import { assertClose } from '../helpers.js';
import { hfDataSets, hfTolerance, RUNS } from '../onnx/hf.js';
import { describeGpu } from './gpu.js';

describeGpu('Hugging Face exports on WGSL ≡ onnxruntime', () => {
  for (const name of Object.keys(RUNS))
    it(name, async () => {
      for (const { set, graph, inputs, ort } of hfDataSets(name))
        for (const level of [0, 2] as const) {
          const exe = await compile(graph, { backend: 'wgsl', level, frozenParams: true });
          const got = await exe.run(inputs);
          graph.outputs.forEach((o, i) =>
            assertClose(
              got[o]!,
              ort[i]!,
              hfTolerance(name),
              `${name} ${set} wgsl -O${level} %${o}`,
            ),
          );
          await exe.release();
        }
    });
});
