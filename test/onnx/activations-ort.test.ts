/**
 * The ONNX ops of CNN front ends and older exports — activations, Min / Max / Clip,
 * comparisons, Dropout, BatchNormalization — and the ops whose form changed between opsets
 * 7 and 13 (Softmax's flattening; Slice, Pad, Clip, Squeeze, Unsqueeze, Split and the
 * reductions taking attributes), against onnxruntime-node on random shapes, attributes and
 * values (NaN, ±inf, ±0 among them): the reference interpreter, the JS backend at -O0 and
 * -O2 and the wasm backend at -O2.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { DType, Tensor } from '@glimpse/ir';
import { tensor } from '../helpers.js';
import type { In, Init } from './ort-model.js';
import { attrFloat, attrInt, attrInts, model, sameAsOrt } from './ort-model.js';

const dims = (min: number, max: number) =>
  fc.array(fc.integer({ min: 1, max: 4 }), { minLength: min, maxLength: max });
/** Shapes that broadcast to `out`: a suffix of it with some dims 1. */
const broadcastOf = (out: number[]) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: out.length }),
      fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    )
    .map(([drop, ones]) => out.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));
const special = fc.constantFrom(0, 0.1, 0.4);
/** Finite f32 values rounded to halves (ties, and ±0 pairs, become common); others kept. */
function onGrid(t: Tensor): Tensor {
  if (t.data instanceof Float32Array)
    t.data.forEach((v, j, d) => (d[j] = Number.isFinite(v) ? Math.round(v * 2) / 2 : v));
  return t;
}
const f32In = (name: string, shape: number[]): In => ({ name, dtype: 'f32', shape });

describe('unary activations ≡ onnxruntime-node', () => {
  for (const [op, close, out = 'f32'] of [
    ['Sigmoid', true],
    ['Erf', true],
    ['Abs', false],
    ['Log', true],
    ['Cos', true],
    ['Sin', true],
    ['IsNaN', false, 'bool'],
    ['IsInf', false, 'bool'],
    ['Sign', false],
    ['Ceil', false],
    ['Floor', false],
    ['Round', false],
  ] as const)
    it(op, async () => {
      await fc.assert(
        fc.asyncProperty(dims(0, 4), fc.nat(), special, async (shape, seed, sp) => {
          const bytes = model(
            13,
            [f32In('x', shape)],
            [{ opType: op, input: ['x'], output: ['y'] }],
            [{ name: 'y', dtype: out }],
          );
          // Values on a grid of halves too (rounding ties, ±0), and inside (−1, 1).
          const x = tensor('f32', shape, seed, 3, sp);
          await sameAsOrt(bytes, { x }, close);
          await sameAsOrt(bytes, { x: onGrid(tensor('f32', shape, seed, 3, sp)) }, close);
          const small = tensor('f32', shape, seed + 1, 1, sp);
          await sameAsOrt(bytes, { x: small }, close);
        }),
        { numRuns: 40 },
      );
    });
});

describe('Abs on integers ≡ onnxruntime-node', () => {
  for (const dtype of ['i32', 'i64'] as const)
    it(dtype, async () => {
      await fc.assert(
        fc.asyncProperty(dims(0, 3), fc.nat(), async (shape, seed) => {
          const bytes = model(
            13,
            [{ name: 'x', dtype, shape }],
            [{ opType: 'Abs', input: ['x'], output: ['y'] }],
            [{ name: 'y', dtype }],
          );
          await sameAsOrt(bytes, { x: tensor(dtype, shape, seed, 3) });
        }),
        { numRuns: 20 },
      );
    });
});

describe('IsInf (detect_positive, detect_negative) ≡ onnxruntime-node', () => {
  for (const [pos, neg] of [
    [1, 0],
    [0, 1],
    [0, 0],
  ])
    it(`detect_positive=${pos}, detect_negative=${neg}`, async () => {
      await fc.assert(
        fc.asyncProperty(dims(0, 3), fc.nat(), async (shape, seed) => {
          const node = {
            opType: 'IsInf',
            input: ['x'],
            output: ['y'],
            attribute: [attrInt('detect_positive', pos!), attrInt('detect_negative', neg!)],
          };
          const bytes = model(13, [f32In('x', shape)], [node], [{ name: 'y', dtype: 'bool' }]);
          await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 3, 0.4) });
        }),
        { numRuns: 15 },
      );
    });
});

