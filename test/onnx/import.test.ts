/**
 * ONNX import against test data made outside the project: ONNX's own backend node tests
 * (reference outputs from ONNX's float64 reference implementation) and PyTorch exports
 * (PyTorch's outputs). Every folder runs through `glimpse run MODEL.onnx --inputs DIR
 * --check DIR` (input_N.pb / output_N.pb) on the JS, wasm and WGSL backends at -O0 and -O2 and
 * equals the stored outputs within docs/design.md's default tolerances (rtol 1e-3, atol 1e-5:
 * f32 against another implementation).
 */
import { describe, expect, it } from 'vitest';
import { optimize } from '@glimpse/optimizer';
import { cli } from '../cli.js';
import { SKIP_GPU } from '../wgsl/gpu.js';
import { expectRunsChecked, FOLDERS, loadCase, TESTDATA } from './testdata.js';

/** The WGSL variants are registered as skipped (counted) when WebGPU tests are off. */
const itOn = (backend: string) => (backend === 'wgsl' && SKIP_GPU ? it.skip : it);
const EXPANDED = FOLDERS.filter((f) => /test_attention_.*_expanded$/.test(f));

describe('ONNX test data: glimpse run --inputs/--check', () => {
  it('is all there: 165 folders, 17 of them _expanded Attention functions', () => {
    expect(FOLDERS.length, `ONNX test folders under ${TESTDATA}`).toBe(165);
    expect(EXPANDED.length).toBe(17);
  });
  for (const folder of FOLDERS)
    for (const backend of ['js', 'wasm', 'wgsl'])
      itOn(backend)(`${folder}: ${backend} at -O0 and -O2 ≡ stored outputs`, async () => {
        const d = `${TESTDATA}/${folder}`;
        await expectRunsChecked(`${d}/model.onnx`, `${d}/test_data_set_0`, [backend], folder);
      });
  it("--check fails (exit 1) against another test's outputs", async () => {
    const d = `${TESTDATA}/torch/gpt_causal_block`;
    const r = await cli(
      'run',
      `${d}/model.onnx`,
      '--inputs',
      `${d}/test_data_set_0`,
      '--check',
      `${TESTDATA}/onnx-node/test_add/test_data_set_0`,
    );
    expect(r.out).toMatch(/^y: FAIL shape differs$/m);
    expect(r.code).toBe(1);
  });
  it('--check fails (exit 1) on outputs of the same shape that differ', async () => {
    const n = `${TESTDATA}/onnx-node`;
    const r = await cli(
      'run',
      `${n}/test_attention_4d/model.onnx`,
      '--inputs',
      `${n}/test_attention_4d/test_data_set_0`,
      '--check',
      `${n}/test_attention_4d_scaled/test_data_set_0`,
    );
    expect(r.out).toMatch(/^Y: .*FAIL: \d+ values out of tolerance/m);
    expect(r.code).toBe(1);
  });
});

describe('PyTorch exports fuse at -O2', () => {
  // Every torch/ attention module but the context network (its softmax weights the input).
  for (const [folder, n] of [
    ['torch/seed_self_attention', 1],
    ['torch/mha_self', 1],
    ['torch/gpt_causal_block', 1],
    ['torch/context_attention_net', 0],
  ] as const)
    it(`${folder}: ${n} attention, ${n ? 'no' : 'its'} softmax`, () => {
      const o2 = optimize(loadCase(folder).graph, { level: 2, frozenParams: true });
      expect(o2.nodes.filter((x) => x.op === 'attention')).toHaveLength(n);
      expect(o2.nodes.filter((x) => x.op === 'softmax')).toHaveLength(1 - n);
    });
});

describe("ONNX's _expanded Attention functions at -O2", () => {
  // A mask input brings ONNX's row guard, where(reduce_max(bias) = -inf, 0, softmax(s + bias)),
  // fused as masked_rows=mask; a causal bias is a constant here (frozen weights fold its
  // guard away); qk_matmul_output keeps its scores and the op recomputes them.
  for (const folder of EXPANDED)
    it(`${folder}: one attention, no softmax`, () => {
      const o2 = optimize(loadCase(folder).graph, { level: 2, frozenParams: true });
      const count = (op: string) => o2.nodes.filter((x) => x.op === op).length;
      expect(count('attention')).toBe(1);
      expect(count('softmax')).toBe(0);
    });
});
