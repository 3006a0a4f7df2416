/**
 * ONNX import against test data made outside the project: ONNX's own backend node tests
 * (reference outputs from ONNX's float64 reference implementation) and PyTorch exports
 * (PyTorch's outputs). Every folder that imports runs on the JS and WGSL backends at -O0
 * and -O2 and equals the stored outputs (rtol 1e-3, atol 1e-5: DESIGN.md's defaults for
 * f32 against another implementation). The folders that do not import yet are listed
 * with the reason, and checked to fail with exactly that error: the list cannot go stale.
 */
import { describe, expect, it } from 'vitest';
import { toNumbers } from '@glimpse/ir';
import { compile } from 'glimpse';
import { optimize } from '@glimpse/optimizer';
import { cli } from '../cli.js';
import { assertClose } from '../helpers.js';
import { describeGpu } from '../wgsl/gpu.js';
import { FOLDERS, loadCase, TESTDATA } from './testdata.js';

/** Folders that do not import yet, by the error they give (see the notes). */
const NOT_YET: [RegExp, RegExp][] = [
  [/^onnx-node\/test_reshape_/, /Reshape with a computed shape \(input 1\) is not supported/],
];
const notYet = (f: string) => NOT_YET.find(([p]) => p.test(f));

const TOL = { rtol: 1e-3, atol: 1e-5 };

function check(
  folder: string,
  got: Record<string, { dtype: string }>,
  c: ReturnType<typeof loadCase>,
  what: string,
) {
  c.graph.outputs.forEach((o, i) => {
    const want = c.outputs[i]!;
    const g = got[o] as Parameters<typeof assertClose>[0];
    assertClose(
      g,
      { dtype: g.dtype, shape: [...want.shape], data: toNumbers(want) },
      TOL,
      `${folder} ${what} %${o}`,
    );
  });
}

describe('ONNX test data', () => {
  it('is there (../shared/testdata)', () => {
    expect(FOLDERS.length, `no ONNX test folders under ${TESTDATA}`).toBeGreaterThan(100);
  });
  for (const folder of FOLDERS.filter((f) => !notYet(f)))
    it(`${folder}: js at -O0 and -O2 ≡ stored outputs`, async () => {
      const c = loadCase(folder);
      for (const level of [0, 2] as const) {
        const exe = await compile(c.graph, { level, frozenParams: true });
        check(folder, await exe.run(c.inputs), c, `js -O${level}`);
      }
    });
  for (const folder of FOLDERS.filter((f) => notYet(f)))
    it(`${folder}: not yet (${notYet(folder)![1].source.slice(0, 40)})`, () => {
      expect(() => loadCase(folder)).toThrow(notYet(folder)![1]);
    });
});

describeGpu('ONNX test data on WGSL', () => {
  it('every folder that imports: wgsl at -O0 and -O2 ≡ stored outputs', async () => {
    for (const folder of FOLDERS.filter((f) => !notYet(f))) {
      const c = loadCase(folder);
      for (const level of [0, 2] as const) {
        const exe = await compile(c.graph, { backend: 'wgsl', level, frozenParams: true });
        check(folder, await exe.run(c.inputs), c, `wgsl -O${level}`);
      }
    }
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

describe('glimpse run MODEL.onnx --inputs/--check with input_N.pb/output_N.pb', () => {
  for (const backend of ['js', 'wgsl'])
    for (const level of ['0', '2'])
      it(`torch/gpt_causal_block on ${backend} at -O${level}`, async () => {
        const d = `${TESTDATA}/torch/gpt_causal_block`;
        const r = await cli(
          'run',
          `${d}/model.onnx`,
          '--backend',
          backend,
          '--level',
          level,
          '--inputs',
          `${d}/test_data_set_0`,
          '--check',
          `${d}/test_data_set_0`,
        );
        expect(r.err).toBe('');
        expect(r.out).toMatch(/: max abs err .*, ok$/m);
        expect(r.code).toBe(0);
      });
  it("--check fails (exit 1) against another model's outputs of the same shape", async () => {
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
});
