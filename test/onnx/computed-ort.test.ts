/**
 * Against onnxruntime-node on every backend (reference, js, wasm, WGSL at -O0/-O2): the
 * integer arithmetic of T5's position buckets (Neg, Min, Max, Div truncating toward zero,
 * Log of integers cast first, on i32 and i64), and Range and Trilu on values computed at
 * run time whose output shape is still known at import; what would size an output by data
 * values is refused in one line naming the node.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@glimpse/ir';
import { fromNumbers, randomStream } from '@glimpse/ir';
import { importOnnx, onnx } from '@glimpse/onnx';
import { tensor } from '../helpers.js';
import type { Init } from './ort-model.js';
import { attrInt, model, sameAsOrt } from './ort-model.js';

/** Integers in −40…40 (zero too), `i64` or `i32`, with no zero where `nonzero`. */
function ints(dtype: 'i32' | 'i64', shape: number[], seed: number, nonzero = false): Tensor {
  const rnd = randomStream(seed, 'ints');
  const n = shape.reduce((p, d) => p * d, 1);
  const v = Array.from({ length: n }, () => {
    const x = Math.round(rnd() * 80 - 40);
    return nonzero && x === 0 ? 7 : x;
  });
  return fromNumbers(dtype, shape, v);
}

describe('integer arithmetic (T5 position buckets) ≡ onnxruntime-node, every backend', () => {
  const I = onnx.TensorProto.DataType;
  for (const dtype of ['i32', 'i64'] as const) {
    const two = (op: string, nonzero = false) =>
      it(`${op} on ${dtype}`, async () => {
        const bytes = model(
          13,
          [
            { name: 'a', dtype, shape: [3, 5] },
            { name: 'b', dtype, shape: [5] },
          ],
          [{ opType: op, input: ['a', 'b'], output: ['y'] }],
          [{ name: 'y', dtype }],
        );
        const x = { a: ints(dtype, [3, 5], 1), b: ints(dtype, [5], 2, nonzero) };
        await sameAsOrt(bytes, x, false, false, true);
      });
    // Div truncates toward zero (−7 / 2 = −3), as C and onnxruntime do.
    two('Div', true);
    two('Min');
    two('Max');
    it(`Neg on ${dtype}`, async () => {
      const bytes = model(
        13,
        [{ name: 'a', dtype, shape: [4, 5] }],
        [{ opType: 'Neg', input: ['a'], output: ['y'] }],
        [{ name: 'y', dtype }],
      );
      await sameAsOrt(bytes, { a: ints(dtype, [4, 5], 3) }, false, false, true);
    });
    // T5's bucket: ⌊log(|n| / e) / log(m / e) · k⌋ as an integer, cast from float and back.
    it(`Log of ${dtype} cast to float, scaled and cast back`, async () => {
      const bytes = model(
        13,
        [{ name: 'a', dtype, shape: [4, 5] }],
        [
          { opType: 'Abs', input: ['a'], output: ['abs'] },
          { opType: 'Cast', input: ['abs'], output: ['f'], attribute: [attrInt('to', I.FLOAT)] },
          { opType: 'Log', input: ['f'], output: ['l'] },
          { opType: 'Mul', input: ['l', 'k'], output: ['s'] },
          {
            opType: 'Cast',
            input: ['s'],
            output: ['y'],
            attribute: [attrInt('to', dtype === 'i32' ? I.INT32 : I.INT64)],
          },
        ],
        [
          { name: 'y', dtype },
          { name: 'l', dtype: 'f32' },
        ],
        [{ name: 'k', dtype: 'f32', shape: [], v: [3.7] }],
      );
      await sameAsOrt(bytes, { a: ints(dtype, [4, 5], 4, true) }, true, false, true);
    });
  }
});

describe('Range, Trilu on values computed at run time ≡ onnxruntime-node, every backend', () => {
  const shapeT = [
    { opType: 'Shape', input: ['x'], output: ['s'] },
    { opType: 'Gather', input: ['s', 'one'], output: ['t'] },
  ];
  const scalars: Init[] = [
    { name: 'zero', dtype: 'i64', shape: [], v: [0] },
    { name: 'one', dtype: 'i64', shape: [], v: [1] },
  ];
  it('Range(0, T, 1) of a symbolic T: imported once, run at T = 1, 4, 7', async () => {
    const bytes = model(
      13,
      [{ name: 'x', dtype: 'f32', shape: ['B', 'T'] }],
      [...shapeT, { opType: 'Range', input: ['zero', 't', 'one'], output: ['y'] }],
      [{ name: 'y', dtype: 'i64' }],
      scalars,
    );
    expect(importOnnx(bytes).typeOf('y').shape).toEqual(['T']);
    for (const t of [1, 4, 7])
      await sameAsOrt(bytes, { x: tensor('f32', [2, t], t, 1) }, false, false, true);
  });
  it('Trilu with a computed k, upper and lower, on static and symbolic shapes', async () => {
    for (const upper of [0, 1])
      for (const shape of [
        [3, 4, 5],
        ['B', 'R', 'C'],
      ] as (number | string)[][]) {
        const bytes = model(
          14,
          [
            { name: 'x', dtype: 'f32', shape },
            { name: 'k', dtype: 'i64', shape: [] },
          ],
          [
            {
              opType: 'Trilu',
              input: ['x', 'k'],
              output: ['y'],
              attribute: [attrInt('upper', upper)],
            },
          ],
          [{ name: 'y', dtype: 'f32' }],
        );
        for (const k of [-6, -2, 0, 1, 3, 7]) {
          const x = tensor('f32', [3, 4, 5], k + 10, 2, 0.2);
          await sameAsOrt(bytes, { x, k: fromNumbers('i64', [], [k]) }, false, false, true);
        }
      }
  });
  it('what would size an output by data values is refused in one line naming the node', () => {
    const refuse = (op: string, inputs: string[], init: Init[], why: RegExp) => {
      const bytes = model(
        13,
        [
          { name: 'x', dtype: 'f32', shape: [3] },
          { name: 'n', dtype: 'i64', shape: [] },
          { name: 'sh', dtype: 'i64', shape: [1] },
        ],
        [{ opType: op, input: inputs, output: ['y'] }],
        [{ name: 'y', dtype: 'f32' }],
        init,
      );
      expect(() => importOnnx(bytes), op).toThrow(why);
    };
    refuse(
      'Range',
      ['zero', 'n', 'one'],
      scalars,
      /node %n0 \(Range\): Range with bounds computed at run time is not supported: the length of its output would depend on their values/,
    );
    refuse(
      'ConstantOfShape',
      ['sh'],
      [],
      /node %n0 \(ConstantOfShape\): ConstantOfShape with a computed shape \(input 0\)/,
    );
    refuse(
      'Expand',
      ['x', 'sh'],
      [],
      /node %n0 \(Expand\): Expand with a computed shape \(input 1\)/,
    );
  });
});
