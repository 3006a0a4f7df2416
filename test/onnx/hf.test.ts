/**
 * Hugging Face `transformers` architectures as people export them (test/fixtures/hf:
 * gen_hf.py, small seeded configurations exported by torch.onnx with optimum's names and
 * dynamic axes, two by its dynamo exporter, onnxruntime's transformer optimizer and float16
 * converter on some),
 * against onnxruntime's and PyTorch's outputs on every data set, on the JS and wasm backends
 * at -O0 and -O2: |got − want| ≤ 1e-4 + 1e-3·|want| (the fp16 model within f16's own error:
 * onnxruntime computes it in f16, glimpse in f32 from f16 values). The attention ops fused at
 * -O2 are counted, and the rotary ops; what glimpse cannot run yet is refused in one line naming every missing op.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModel } from '@glimpse/cli';
import { compile } from 'glimpse';
import { assertClose } from '../helpers.js';
import { HF, HF_TOL, hfDataSets, hfTolerance, REFUSED, ROTARY, RUNS } from './hf.js';

/** What the generator measured: onnxruntime's largest distance from PyTorch per fixture. */
const MANIFEST: Record<string, { max_abs_ort_vs_torch: number }> = JSON.parse(
  readFileSync(`${HF}/manifest.json`, 'utf8'),
);

describe('Hugging Face exports ≡ onnxruntime and PyTorch', () => {
  it('every fixture folder is in one of the two tables', () => {
    const dirs = readdirSync(HF).filter((d) => existsSync(`${HF}/${d}/model.onnx`));
    expect(dirs.sort()).toEqual([...Object.keys(RUNS), ...Object.keys(REFUSED)].sort());
    // No exporter provenance naming the machine that made them (the dynamo exporter writes
    // stack traces with absolute paths into node metadata; gen_hf.py strips them).
    for (const d of dirs)
      expect(readFileSync(`${HF}/${d}/model.onnx`).includes('site-packages'), d).toBe(false);
  });

  for (const [name, attentions] of Object.entries(RUNS))
    it(name, async () => {
      const tol = hfTolerance(name);
      // Against PyTorch's f32 model, an f16 model is as far as its rounded weights put it:
      // glimpse within twice onnxruntime's own distance.
      const torchTol =
        tol === HF_TOL ? HF_TOL : { rtol: 0, atol: 2 * MANIFEST[name]!.max_abs_ort_vs_torch };
      for (const [k, { set, graph, inputs, ort, torch }] of hfDataSets(name).entries())
        for (const backend of ['js', 'wasm'] as const)
          for (const level of [0, 2] as const) {
            // Params are final, as `glimpse run` has them: a buffer initializer (eager
            // GPT-2's causal buffer) is then a constant the optimizer can read.
            const exe = await compile(graph, {
              backend,
              level,
              frozenParams: true,
              ...(backend === 'wasm' ? { threads: 1 } : {}),
            });
            const got = await exe.run(inputs);
            graph.outputs.forEach((o, i) => {
              const what = `${name} ${set} ${backend} -O${level} %${o}`;
              assertClose(got[o]!, ort[i]!, tol, `${what} vs onnxruntime`);
              assertClose(got[o]!, torch[i]!, torchTol, `${what} vs PyTorch`);
            });
            if (level === 2) {
              const count = (op: string) => exe.graph.nodes.filter((n) => n.op === op).length;
              expect(count('attention'), `${name} ${set}: attention ops at -O2`).toBe(
                typeof attentions === 'number' ? attentions : attentions[k],
              );
              expect(count('rotary'), `${name} ${set}: rotary ops at -O2`).toBe(ROTARY[name] ?? 0);
            }
          }
    });

  for (const [name, why] of Object.entries(REFUSED))
    it(`${name} is refused in one line`, () => {
      const dir = `${HF}/${name}`;
      expect(() => loadModel(`${dir}/model.onnx`, `${dir}/test_data_set_0`)).toThrow(why);
    });
});
