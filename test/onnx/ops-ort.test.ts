/**
 * ONNX ops that glimpse lowers onto others at import — Pad (constant, edge, reflect, wrap;
 * negative pads crop; optional axes) and Slice with steps other than 1 (negative steps,
 * out-of-range starts and ends) — against onnxruntime-node on random shapes and
 * attributes. Data movement only: outputs must be equal exactly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@glimpse/ir';
import { fromNumbers, interpret, randomStream } from '@glimpse/ir';
import { importOnnx, onnx } from '@glimpse/onnx';
import { compile } from 'glimpse';
import { asRef, assertClose } from '../helpers.js';
import { runOrt } from './ort.js';

const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;

/** One node on input X (f32, `shape`), with int64 (or f32) initializers; output Y. */
function oneNode(
  shape: number[],
  node: object,
  inits: Record<string, { dtype: 'i64' | 'f32'; v: number[]; scalar?: boolean }>,
  opset: number,
): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 9,
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'op',
      input: [
        {
          name: 'X',
          type: {
            tensorType: { elemType: F, shape: { dim: shape.map((d) => ({ dimValue: d })) } },
          },
        },
      ],
      output: [{ name: 'Y', type: { tensorType: { elemType: F } } }],
      node: [{ name: 'n', output: ['Y'], ...node }],
      initializer: Object.entries(inits).map(([name, t]) => ({
        name,
        dataType: t.dtype === 'i64' ? I64 : F,
        dims: t.scalar ? [] : [t.v.length],
        ...(t.dtype === 'i64' ? { int64Data: t.v } : { floatData: t.v }),
      })),
    },
  }).finish();
}

/** Exact unless `close` (then rtol 1e-5: Pow computed by multiplications rounds differently). */
async function sameAsOrt(bytes: Uint8Array, shape: number[], seed: number, close = false) {
  const g = importOnnx(bytes, { file: 'op.onnx' });
  const rnd = randomStream(seed, 'X');
  const n = shape.reduce((a, d) => a * d, 1);
  const x: Record<string, Tensor> = {
    X: fromNumbers(
      'f32',
      shape,
      Array.from({ length: n }, () => (close ? rnd() * 4 - 2 : Math.round(rnd() * 200 - 100))),
    ),
  };
  const want = asRef((await runOrt(bytes, g, x)).Y!);
  const ref = interpret(g, x).Y!;
  expect(ref.shape).toEqual(want.shape);
  const js = (await (await compile(g, { backend: 'js' })).run(x)).Y!;
  if (close) {
    assertClose(fromNumbers('f32', ref.shape, ref.data), want, { rtol: 1e-5, atol: 0 }, 'ref');
    assertClose(js, want, { rtol: 1e-5, atol: 0 }, 'js');
    return;
  }
  expect(Array.from(ref.data)).toEqual(Array.from(want.data));
  expect(Array.from(asRef(js).data)).toEqual(Array.from(want.data));
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 });

describe('Pad ≡ onnxruntime-node', () => {
  it('random shapes, modes, pads (negative ones crop), fill values and axes', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb.chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            mode: fc.constantFrom('constant', 'edge', 'reflect', 'wrap'),
            raw: fc.array(
              fc.tuple(fc.integer({ min: -3, max: 3 }), fc.integer({ min: -3, max: 3 })),
              {
                minLength: shape.length,
                maxLength: shape.length,
              },
            ),
            withAxes: fc.boolean(),
            fill: fc.option(fc.constantFrom(0, 2.5, -7), { nil: undefined }),
            seed: fc.nat(),
          }),
        ),
        async (c) => {
          const r = c.shape.length;
          // Keep pads ONNX allows: no crop past the axis; copying modes only pad (reflect
          // by less than the axis, wrap by at most the axis).
          const pads = c.raw.map(([b, a], i) => {
            const d = c.shape[i]!;
            if (c.mode === 'constant') {
              const b1 = Math.max(b, -d);
              return [b1, Math.max(a, -(d + Math.min(0, b1)))] as [number, number];
            }
            const lim = c.mode === 'reflect' ? d - 1 : c.mode === 'wrap' ? d : 3;
            return [Math.min(Math.abs(b), lim), Math.min(Math.abs(a), lim)] as [number, number];
          });
          const axes = c.withAxes ? [...Array(r).keys()].map((i) => i - r) : undefined;
          const inits: Record<string, { dtype: 'i64' | 'f32'; v: number[]; scalar?: boolean }> = {
            pads: { dtype: 'i64', v: [...pads.map((p) => p[0]), ...pads.map((p) => p[1])] },
          };
          if (c.fill !== undefined) inits.value = { dtype: 'f32', v: [c.fill], scalar: true };
          if (axes) inits.axes = { dtype: 'i64', v: axes };
          const input = ['X', 'pads', c.fill !== undefined ? 'value' : '', axes ? 'axes' : ''];
          while (input[input.length - 1] === '') input.pop();
          const node = {
            opType: 'Pad',
            input,
            attribute: [{ name: 'mode', type: 3, s: new TextEncoder().encode(c.mode) }],
          };
          await sameAsOrt(oneNode(c.shape, node, inits, 19), c.shape, c.seed);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('Slice with steps ≡ onnxruntime-node', () => {
  it('random starts, ends (past either end), steps (negative too) and axes', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb.chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            axis: fc.integer({ min: 0, max: shape.length - 1 }),
            start: fc.integer({ min: -7, max: 7 }),
            end: fc.oneof(
              fc.integer({ min: -7, max: 7 }),
              fc.constantFrom(2 ** 31 - 1, -(2 ** 31)),
            ),
            step: fc.constantFrom(-3, -2, -1, 1, 2, 3),
            seed: fc.nat(),
          }),
        ),
        async (c) => {
          // INT_MAX / INT_MIN as the spec recommends them, forward / backward: onnxruntime
          // 1.30 reads INT_MAX with a negative step as "to the beginning" (numpy and ONNX's
          // reference give nothing).
          fc.pre(!(c.step < 0 && c.end === 2 ** 31 - 1) && !(c.step > 0 && c.end === -(2 ** 31)));
          const inits = {
            starts: { dtype: 'i64' as const, v: [c.start] },
            ends: { dtype: 'i64' as const, v: [c.end] },
            axes: { dtype: 'i64' as const, v: [c.axis] },
            steps: { dtype: 'i64' as const, v: [c.step] },
          };
          const node = { opType: 'Slice', input: ['X', 'starts', 'ends', 'axes', 'steps'] };
          await sameAsOrt(oneNode(c.shape, node, inits, 13), c.shape, c.seed);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('Pow with a constant exponent ≡ onnxruntime-node', () => {
  for (const p of [-8, -3, -1, 0, 1, 2, 3, 5, 8, 0.5, -0.5])
    it(`x^${p}`, async () => {
      const node = { opType: 'Pow', input: ['X', 'p'] };
      const inits = { p: { dtype: 'f32' as const, v: [p], scalar: true } };
      // Negative x under a square root is NaN on both sides.
      await sameAsOrt(oneNode([3, 7], node, inits, 13), [3, 7], 11, true);
    });
  it('another exponent is refused, naming the node', () => {
    const node = { opType: 'Pow', input: ['X', 'p'] };
    const bytes = oneNode([2], node, { p: { dtype: 'f32', v: [1.5], scalar: true } }, 13);
    expect(() => importOnnx(bytes)).toThrow(
      /node %n \(Pow\): Pow with exponent 1\.5 is not supported/,
    );
  });
});
