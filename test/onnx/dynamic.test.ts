/**
 * PyTorch exports with symbolic batch and sequence dims (dynamic_axes; fixtures made by
 * test/fixtures/gen_onnx_dynamic.py with PyTorch 1.13): the exporter's shape arithmetic on
 * B and T stays symbolic at import, so one imported graph runs at two sizes, on both
 * backends, as written and fused, equal to PyTorch's outputs. nn.MultiheadAttention's
 * export reshapes to [T, B·heads, d], a product of a symbol, which glimpse's dims cannot
 * state: a clear error.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importOnnx, onnx } from '@glimpse/onnx';
import { optimize } from '@glimpse/optimizer';
import { cli } from '../cli.js';
import { SKIP_GPU } from '../wgsl/gpu.js';
import { expectRunsChecked } from './testdata.js';

const DIR = new URL('../fixtures/onnx-dynamic/', import.meta.url).pathname;
/** The WGSL variants are registered as skipped (counted) when WebGPU tests are off. */
const itOn = (backend: string) => (backend === 'wgsl' && SKIP_GPU ? it.skip : it);

describe('ONNX exports with symbolic dims', () => {
  for (const name of ['self_attention', 'causal_block'])
    describe(name, () => {
      const model = `${DIR}${name}/model.onnx`;
      it('imports with symbolic B and T and fuses its attention at -O2', () => {
        const g = importOnnx(readFileSync(model), { file: model });
        expect(g.inputs.map((i) => i.type.shape)).toEqual([['B', 'T', 16]]);
        const o2 = optimize(g, { level: 2, frozenParams: true });
        expect(o2.nodes.filter((n) => n.op === 'attention')).toHaveLength(1);
        expect(o2.nodes.filter((n) => n.op === 'softmax')).toHaveLength(0);
      });
      for (const set of ['test_data_set_0', 'test_data_set_1'])
        for (const backend of ['js', 'wasm', 'wgsl'])
          itOn(backend)(
            `${set} (${set.endsWith('0') ? 'B=2, T=5' : 'B=1, T=7'}): ${backend} at -O0 and -O2 ≡ PyTorch`,
            async () => {
              await expectRunsChecked(model, `${DIR}${name}/${set}`, [backend], `${name} ${set}`);
            },
          );
    });
  it('nn.MultiheadAttention (a reshape to B·heads): its input files size B and T at import, and it runs equal to PyTorch', async () => {
    const data = `${DIR}mha/test_data_set_0`;
    const r = await cli('run', `${DIR}mha/model.onnx`, '--inputs', data, '--check', data);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/: max abs err .*, ok$/m);
    expect(r.code).toBe(0);
  });
  it('nn.MultiheadAttention with B and T symbolic: one line naming the node, exit 2', async () => {
    const r = await cli('run', `${DIR}mha/model.onnx`);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(
      /^glimpse: error: .*mha\/model\.onnx, node %\/m\/Mul_\d+ \(Mul\): mul on a shape value with symbolic dims \(B\): .*\n$/,
    );
  });
});

/** x: f32[B, T, 4] (dim_params), the given nodes and int64 initializers; output y. */
/** (Initializers: a number is a scalar, an array 1-D.) */
function symbolic(
  nodes: readonly object[],
  consts: Record<string, number | readonly number[]> = {},
): Uint8Array {
  const F = onnx.TensorProto.DataType.FLOAT;
  const I64 = onnx.TensorProto.DataType.INT64;
  return onnx.ModelProto.encode({
    irVersion: 9,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'sym',
      input: [
        {
          name: 'x',
          type: {
            tensorType: {
              elemType: F,
              shape: { dim: [{ dimParam: 'B' }, { dimParam: 'T' }, { dimValue: 4 }] },
            },
          },
        },
      ],
      output: [{ name: 'y', type: { tensorType: { elemType: F } } }],
      node: nodes.map((n, i) => ({ name: `n${i}`, ...n })),
      initializer: Object.entries(consts).map(([name, v]) => ({
        name,
        dataType: I64,
        dims: typeof v === 'number' ? [] : [v.length],
        int64Data: typeof v === 'number' ? [v] : [...v],
      })),
    },
  }).finish();
}
const shapeOfY = (bytes: Uint8Array) => {
  const g = importOnnx(bytes);
  return g.typeOf(g.outputs[0]!).shape;
};