describe('Gelu (opset 20) ≡ onnxruntime-node', () => {
  for (const approximate of ['none', 'tanh'])
    it(`approximate='${approximate}'`, async () => {
      await fc.assert(
        fc.asyncProperty(dims(0, 3), fc.nat(), special, async (shape, seed, sp) => {
          const node = {
            opType: 'Gelu',
            input: ['x'],
            output: ['y'],
            attribute: [{ name: 'approximate', type: 3, s: new TextEncoder().encode(approximate) }],
          };
          const bytes = model(20, [f32In('x', shape)], [node], [{ name: 'y', dtype: 'f32' }]);
          await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 3, sp) }, true);
        }),
        { numRuns: 30 },
      );
    });
});

describe('Min, Max (one to three inputs, broadcast) ≡ onnxruntime-node', () => {
  for (const op of ['Min', 'Max'])
    it(op, async () => {
      await fc.assert(
        fc.asyncProperty(
          dims(0, 3).chain((out) =>
            fc.tuple(fc.constant(out), fc.array(broadcastOf(out), { minLength: 0, maxLength: 2 })),
          ),
          fc.nat(),
          special,
          async ([out, more], seed, sp) => {
            const shapes = [out, ...more];
            const ins = shapes.map((s, i) => f32In(`x${i}`, s));
            const bytes = model(
              13,
              ins,
              [{ opType: op, input: ins.map((i) => i.name), output: ['y'] }],
              [{ name: 'y', dtype: 'f32' }],
            );
            // Values on a grid of halves: ties and ±0 pairs are common.
            const xs = Object.fromEntries(
              ins.map((i, k) => [i.name, onGrid(tensor('f32', shapes[k]!, seed + k, 2, sp))]),
            );
            // glimpse's min / max are torch.minimum / torch.maximum (of equal operands, ±0,
            // the second); onnxruntime's Max picks the first: the sign of a zero may differ.
            await sameAsOrt(bytes, xs, false, true);
          },
        ),
        { numRuns: 60 },
      );
    });
});

describe('comparisons and Or ≡ onnxruntime-node', () => {
  for (const op of ['Greater', 'GreaterOrEqual', 'LessOrEqual', 'Or'])
    it(op, async () => {
      await fc.assert(
        fc.asyncProperty(
          dims(0, 3).chain((out) => fc.tuple(fc.constant(out), broadcastOf(out), fc.boolean())),
          fc.nat(),
          special,
          async ([out, other, swap], seed, sp) => {
            const dt: DType = op === 'Or' ? 'bool' : 'f32';
            const [sa, sb] = swap ? [other, out] : [out, other];
            const ins = [
              { name: 'a', dtype: dt, shape: sa },
              { name: 'b', dtype: dt, shape: sb },
            ];
            const bytes = model(
              12,
              ins,
              [{ opType: op, input: ['a', 'b'], output: ['y'] }],
              [{ name: 'y', dtype: 'bool' }],
            );
            await sameAsOrt(bytes, {
              a: onGrid(tensor(dt, sa, seed, 2, sp)),
              b: onGrid(tensor(dt, sb, seed + 1, 2, sp)),
            });
          },
        ),
        { numRuns: 60 },
      );
    });
});

