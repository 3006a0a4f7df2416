/**
 * Conv (1-D, 2-D and 3-D; groups, depthwise included; strides, dilations, pads, auto_pad)
 * and InstanceNormalization, which glimpse lowers at import (a gather of each receptive
 * field and a GEMM; layer_norm over the spatial elements), against onnxruntime-node on
 * random configurations: the reference, JS -O0 / -O2 and wasm -O2.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@glimpse/ir';
import { buildGraph, interpret } from '@glimpse/ir';
import { exportOnnx, importOnnx, onnx, tensorToProto } from '@glimpse/onnx';
import { compile } from 'glimpse';
import { cli } from '../cli.js';
import { assertClose, tensor } from '../helpers.js';
import { runOrt } from './ort.js';
import type { Init } from './ort-model.js';
import { attrFloat, attrInt, attrInts, model, sameAsOrt } from './ort-model.js';

const autoPad = (mode: string) => ({
  name: 'auto_pad',
  type: 3,
  s: new TextEncoder().encode(mode),
});

const convCase = fc
  .record({
    r: fc.constantFrom(1, 2, 2, 3),
    N: fc.integer({ min: 1, max: 2 }),
    groups: fc.constantFrom(1, 1, 2, 'depthwise' as const),
    Cg: fc.integer({ min: 1, max: 3 }),
    Mg: fc.integer({ min: 1, max: 3 }),
    pad: fc.constantFrom('explicit', 'NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'),
    bias: fc.boolean(),
    seed: fc.nat(),
  })
  .chain((c) =>
    fc.record({
      c: fc.constant(c),
      S: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: c.r, maxLength: c.r }),
      K: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: c.r, maxLength: c.r }),
      s: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: c.r, maxLength: c.r }),
      d: fc.array(fc.integer({ min: 1, max: 2 }), { minLength: c.r, maxLength: c.r }),
      p: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 2 * c.r, maxLength: 2 * c.r }),
    }),
  );

describe('Conv ≡ onnxruntime-node', () => {
  it('random ranks, groups, kernels, strides, dilations and pads', async () => {
    await fc.assert(
      fc.asyncProperty(convCase, async ({ c, S, K, s, d, p }) => {
        const G = c.groups === 'depthwise' ? 3 : c.groups;
        const [Cg, Mg] = c.groups === 'depthwise' ? [1, 1] : [c.Cg, c.Mg];
        const [C, M] = [G * Cg, G * Mg];
        // auto_pad SAME with dilations is not defined by onnxruntime's CPU kernel.
        const same = c.pad.startsWith('SAME');
        const dil = same ? d.map(() => 1) : d;
        const pads =
          c.pad === 'explicit' ? p.map((v, i) => Math.min(v, K[i % c.r]! - 1)) : undefined;
        // A valid configuration leaves at least one output per axis.
        const span = (i: number) => dil[i]! * (K[i]! - 1) + 1;
        const padded = (i: number) => S[i]! + (pads ? pads[i]! + pads[i + c.r]! : 0);
        fc.pre(same || S.every((_, i) => padded(i) >= span(i)));
        const attribute = [
          attrInts('strides', s),
          ...(same ? [] : [attrInts('dilations', dil)]),
          attrInt('group', G),
          attrInts('kernel_shape', K),
          ...(pads ? [attrInts('pads', pads)] : c.pad === 'explicit' ? [] : [autoPad(c.pad)]),
        ];
        const w: Init = {
          name: 'w',
          dtype: 'f32',
          shape: [M, Cg, ...K],
          v: Array.from(tensor('f32', [M, Cg, ...K], c.seed + 1, 1).data as Float32Array),
        };
        const inits = [w];
        if (c.bias)
          inits.push({
            name: 'b',
            dtype: 'f32',
            shape: [M],
            v: Array.from(tensor('f32', [M], c.seed + 2, 1).data as Float32Array),
          });
        const node = {
          opType: 'Conv',
          input: ['x', 'w', ...(c.bias ? ['b'] : [])],
          output: ['y'],
          attribute,
        };
        const shape = [c.N, C, ...S];
        const bytes = model(
          11,
          [{ name: 'x', dtype: 'f32', shape }],
          [node],
          [{ name: 'y', dtype: 'f32' }],
          inits,
        );
        await sameAsOrt(bytes, { x: tensor('f32', shape, c.seed, 2) }, true);
      }),
      { numRuns: 120 },
    );
  });
  it('a patch embedding (stride = kernel): cut by reshape and transpose, no gather', async () => {
    const K = [4, 4];
    const w: Init = {
      name: 'w',
      dtype: 'f32',
      shape: [8, 3, ...K],
      v: Array.from(tensor('f32', [8, 3, ...K], 5, 1).data as Float32Array),
    };
    const node = {
      opType: 'Conv',
      input: ['x', 'w'],
      output: ['y'],
      attribute: [attrInts('strides', K), attrInts('kernel_shape', K)],
    };
    const bytes = model(
      14,
      [{ name: 'x', dtype: 'f32', shape: [2, 3, 8, 12] }],
      [node],
      [{ name: 'y', dtype: 'f32' }],
      [w],
    );
    await sameAsOrt(bytes, { x: tensor('f32', [2, 3, 8, 12], 9, 2) }, true);
  });
});

describe('InstanceNormalization ≡ onnxruntime-node', () => {
  it('random [N, C, …] inputs, scales, biases and epsilons', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 2 }),
        fc.nat(),
        fc.constantFrom(1e-5, 1e-2),
        async (N, C, S, seed, eps) => {
          const per = (name: string, k: number): Init => ({
            name,
            dtype: 'f32',
            shape: [C],
            v: Array.from(tensor('f32', [C], seed + k, 2).data as Float32Array),
          });
          const node = {
            opType: 'InstanceNormalization',
            input: ['x', 's', 'b'],
            output: ['y'],
            attribute: [attrFloat('epsilon', eps)],
          };
          const shape = [N, C, ...S];
          const bytes = model(
            9,
            [{ name: 'x', dtype: 'f32', shape }],
            [node],
            [{ name: 'y', dtype: 'f32' }],
            [per('s', 1), per('b', 2)],
          );
          // onnxruntime's variance is E[x²] − E[x]², which cancels (one element: its
          // x − mean is 0, but not its variance): the tolerance, 1e-4 + 1e-3·|want|.
          await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 3) }, { rtol: 1e-3, atol: 1e-4 });
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('pools ≡ onnxruntime-node', () => {
  const poolCase = fc
    .record({
      r: fc.constantFrom(1, 2, 2),
      N: fc.integer({ min: 1, max: 2 }),
      C: fc.integer({ min: 1, max: 3 }),
      ceil: fc.boolean(),
      includePad: fc.boolean(),
      pad: fc.constantFrom('explicit', 'NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'),
      seed: fc.nat(),
    })
    .chain((c) =>
      fc.record({
        c: fc.constant(c),
        S: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: c.r, maxLength: c.r }),
        K: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: c.r, maxLength: c.r }),
        s: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: c.r, maxLength: c.r }),
        p: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 2 * c.r, maxLength: 2 * c.r }),
      }),
    );
  for (const op of ['MaxPool', 'AveragePool'])
    it(`${op}: random kernels, strides, pads, auto_pad, ceil_mode${op === 'AveragePool' ? ', count_include_pad' : ''}`, async () => {
      await fc.assert(
        fc.asyncProperty(poolCase, async ({ c, S, K, s, p }) => {
          // Pads smaller than the kernel, as onnxruntime requires.
          const pads =
            c.pad === 'explicit' ? p.map((v, i) => Math.min(v, K[i % c.r]! - 1)) : undefined;
          const padded = (i: number) => S[i]! + (pads ? pads[i]! + pads[i + c.r]! : 0);
          fc.pre(c.pad.startsWith('SAME') || S.every((_, i) => padded(i) >= K[i]!));
          // onnxruntime's pools do not clamp SAME's total pad at 0 (a stride past the kernel
          // is an error there; glimpse pads nothing, as the spec's formula).
          fc.pre(!c.pad.startsWith('SAME') || s.every((v, i) => v <= K[i]!));
          // auto_pad SAME with ceil_mode is not one onnxruntime computes like the spec.
          const ceil = c.ceil && !c.pad.startsWith('SAME');
          const attribute = [
            attrInts('kernel_shape', K),
            attrInts('strides', s),
            attrInt('ceil_mode', ceil ? 1 : 0),
            ...(pads ? [attrInts('pads', pads)] : c.pad === 'explicit' ? [] : [autoPad(c.pad)]),
            ...(op === 'AveragePool' ? [attrInt('count_include_pad', c.includePad ? 1 : 0)] : []),
          ];
          const shape = [c.N, c.C, ...S];
          const node = { opType: op, input: ['x'], output: ['y'], attribute };
          const bytes = model(
            13,
            [{ name: 'x', dtype: 'f32', shape }],
            [node],
            [{ name: 'y', dtype: 'f32' }],
          );
          await sameAsOrt(bytes, { x: tensor('f32', shape, c.seed, 2) }, op === 'AveragePool');
        }),
        { numRuns: 100 },
      );
    });
  for (const op of ['GlobalAveragePool', 'GlobalMaxPool'])
    it(op, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 3, maxLength: 4 }),
          fc.nat(),
          async (shape, seed) => {
            const node = { opType: op, input: ['x'], output: ['y'] };
            const bytes = model(
              13,
              [{ name: 'x', dtype: 'f32', shape }],
              [node],
              [{ name: 'y', dtype: 'f32' }],
            );
            await sameAsOrt(
              bytes,
              { x: tensor('f32', shape, seed, 2) },
              op === 'GlobalAveragePool',
            );
          },
        ),
        { numRuns: 20 },
      );
    });
});

describe('ConvTranspose ≡ onnxruntime-node', () => {
  it('random ranks, kernels, strides, dilations, pads and output_padding', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .record({
            r: fc.constantFrom(1, 2, 2),
            N: fc.integer({ min: 1, max: 2 }),
            C: fc.integer({ min: 1, max: 3 }),
            M: fc.integer({ min: 1, max: 3 }),
            bias: fc.boolean(),
            seed: fc.nat(),
          })
          .chain((c) =>
            fc.record({
              c: fc.constant(c),
              S: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: c.r, maxLength: c.r }),
              K: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: c.r, maxLength: c.r }),
              s: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: c.r, maxLength: c.r }),
              d: fc.array(fc.integer({ min: 1, max: 2 }), { minLength: c.r, maxLength: c.r }),
              p: fc.array(fc.integer({ min: 0, max: 2 }), {
                minLength: 2 * c.r,
                maxLength: 2 * c.r,
              }),
              op: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: c.r, maxLength: c.r }),
            }),
          ),
        async ({ c, S, K, s, d, p, op }) => {
          // output_padding below the stride, as onnxruntime requires.
          const extra = op.map((v, i) => Math.min(v, s[i]! - 1));
          const O = S.map(
            (n, i) => (n - 1) * s[i]! + extra[i]! + d[i]! * (K[i]! - 1) + 1 - p[i]! - p[i + c.r]!,
          );
          fc.pre(O.every((o) => o >= 1));
          const inits: Init[] = [
            {
              name: 'w',
              dtype: 'f32',
              shape: [c.C, c.M, ...K],
              v: Array.from(tensor('f32', [c.C, c.M, ...K], c.seed + 1, 1).data as Float32Array),
            },
          ];
          if (c.bias)
            inits.push({
              name: 'b',
              dtype: 'f32',
              shape: [c.M],
              v: Array.from(tensor('f32', [c.M], c.seed + 2, 1).data as Float32Array),
            });
          const node = {
            opType: 'ConvTranspose',
            input: ['x', 'w', ...(c.bias ? ['b'] : [])],
            output: ['y'],
            attribute: [
              attrInts('strides', s),
              attrInts('dilations', d),
              attrInts('pads', p),
              attrInts('output_padding', extra),
              attrInts('kernel_shape', K),
            ],
          };
          const shape = [c.N, c.C, ...S];
          const bytes = model(
            11,
            [{ name: 'x', dtype: 'f32', shape }],
            [node],
            [{ name: 'y', dtype: 'f32' }],
            inits,
          );
          await sameAsOrt(bytes, { x: tensor('f32', shape, c.seed, 2) }, true);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('Resize (nearest) and Upsample ≡ onnxruntime-node', () => {
  const str = (name: string, v: string) => ({ name, type: 3, s: new TextEncoder().encode(v) });
  it('random scales or sizes, coordinate transforms and rounding modes (opsets 11, 13)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 2, maxLength: 4 }),
        fc.nat(),
        fc.constantFrom('half_pixel', 'asymmetric', 'align_corners', 'pytorch_half_pixel'),
        fc.constantFrom('round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'),
        fc.boolean(),
        fc.array(fc.constantFrom(0.5, 1, 1.5, 2, 3), { minLength: 4, maxLength: 4 }),
        fc.constantFrom(11, 13),
        async (shape, seed, ctm, nearest, bySizes, factors, opset) => {
          const r = shape.length;
          // Batch and channels stay (onnxruntime resizes only the spatial axes in nearest 4-D).
          const scales = shape.map((_, i) => (i < r - 2 ? 1 : factors[i]!));
          const sizes = shape.map((n, i) => Math.max(1, Math.floor(n * scales[i]!)));
          const inits: Init[] = [{ name: 'roi', dtype: 'f32', shape: [0], v: [] }];
          // With sizes, an empty scales (opset 11 requires the input).
          if (bySizes)
            inits.push(
              { name: 'sizes', dtype: 'i64', shape: [r], v: sizes },
              { name: 'scales', dtype: 'f32', shape: [0], v: [] },
            );
          else inits.push({ name: 'scales', dtype: 'f32', shape: [r], v: scales });
          fc.pre(
            bySizes ||
              (sizes.every((m, i) => m === Math.floor(shape[i]! * scales[i]!)) &&
                sizes.every((m) => m > 0)),
          );
          const node = {
            opType: 'Resize',
            input: bySizes ? ['x', 'roi', 'scales', 'sizes'] : ['x', 'roi', 'scales'],
            output: ['y'],
            attribute: [
              str('mode', 'nearest'),
              str('coordinate_transformation_mode', ctm),
              str('nearest_mode', nearest),
            ],
          };
          const bytes = model(
            opset,
            [{ name: 'x', dtype: 'f32', shape }],
            [node],
            [{ name: 'y', dtype: 'f32' }],
            inits,
          );
          await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 2) });
        },
      ),
      { numRuns: 120 },
    );
  });
  it('Upsample (opset 9): integer and fractional scales', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 4, maxLength: 4 }),
        fc.nat(),
        fc.constantFrom(1, 2, 3, 1.5),
        async (shape, seed, k) => {
          const inits: Init[] = [{ name: 'scales', dtype: 'f32', shape: [4], v: [1, 1, k, k] }];
          const node = {
            opType: 'Upsample',
            input: ['x', 'scales'],
            output: ['y'],
            attribute: [str('mode', 'nearest')],
          };
          const bytes = model(
            9,
            [{ name: 'x', dtype: 'f32', shape }],
            [node],
            [{ name: 'y', dtype: 'f32' }],
            inits,
          );
          await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 2) });
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('glimpse run on a conv model with symbolic dims (Paddle-style names)', () => {
  // Conv on x [N, 3, H, W], dims named as Paddle's exporter names them.
  const dims = ['p2o.DynamicDimension.0', 3, 'p2o.DynamicDimension.1', 'p2o.DynamicDimension.2'];
  const w = tensor('f32', [2, 3, 3, 3], 3, 1);
  const bytes = onnx.ModelProto.encode({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 11 }],
    graph: {
      name: 'conv',
      input: [
        {
          name: 'x',
          type: {
            tensorType: {
              elemType: onnx.TensorProto.DataType.FLOAT,
              shape: {
                dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
              },
            },
          },
        },
      ],
      output: [{ name: 'y', type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }],
      node: [
        {
          name: 'c',
          opType: 'Conv',
          input: ['x', 'w'],
          output: ['y'],
          attribute: [attrInts('pads', [1, 1, 1, 1])],
        },
      ],
      initializer: [tensorToProto(w, 'w')],
    },
  }).finish();
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-conv-'));
  const file = join(dir, 'conv.onnx');
  writeFileSync(file, bytes);
  it('--shape fixes the symbols at import; without it, one line naming what to give', async () => {
    const ok = await cli(
      'run',
      file,
      '--shape',
      's_p2o_DynamicDimension_0=2,s_p2o_DynamicDimension_1=5,s_p2o_DynamicDimension_2=7',
    );
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^y: f32\[2,2,5,7\]/m);
    const bad = await cli('run', file);
    expect(bad.code).toBe(2);
    expect(bad.err.trim().split('\n')).toHaveLength(1);
    expect(bad.err).toMatch(
      /node %c \(Conv\): Conv on an input of shape \[s_p2o_DynamicDimension_0,3,s_p2o_DynamicDimension_1,s_p2o_DynamicDimension_2\]: channels and spatial dims must be static .*glimpse run --shape/,
    );
  });
  it('--inputs DIR: the input files size the symbols; --check against onnxruntime passes', async () => {
    const data = join(dir, 'data');
    mkdirSync(data, { recursive: true });
    const x = tensor('f32', [1, 3, 4, 6], 5, 1);
    writeFileSync(
      join(data, 'input_0.pb'),
      onnx.TensorProto.encode(tensorToProto(x, 'x')).finish(),
    );
    const g = importOnnx(bytes, {
      shapes: {
        'p2o.DynamicDimension.0': 1,
        'p2o.DynamicDimension.1': 4,
        'p2o.DynamicDimension.2': 6,
      },
    });
    const y = (await runOrt(bytes, g, { x })).y!;
    writeFileSync(
      join(data, 'output_0.pb'),
      onnx.TensorProto.encode(tensorToProto(y, 'y')).finish(),
    );
    const r = await cli('run', file, '--inputs', data, '--check', data);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^y: f32\[1,2,4,6\]/m);
    expect(r.out).toMatch(/: max abs err .*, ok$/m);
    expect(r.code).toBe(0);
  });
});

describe('depthwise exported to ONNX ≡ glimpse', () => {
  it('random windows (−1 for padding), weights and biases: onnxruntime runs the export equal to the reference', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          N: fc.integer({ min: 1, max: 2 }),
          S: fc.integer({ min: 1, max: 6 }),
          C: fc.integer({ min: 1, max: 8 }),
          P: fc.integer({ min: 1, max: 5 }),
          K: fc.integer({ min: 1, max: 4 }),
          bias: fc.boolean(),
          seed: fc.nat(),
        }),
        async ({ N, S, C, P, K, bias, seed }) => {
          const g = buildGraph('dw', (b) => {
            const ins = [
              b.input('x', 'f32', [N, S, C]),
              b.input('idx', 'i32', [P, K]),
              b.input('w', 'f32', [K, C]),
              ...(bias ? [b.input('b', 'f32', [C])] : []),
            ];
            return b.op('depthwise', ins, {}, 'y');
          });
          const inputs: Record<string, Tensor> = {
            x: tensor('f32', [N, S, C], seed, 2),
            idx: {
              dtype: 'i32',
              shape: [P, K],
              data: Int32Array.from({ length: P * K }, (_, i) => ((i * 3 + seed) % (S + 1)) - 1),
            },
            w: tensor('f32', [K, C], seed + 1, 2),
            ...(bias ? { b: tensor('f32', [C], seed + 2, 2) } : {}),
          };
          const want = interpret(g, inputs).y!;
          const got = (await runOrt(exportOnnx(g), g, inputs)).y!;
          assertClose(got, want, { rtol: 1e-5, atol: 1e-6 }, 'onnxruntime on the export');
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('depthwise: an index outside [−1, S)', () => {
  it('is a RuntimeError naming the node and the position, on js and wasm', async () => {
    const g = buildGraph('dw', (b) =>
      b.op(
        'depthwise',
        [
          b.input('x', 'f32', [1, 3, 4]),
          b.input('idx', 'i32', [2, 2]),
          b.input('w', 'f32', [2, 4]),
        ],
        {},
        'y',
      ),
    );
    const inputs = {
      x: new Float32Array(12),
      idx: Int32Array.from([0, 1, 5, -1]),
      w: new Float32Array(8),
    };
    for (const backend of ['js', 'wasm'] as const)
      await expect((await compile(g, { backend })).run(inputs)).rejects.toThrow(
        /node %y \(depthwise\): depthwise index 5 out of range \[-1, 3\) at position 2/,
      );
  });
});

describe('group norms ≡ onnxruntime-node', () => {
  const gnCase = fc
    .record({
      N: fc.integer({ min: 1, max: 2 }),
      G: fc.integer({ min: 1, max: 3 }),
      per: fc.integer({ min: 1, max: 3 }),
      S: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 2 }),
      seed: fc.nat(),
    })
    .map((c) => ({ ...c, C: c.G * c.per }));
  const vec = (name: string, n: number, seed: number): Init => ({
    name,
    dtype: 'f32',
    shape: [n],
    v: Array.from(tensor('f32', [n], seed, 2).data as Float32Array),
  });
  it('GroupNormalization at opset 18 (per-group affine) and 21 (per-channel)', async () => {
    await fc.assert(
      fc.asyncProperty(gnCase, fc.constantFrom(18, 21), async ({ N, G, C, S, seed }, opset) => {
        const n = opset < 21 ? G : C;
        const node = {
          opType: 'GroupNormalization',
          input: ['x', 's', 'b'],
          output: ['y'],
          attribute: [attrInt('num_groups', G), attrFloat('epsilon', 1e-5)],
        };
        const shape = [N, C, ...S];
        const bytes = model(
          opset,
          [{ name: 'x', dtype: 'f32', shape }],
          [node],
          [{ name: 'y', dtype: 'f32' }],
          [vec('s', n, seed + 1), vec('b', n, seed + 2)],
        );
        // onnxruntime's variance is E[x²] − E[x]² (see InstanceNormalization): the tolerance.
        await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 3) }, { rtol: 1e-3, atol: 1e-4 });
      }),
      { numRuns: 30 },
    );
  });
  it('nn.GroupNorm as PyTorch exports it: Reshape → InstanceNormalization → Reshape → Mul → Add', async () => {
    await fc.assert(
      fc.asyncProperty(gnCase, async ({ N, G, C, S, seed }) => {
        const shape = [N, C, ...S];
        const inits: Init[] = [
          { name: 'gshape', dtype: 'i64', shape: [3], v: [N, G, -1] },
          { name: 'xshape', dtype: 'i64', shape: [shape.length], v: shape },
          { name: 'ones', dtype: 'f32', shape: [G], v: Array(G).fill(1) },
          { name: 'zeros', dtype: 'f32', shape: [G], v: Array(G).fill(0) },
          {
            name: 'gamma',
            dtype: 'f32',
            shape: [C, ...S.map(() => 1)],
            v: Array.from(tensor('f32', [C], seed + 1, 2).data as Float32Array),
          },
          {
            name: 'beta',
            dtype: 'f32',
            shape: [C, ...S.map(() => 1)],
            v: Array.from(tensor('f32', [C], seed + 2, 2).data as Float32Array),
          },
        ];
        const nodes = [
          { opType: 'Reshape', input: ['x', 'gshape'], output: ['g'] },
          {
            opType: 'InstanceNormalization',
            input: ['g', 'ones', 'zeros'],
            output: ['gn'],
            attribute: [attrFloat('epsilon', 1e-5)],
          },
          { opType: 'Reshape', input: ['gn', 'xshape'], output: ['back'] },
          { opType: 'Mul', input: ['back', 'gamma'], output: ['scaled'] },
          { opType: 'Add', input: ['scaled', 'beta'], output: ['y'] },
        ];
        const bytes = model(
          14,
          [{ name: 'x', dtype: 'f32', shape }],
          nodes,
          [{ name: 'y', dtype: 'f32' }],
          inits,
        );
        await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 3) }, { rtol: 1e-3, atol: 1e-4 });
      }),
      { numRuns: 30 },
    );
  });
});

describe('Resize at opset 10 and Upsample at opset 7 ≡ onnxruntime-node', () => {
  const str = (name: string, v: string) => ({ name, type: 3, s: new TextEncoder().encode(v) });
  it('Resize(X, scales) at opset 10 (asymmetric, floor) and Upsample with its scales attribute', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 4, maxLength: 4 }),
        fc.nat(),
        fc.constantFrom(1, 2, 3, 1.5),
        fc.boolean(),
        async (shape, seed, k, upsample) => {
          const scales = [1, 1, k, k];
          const bytes = upsample
            ? model(
                7,
                [{ name: 'x', dtype: 'f32', shape }],
                [
                  {
                    opType: 'Upsample',
                    input: ['x'],
                    output: ['y'],
                    attribute: [
                      str('mode', 'nearest'),
                      { name: 'scales', type: 6, floats: scales },
                    ],
                  },
                ],
                [{ name: 'y', dtype: 'f32' }],
              )
            : model(
                10,
                [{ name: 'x', dtype: 'f32', shape }],
                [
                  {
                    opType: 'Resize',
                    input: ['x', 'scales'],
                    output: ['y'],
                    attribute: [str('mode', 'nearest')],
                  },
                ],
                [{ name: 'y', dtype: 'f32' }],
                [{ name: 'scales', dtype: 'f32', shape: [4], v: scales }],
              );
          await sameAsOrt(bytes, { x: tensor('f32', shape, seed, 2) });
        },
      ),
      { numRuns: 30 },
    );
  });
});
