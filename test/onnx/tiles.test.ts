/**
 * PyTorch across the kernels' tiles: attention modules exported with symbolic B and T
 * (test/fixtures/gen_tiles.py) — the seed, causal attention with left padding (rows whose
 * every key is padded: NaN in PyTorch), an additive mask with -inf entries and a fully
 * masked row, a masked_fill of -1e9 (fully masked rows uniform) — at T = 1, 33, 65, 130 (one
 * query row; just past the JS kernel's 32-row and 64-key tiles and the WGSL kernel's
 * 64-row tiles), through `glimpse run --inputs --check` on js and wgsl at -O0, -O1 and -O2,
 * equal to PyTorch (docs/design.md's default tolerances; NaN only where PyTorch has NaN).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '@glimpse/onnx';
import { optimize } from '@glimpse/optimizer';
import { SKIP_GPU } from '../wgsl/gpu.js';
import { expectRunsChecked } from './testdata.js';

const DIR = new URL('../fixtures/tiles/', import.meta.url).pathname;
const itOn = (backend: string) => (backend === 'wgsl' && SKIP_GPU ? it.skip : it);

describe('PyTorch attention across tiles, masks with fully masked rows', () => {
  for (const name of ['seed', 'causal_padded', 'additive_mask', 'finite_fill'])
    describe(name, () => {
      const model = `${DIR}${name}/model.onnx`;
      it('imports with symbolic B and T and fuses into one attention op at -O2', () => {
        const g = importOnnx(readFileSync(model), { file: model });
        expect(g.inputs[0]!.type.shape).toEqual(['B', 'T', 16]);
        const o2 = optimize(g, { level: 2, frozenParams: true });
        expect(o2.nodes.filter((n) => n.op === 'attention')).toHaveLength(1);
        expect(o2.nodes.filter((n) => n.op === 'softmax')).toHaveLength(0);
      });
      for (const T of [1, 33, 65, 130])
        for (const backend of ['js', 'wasm', 'wgsl'])
          itOn(backend)(`T=${T}: ${backend} at -O0, -O1 and -O2 ≡ PyTorch`, async () => {
            await expectRunsChecked(
              model,
              `${DIR}${name}/test_data_set_${T}`,
              [backend],
              `${name} T=${T}`,
              ['0', '1', '2'],
            );
          });
    });
});