describe('shape values with symbolic dims, op by op', () => {
  const gatherB = [
    { opType: 'Shape', input: ['x'], output: ['s'] },
    { opType: 'Gather', input: ['s', 'zero'], output: ['b'] },
  ];
  it('Shape → Gather → Mul by 1 → Unsqueeze → Concat → Reshape keeps B', () => {
    const y = shapeOfY(
      symbolic(
        [
          ...gatherB,
          { opType: 'Mul', input: ['b', 'one'], output: ['b1'] },
          { opType: 'Unsqueeze', input: ['b1', 'axes0'], output: ['bu'] },
          {
            opType: 'Cast',
            input: ['bu'],
            output: ['bc'],
            attribute: [{ name: 'to', type: 2, i: 7 }],
          },
          {
            opType: 'Concat',
            input: ['bc', 'minus1', 'two'],
            output: ['t'],
            attribute: [{ name: 'axis', type: 2, i: 0 }],
          },
          { opType: 'Reshape', input: ['x', 't'], output: ['y'] },
        ],
        { zero: 0, one: 1, axes0: [0], minus1: [-1], two: [2, 2] },
      ),
    );
    expect(y).toEqual(['B', 'T', 2, 2]);
  });
  it('Shape with start/end, then Expand and ConstantOfShape of symbolic shapes', () => {
    const y = shapeOfY(
      symbolic(
        [
          {
            opType: 'Shape',
            input: ['x'],
            output: ['s'],
            attribute: [{ name: 'end', type: 2, i: 2 }],
          },
          { opType: 'ConstantOfShape', input: ['s'], output: ['c'] },
          { opType: 'Unsqueeze', input: ['c', 'axes2'], output: ['c3'] },
          { opType: 'Add', input: ['x', 'c3'], output: ['y'] },
        ],
        { axes2: [2] },
      ),
    );
    expect(y).toEqual(['B', 'T', 4]);
  });
  it("PyTorch's expand: Where(Equal(shape, −1), 1, shape) keeps B (a symbol is no negative number)", () => {
    const y = shapeOfY(
      symbolic(
        [
          { opType: 'Shape', input: ['x'], output: ['s'] },
          { opType: 'Equal', input: ['s', 'neg'], output: ['e'] },
          { opType: 'Where', input: ['e', 'ones', 's'], output: ['t'] },
          { opType: 'Expand', input: ['c', 't'], output: ['y'] },
        ],
        { neg: [-1, -1, -1], ones: [1, 1, 1], c: [0] },
      ),
    );
    expect(y).toEqual(['B', 'T', 4]);
  });
  it('Equal of a symbol and a dim it may be is refused, naming the node', () => {
    const bytes = symbolic(
      [
        { opType: 'Shape', input: ['x'], output: ['s'] },
        { opType: 'Equal', input: ['s', 'two'], output: ['e'] },
        { opType: 'Where', input: ['e', 'ones', 's'], output: ['t'] },
        { opType: 'Expand', input: ['x', 't'], output: ['y'] },
      ],
      { two: [2, 2, 2], ones: [1, 1, 1] },
    );
    expect(() => importOnnx(bytes)).toThrow(
      /node %n1 \(Equal\): equal on a shape value with symbolic dims \(B, T\)/,
    );
  });
  it('Range(0, B, 1): the indices of B, of shape [B]', () => {
    const y = shapeOfY(
      symbolic([...gatherB, { opType: 'Range', input: ['zero', 'b', 'one'], output: ['y'] }], {
        zero: 0,
        one: 1,
      }),
    );
    expect(y).toEqual(['B']);
  });
  for (const [what, nodes, consts, msg] of [
    [
      'B·2',
      [
        { opType: 'Mul', input: ['b', 'two'], output: ['m'] },
        { opType: 'Reshape', input: ['x', 'm'], output: ['y'] },
      ],
      { two: 2 },
      /node %n2 \(Mul\): mul on a shape value with symbolic dims \(B\)/,
    ],
    [
      'B + 1',
      [
        { opType: 'Add', input: ['b', 'one'], output: ['m'] },
        { opType: 'Reshape', input: ['x', 'm'], output: ['y'] },
      ],
      { one: 1 },
      /\(Add\): add on a shape value with symbolic dims \(B\)/,
    ],
    [
      'Range(1, B)',
      [{ opType: 'Range', input: ['one', 'b', 'one'], output: ['y'] }],
      { one: 1 },
      /\(Range\): Range from 1 by 1 to the symbolic B: its length would be arithmetic on a symbol/,
    ],
    [
      'Range(B, 4)',
      [{ opType: 'Range', input: ['b', 'four', 'one'], output: ['y'] }],
      { one: 1, four: 4 },
      /\(Range\): Range on a shape value with symbolic dims \(B\)/,
    ],
    [
      'B as data',
      [{ opType: 'Cast', input: ['b'], output: ['y'], attribute: [{ name: 'to', type: 2, i: 1 }] }],
      {},
      /cast on a shape value with symbolic dims \(B\)/,
    ],
    [
      'B as a Slice end',
      [
        { opType: 'Unsqueeze', input: ['b', 'zero1'], output: ['e'] },
        { opType: 'Slice', input: ['x', 'zero1', 'e'], output: ['y'] },
      ],
      { zero1: [0] },
      /a static value \(axes, sizes, indices\) on a shape value with symbolic dims \(B\)/,
    ],
  ] as const)
    it(`${what}: refused with an error naming the node and the symbol`, () => {
      expect(() => importOnnx(symbolic([...gatherB, ...nodes], { zero: 0, ...consts }))).toThrow(
        msg,
      );
    });
});