describe('Clip at opsets 7 (attributes), 11 and 13 (inputs, each optional) ≡ onnxruntime-node', () => {
  it('random bounds, either omitted', async () => {
    await fc.assert(
      fc.asyncProperty(
        dims(0, 3),
        fc.nat(),
        special,
        fc.constantFrom(7, 11, 13),
        fc.option(fc.constantFrom(-1.5, -0.5, 0, 0.25), { nil: undefined }),
        fc.option(fc.constantFrom(0, 0.5, 1, 6), { nil: undefined }),
        async (shape, seed, sp, opset, lo, hi) => {
          // Clip-6 refuses min > max (from 11 on, max wins: numpy's order).
          fc.pre(opset > 7 || lo === undefined || hi === undefined || lo <= hi);
          let node: object;
          const inits: Init[] = [];
          if (opset === 7)
            node = {
              opType: 'Clip',
              input: ['x'],
              output: ['y'],
              attribute: [
                ...(lo !== undefined ? [attrFloat('min', lo)] : []),
                ...(hi !== undefined ? [attrFloat('max', hi)] : []),
              ],
            };
          else {
            if (lo !== undefined) inits.push({ name: 'lo', dtype: 'f32', shape: [], v: [lo] });
            if (hi !== undefined) inits.push({ name: 'hi', dtype: 'f32', shape: [], v: [hi] });
            const input = ['x', lo !== undefined ? 'lo' : '', hi !== undefined ? 'hi' : ''];
            while (input[input.length - 1] === '') input.pop();
            node = { opType: 'Clip', input, output: ['y'] };
          }
          const bytes = model(
            opset,
            [f32In('x', shape)],
            [node],
            [{ name: 'y', dtype: 'f32' }],
            inits,
          );
          // NaN inputs: onnxruntime's Clip gives a bound for them (glimpse NaN, as
          // torch.clamp): finite and infinite values only here.
          const x = tensor('f32', shape, seed, 3, sp);
          (x.data as Float32Array).forEach((v, j, d) => (d[j] = Number.isNaN(v) ? 0.75 : v));
          await sameAsOrt(bytes, { x }, false, true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('HardSigmoid, HardSwish ≡ onnxruntime-node', () => {
  it('HardSigmoid with random alpha and beta', async () => {
    await fc.assert(
      fc.asyncProperty(
        dims(0, 3),
        fc.nat(),
        special,
        fc.constantFrom(0.2, 1 / 6, 0.5, -1),
        fc.constantFrom(0.5, 0, 0.25),
        async (shape, seed, sp, alpha, beta) => {
          const node = {
            opType: 'HardSigmoid',
            input: ['x'],
            output: ['y'],
            attribute: [attrFloat('alpha', alpha), attrFloat('beta', beta)],
          };
          const bytes = model(13, [f32In('x', shape)], [node], [{ name: 'y', dtype: 'f32' }]);
          await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 4, sp) }, true);
        },
      ),
      { numRuns: 40 },
    );
  });
  it('HardSwish', async () => {
    await fc.assert(
      fc.asyncProperty(dims(0, 3), fc.nat(), special, async (shape, seed, sp) => {
        const node = { opType: 'HardSwish', input: ['x'], output: ['y'] };
        const bytes = model(14, [f32In('x', shape)], [node], [{ name: 'y', dtype: 'f32' }]);
        await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 4, sp) }, true);
      }),
      { numRuns: 40 },
    );
  });
});

describe('Dropout (inference) at opsets 7, 10, 12, 13 ≡ onnxruntime-node', () => {
  it('the identity, its mask all true', async () => {
    await fc.assert(
      fc.asyncProperty(
        dims(1, 3),
        fc.nat(),
        fc.constantFrom(7, 10, 12, 13),
        fc.boolean(),
        async (shape, seed, opset, mask) => {
          const node = {
            opType: 'Dropout',
            input: ['x'],
            output: mask ? ['y', 'm'] : ['y'],
            ...(opset < 12 ? { attribute: [attrFloat('ratio', 0.3)] } : {}),
          };
          const outs: { name: string; dtype: DType }[] = [{ name: 'y', dtype: 'f32' }];
          // The mask, all true, from opset 12, where ONNX's reference defines it so (before,
          // onnxruntime writes zeros, glimpse ones): asked for, but compared only there.
          if (mask && opset >= 12) outs.push({ name: 'm', dtype: 'bool' });
          const bytes = model(
            opset,
            [f32In('x', shape)],
            [
              { ...node, output: ['t', ...(mask ? ['m'] : [])] },
              { opType: 'Relu', input: ['t'], output: ['y'] },
            ],
            outs,
          );
          await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 2, 0.2) });
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('BatchNormalization (inference) at opsets 9 and 15 ≡ onnxruntime-node', () => {
  it('random [N, C, …] inputs and statistics', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        dims(0, 2),
        fc.nat(),
        fc.constantFrom(9, 15),
        fc.constantFrom(1e-5, 1e-3),
        async (N, C, rest, seed, opset, eps) => {
          const shape = [N, C, ...rest];
          const stat = (name: string, k: number, positive = false) => ({
            name,
            dtype: 'f32' as const,
            shape: [C],
            v: Array.from(tensor('f32', [C], seed + k, 2).data as Float32Array, (v) =>
              positive ? Math.abs(v) + 0.1 : v,
            ),
          });
          const inits = [stat('s', 1), stat('b', 2), stat('mean', 3), stat('var', 4, true)];
          const node = {
            opType: 'BatchNormalization',
            input: ['x', 's', 'b', 'mean', 'var'],
            output: ['y'],
            attribute: [attrFloat('epsilon', eps)],
          };
          const bytes = model(
            opset,
            [f32In('x', shape)],
            [node],
            [{ name: 'y', dtype: 'f32' }],
            inits,
          );
          await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 3, 0.1) }, true);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('opset adapters ≡ onnxruntime-node', () => {
  it('Softmax before opset 13: over the input flattened at axis (default 1)', async () => {
    await fc.assert(
      fc.asyncProperty(
        dims(1, 4).chain((s) =>
          fc.tuple(
            fc.constant(s),
            fc.option(fc.integer({ min: -s.length, max: s.length - 1 }), { nil: undefined }),
          ),
        ),
        fc.nat(),
        fc.constantFrom(9, 11),
        async ([shape, axis], seed, opset) => {
          // The default axis 1 needs rank 2 (onnxruntime refuses it on a vector).
          fc.pre(axis !== undefined || shape.length >= 2);
          const node = {
            opType: 'Softmax',
            input: ['x'],
            output: ['y'],
            attribute: axis === undefined ? [] : [attrInt('axis', axis)],
          };
          const bytes = model(opset, [f32In('x', shape)], [node], [{ name: 'y', dtype: 'f32' }]);
          await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 3) }, true);
        },
      ),
      { numRuns: 40 },
    );
  });
  it('Slice before opset 10: starts, ends, axes as attributes', async () => {
    await fc.assert(
      fc.asyncProperty(
        dims(1, 3).chain((s) =>
          fc.tuple(
            fc.constant(s),
            fc.subarray([...s.keys()], { minLength: 1 }),
            fc.array(fc.tuple(fc.integer({ min: -5, max: 5 }), fc.integer({ min: -5, max: 5 })), {
              minLength: 3,
              maxLength: 3,
            }),
          ),
        ),
        fc.nat(),
        async ([shape, axes, bounds], seed) => {
          const node = {
            opType: 'Slice',
            input: ['x'],
            output: ['y'],
            attribute: [
              attrInts(
                'starts',
                axes.map((_, i) => bounds[i]![0]),
              ),
              attrInts(
                'ends',
                axes.map((_, i) => bounds[i]![1]),
              ),
              attrInts('axes', axes),
            ],
          };
          const bytes = model(9, [f32In('x', shape)], [node], [{ name: 'y', dtype: 'f32' }]);
          await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 2) });
        },
      ),
      { numRuns: 40 },
    );
  });
  it('Pad before opset 11: pads and value as attributes', async () => {
    await fc.assert(
      fc.asyncProperty(
        dims(1, 3).chain((s) =>
          fc.tuple(
            fc.constant(s),
            fc.array(fc.integer({ min: 0, max: 2 }), {
              minLength: 2 * s.length,
              maxLength: 2 * s.length,
            }),
          ),
        ),
        fc.nat(),
        fc.constantFrom('constant', 'edge'),
        async ([shape, pads], seed, mode) => {
          const node = {
            opType: 'Pad',
            input: ['x'],
            output: ['y'],
            attribute: [
              attrInts('pads', pads),
              attrFloat('value', -2.5),
              { name: 'mode', type: 3, s: new TextEncoder().encode(mode) },
            ],
          };
          const bytes = model(7, [f32In('x', shape)], [node], [{ name: 'y', dtype: 'f32' }]);
          await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 2) });
        },
      ),
      { numRuns: 40 },
    );
  });
  it('Squeeze, Unsqueeze, Split, ReduceSum, ReduceMean at opset 11: axes and split as attributes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 2, max: 4 }), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.boolean(),
        async (shape, seed, keep) => {
          const r = shape.length;
          const nodes = [
            {
              opType: 'Unsqueeze',
              input: ['x'],
              output: ['u'],
              attribute: [attrInts('axes', [0, r + 1])],
            },
            { opType: 'Squeeze', input: ['u'], output: ['s'], attribute: [attrInts('axes', [-1])] },
            {
              opType: 'Split',
              input: ['s'],
              output: ['p0', 'p1'],
              attribute: [attrInt('axis', 1), attrInts('split', [1, shape[0]! - 1])],
            },
            {
              opType: 'ReduceSum',
              input: ['p1'],
              output: ['rs'],
              attribute: [attrInts('axes', [-1]), attrInt('keepdims', keep ? 1 : 0)],
            },
            {
              opType: 'ReduceMean',
              input: ['x'],
              output: ['rm'],
              attribute: [attrInts('axes', [0]), attrInt('keepdims', keep ? 1 : 0)],
            },
          ];
          const outs = ['p0', 'rs', 'rm'].map((name) => ({ name, dtype: 'f32' as DType }));
          const bytes = model(11, [f32In('x', shape)], nodes, outs);
          await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 2) }, true);
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('RMSNorm ≡ onnxruntime-node', () => {
  const rmsCase = fc.tuple(
    fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
    fc.nat(),
    fc.constantFrom(1e-6, 1e-5),
  );
  it('RMSNormalization (opset 23), random shapes and last-axis weights', async () => {
    await fc.assert(
      fc.asyncProperty(rmsCase, async ([shape, seed, eps]) => {
        const C = shape[shape.length - 1]!;
        const w: Init = {
          name: 'w',
          dtype: 'f32',
          shape: [C],
          v: Array.from(tensor('f32', [C], seed + 1, 2).data as Float32Array),
        };
        const node = {
          opType: 'RMSNormalization',
          input: ['x', 'w'],
          output: ['y'],
          attribute: [attrFloat('epsilon', eps), attrInt('axis', -1)],
        };
        const bytes = model(23, [f32In('x', shape)], [node], [{ name: 'y', dtype: 'f32' }], [w]);
        await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 3) }, true);
      }),
      { numRuns: 40 },
    );
  });
  it("decomposed as PyTorch exports Llama's RMSNorm (opset 14): fused at -O2, equal either way", async () => {
    await fc.assert(
      fc.asyncProperty(rmsCase, async ([shape, seed, eps]) => {
        // onnxruntime 1.30's own RMSNorm fusion leaves an invalid graph for a rank-1 input
        // ("Node input ... is not a graph input"): rank 2 and up.
        fc.pre(shape.length >= 2);
        const C = shape[shape.length - 1]!;
        const inits: Init[] = [
          {
            name: 'w',
            dtype: 'f32',
            shape: [C],
            v: Array.from(tensor('f32', [C], seed + 1, 2).data as Float32Array),
          },
          { name: 'two', dtype: 'f32', shape: [], v: [2] },
          { name: 'eps', dtype: 'f32', shape: [], v: [eps] },
          { name: 'one', dtype: 'f32', shape: [], v: [1] },
        ];
        const nodes = [
          { opType: 'Pow', input: ['x', 'two'], output: ['sq'] },
          {
            opType: 'ReduceMean',
            input: ['sq'],
            output: ['ms'],
            attribute: [attrInts('axes', [-1]), attrInt('keepdims', 1)],
          },
          { opType: 'Add', input: ['ms', 'eps'], output: ['me'] },
          { opType: 'Sqrt', input: ['me'], output: ['r'] },
          { opType: 'Div', input: ['one', 'r'], output: ['inv'] },
          { opType: 'Mul', input: ['x', 'inv'], output: ['normed'] },
          { opType: 'Mul', input: ['w', 'normed'], output: ['y'] },
        ];
        const bytes = model(14, [f32In('x', shape)], nodes, [{ name: 'y', dtype: 'f32' }], inits);
        await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 3) }, true);
      }),
      { numRuns: 40 },
    );
  });
});

