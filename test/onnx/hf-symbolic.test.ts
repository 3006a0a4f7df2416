/**
 * Hugging Face fixtures (test/fixtures/hf) imported once with their symbolic batch and
 * sequence dims — no data set sizing them — then run on each data set on the JS backend at
 * -O2, equal to onnxruntime's stored outputs (|got − want| ≤ 1e-4 + 1e-3·|want|, as
 * hf.test.ts). Those whose shape arithmetic glimpse's dims can hold: PyTorch's expand writes
 * Where(Equal(shape, −1), 1, shape), which folds with symbols (a symbol is no negative
 * number), and a constant (ViT's class token) expands to a symbolic batch at run time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importOnnx, readTensorPb } from '@glimpse/onnx';
import { compile } from 'glimpse';
import { ROOT } from '../cli.js';
import { asRef, assertClose } from '../helpers.js';

const HF = `${ROOT}test/fixtures/hf`;
const pb = (f: string) => readTensorPb(readFileSync(f), f);

describe('Hugging Face exports with symbolic dims ≡ onnxruntime', () => {
  for (const name of ['vit', 'modernbert', 'whisper_encoder'])
    it(name, async () => {
      const dir = `${HF}/${name}`;
      const g = importOnnx(readFileSync(`${dir}/model.onnx`), { file: name });
      expect(g.inputs.some((i) => g.typeOf(i.name).shape.some((d) => typeof d === 'string'))).toBe(
        true,
      );
      const exe = await compile(g, { backend: 'js', level: 2 });
      for (const set of readdirSync(dir).filter((d) => d.startsWith('test_data_set_'))) {
        const ds = `${dir}/${set}`;
        const inputs = Object.fromEntries(
          g.inputs.map((inp, i) => [inp.name, pb(`${ds}/input_${i}.pb`)]),
        );
        const got = await exe.run(inputs);
        g.outputs.forEach((o, i) =>
          assertClose(
            got[o]!,
            asRef(pb(`${ds}/output_${i}.pb`)),
            { rtol: 1e-3, atol: 1e-4 },
            `${name} ${set} %${o}`,
          ),
        );
      }
    });
});