describe('ReduceMin ≡ onnxruntime-node', () => {
  it('random axes (attribute at 13, input at 18), keepdims, values on a grid with ±0 and ±inf', async () => {
    await fc.assert(
      fc.asyncProperty(
        dims(1, 3).chain((s) =>
          fc.tuple(fc.constant(s), fc.subarray([...s.keys()], { minLength: 1 })),
        ),
        fc.nat(),
        special,
        fc.boolean(),
        fc.constantFrom(13, 18),
        async ([shape, axes], seed, sp, keep, opset) => {
          const node = {
            opType: 'ReduceMin',
            input: opset >= 18 ? ['x', 'axes'] : ['x'],
            output: ['y'],
            attribute: [
              attrInt('keepdims', keep ? 1 : 0),
              ...(opset < 18 ? [attrInts('axes', axes)] : []),
            ],
          };
          const inits: Init[] =
            opset >= 18 ? [{ name: 'axes', dtype: 'i64', shape: [axes.length], v: axes }] : [];
          const bytes = model(
            opset,
            [f32In('x', shape)],
            [node],
            [{ name: 'y', dtype: 'f32' }],
            inits,
          );
          // No NaN: glimpse's min is NaN when any element is (as torch.amin and its
          // reduce_max); onnxruntime's skips a NaN or not by where it sits.
          const x = onGrid(tensor('f32', shape, seed, 2, sp));
          (x.data as Float32Array).forEach((v, i, d) => (d[i] = Number.isNaN(v) ? 0.5 : v));
          await sameAsOrt(bytes, { x });
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('ArgMax, ArgMin ≡ onnxruntime-node', () => {
  for (const op of ['ArgMax', 'ArgMin'])
    it(`${op}: random axis, keepdims, select_last_index; ties, ±inf, ±0 on a grid`, async () => {
      await fc.assert(
        fc.asyncProperty(
          dims(1, 4).chain((shape) =>
            fc.record({
              shape: fc.constant(shape),
              axis: fc.integer({ min: -shape.length, max: shape.length - 1 }),
              keepdims: fc.constantFrom(0, 1),
              last: fc.constantFrom(0, 1),
              dtype: fc.constantFrom<'f32' | 'i32'>('f32', 'f32', 'i32'),
            }),
          ),
          fc.nat(),
          special,
          async ({ shape, axis, keepdims, last, dtype }, seed, sp) => {
            const node = {
              opType: op,
              input: ['x'],
              output: ['y'],
              attribute: [
                attrInt('axis', axis),
                attrInt('keepdims', keepdims),
                attrInt('select_last_index', last),
              ],
            };
            const bytes = model(
              13,
              [{ name: 'x', dtype, shape }],
              [node],
              [{ name: 'y', dtype: 'i64' }],
            );
            const x = onGrid(tensor(dtype, shape, seed, 2, sp));
            if (x.data instanceof Int32Array) x.data.forEach((v, i, d) => (d[i] = v % 3));
            // No NaN: onnxruntime's answer there depends on the shape (its inner-axis kernel
            // passes over NaN, its one-dimensional one returns it); glimpse's rule (NaN beats
            // every number, as numpy and PyTorch) is held by the op suites.
            if (x.data instanceof Float32Array)
              x.data.forEach((v, i, d) => (d[i] = Number.isNaN(v) ? 1.5 : v));
            await sameAsOrt(bytes, { x });
          },
        ),
        { numRuns: 60 },
      );
    });
});

describe('CumSum ≡ onnxruntime-node', () => {
  it('random axis (an input), exclusive, reverse; f32 halves (exact sums) with NaN and ±inf, i32', async () => {
    await fc.assert(
      fc.asyncProperty(
        dims(1, 4).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            axis: fc.integer({ min: -shape.length, max: shape.length - 1 }),
            exclusive: fc.constantFrom(0, 1),
            reverse: fc.constantFrom(0, 1),
            dtype: fc.constantFrom<'f32' | 'i32'>('f32', 'i32'),
          }),
        ),
        fc.nat(),
        async ({ shape, axis, exclusive, reverse, dtype }, seed) => {
          const node = {
            opType: 'CumSum',
            input: ['x', 'axis'],
            output: ['y'],
            attribute: [attrInt('exclusive', exclusive), attrInt('reverse', reverse)],
          };
          const bytes = model(
            14,
            [{ name: 'x', dtype, shape }],
            [node],
            [{ name: 'y', dtype }],
            [{ name: 'axis', dtype: 'i64', shape: [], v: [axis] }],
          );
          // Halves sum exactly in f32 and float64 alike; a few non-finite values among them.
          const x = onGrid(tensor(dtype, shape, seed, 2));
          if (x.data instanceof Float32Array)
            x.data.forEach((_, i, d) => {
              if (i % 7 === 3) d[i] = [NaN, Infinity, -Infinity][(seed + i) % 3]!;
            });
          await sameAsOrt(bytes, { x });
        },
      ),
      { numRuns: 60 },
    );
  });
});
