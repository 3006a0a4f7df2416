/**
 * ONNX import under structure-aware fuzzing: small valid models (test/onnx/ort-model.ts),
 * decoded, mutated where models go wrong — an attribute's type or value, a dim, a
 * duplicated initializer / input / attribute / opset import, a node input added or
 * dropped, the encoded bytes truncated — and imported. Every outcome is a typed
 * GlimpseError or a model that runs; and a model glimpse runs, onnxruntime must run too, to
 * the same answer: glimpse never answers (exit 0) where onnxruntime finds the file malformed,
 * and never answers differently.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@glimpse/ir';
import { GlimpseError, numel } from '@glimpse/ir';
import { importOnnx, onnx } from '@glimpse/onnx';
import { compile } from 'glimpse';
import { asRef, assertClose, tensor } from '../helpers.js';
import { runOrt } from './ort.js';
import { attrInt, attrInts, model } from './ort-model.js';

const x = (shape: number[]) => ({ name: 'x', dtype: 'f32' as const, shape });
const y = [{ name: 'y', dtype: 'f32' as const }];
/** The valid models the mutations start from: each op with attributes a mutation can spoil. */
const SEEDS: Uint8Array[] = [
  model(
    17,
    [x([2, 3])],
    [{ opType: 'Softmax', input: ['x'], output: ['y'], attribute: [attrInt('axis', -1)] }],
    y,
  ),
  model(
    17,
    [x([2, 3])],
    [
      {
        opType: 'ReduceMean',
        input: ['x'],
        output: ['y'],
        attribute: [attrInts('axes', [1]), attrInt('keepdims', 0)],
      },
    ],
    y,
  ),
  model(
    17,
    [x([2, 3, 4])],
    [
      {
        opType: 'Transpose',
        input: ['x'],
        output: ['y'],
        attribute: [attrInts('perm', [2, 0, 1])],
      },
    ],
    y,
  ),
  model(
    17,
    [x([2, 3])],
    [
      { opType: 'MatMul', input: ['x', 'w'], output: ['m'] },
      { opType: 'Add', input: ['m', 'b'], output: ['y'] },
    ],
    y,
    [
      { name: 'w', dtype: 'f32', shape: [3, 2], v: [1, 2, 3, 4, 5, 6] },
      { name: 'b', dtype: 'f32', shape: [2], v: [0.5, -1] },
    ],
  ),
  model(
    17,
    [x([2, 3])],
    [{ opType: 'Gather', input: ['x', 'i'], output: ['y'], attribute: [attrInt('axis', 1)] }],
    y,
    [{ name: 'i', dtype: 'i64', shape: [2], v: [2, 0] }],
  ),
  model(
    17,
    [x([2, 3])],
    [{ opType: 'Concat', input: ['x', 'x'], output: ['y'], attribute: [attrInt('axis', 0)] }],
    y,
  ),
  model(17, [x([2, 3])], [{ opType: 'Reshape', input: ['x', 's'], output: ['y'] }], y, [
    { name: 's', dtype: 'i64', shape: [2], v: [3, -1] },
  ]),
  model(
    17,
    [x([1, 2, 4])],
    [
      {
        opType: 'LayerNormalization',
        input: ['x', 'g'],
        output: ['y'],
        attribute: [attrInt('axis', -1)],
      },
    ],
    y,
    [{ name: 'g', dtype: 'f32', shape: [4], v: [1, 2, 0.5, -1] }],
  ),
];

type Model = onnx.ModelProto;
type Mutation = (m: Model, r: () => number) => void;
const pick = <T>(xs: readonly T[], r: () => number): T => xs[Math.floor(r() * xs.length)]!;
const NUMBERS = [0, 1, -1, 2, 3, -2, 7, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, 65536];

/** Structural mutations, each where real files have been found wrong. */
const MUTATIONS: Record<string, Mutation> = {
  'attribute type': (m, r) => {
    const a = pick(
      m.graph!.node!.flatMap((n) => n.attribute ?? []),
      r,
    );
    if (!a) return;
    const t = pick([1, 2, 3, 6, 7], r); // FLOAT, INT, STRING, FLOATS, INTS
    Object.assign(a, {
      type: t,
      f: 0.5,
      i: 1,
      s: new TextEncoder().encode('1'),
      floats: [1],
      ints: [1],
    });
  },
  'attribute value': (m, r) => {
    const a = pick(
      m.graph!.node!.flatMap((n) => n.attribute ?? []),
      r,
    );
    if (!a) return;
    if (a.ints?.length) a.ints = a.ints.map(() => pick(NUMBERS, r));
    else a.i = pick(NUMBERS, r);
  },
  dim: (m, r) => {
    const dims = m.graph!.input!.flatMap((i) => i.type?.tensorType?.shape?.dim ?? []);
    const d = pick(dims, r);
    if (d) d.dimValue = pick(NUMBERS, r);
  },
  'initializer dims': (m, r) => {
    const t = pick(m.graph!.initializer ?? [], r);
    if (t) t.dims = t.dims!.map(() => pick(NUMBERS.slice(0, 7), r));
  },
  'duplicate initializer': (m, r) => {
    const t = pick(m.graph!.initializer ?? [], r);
    if (t)
      m.graph!.initializer!.push(
        onnx.TensorProto.fromObject({
          ...onnx.TensorProto.toObject(t),
          floatData: [9],
          int64Data: [1],
        }),
      );
  },
  'duplicate input': (m) => {
    m.graph!.input!.push(m.graph!.input![0]!);
  },
  'duplicate attribute': (m, r) => {
    const n = pick(
      m.graph!.node!.filter((k) => k.attribute?.length),
      r,
    );
    if (n)
      n.attribute!.push(
        onnx.AttributeProto.fromObject({
          ...onnx.AttributeProto.toObject(n.attribute![0]!),
          i: 0,
          ints: [0],
        }),
      );
  },
  'duplicate opset': (m) => {
    m.opsetImport!.push(onnx.OperatorSetIdProto.fromObject({ domain: '', version: 13 }));
  },
  'extra input': (m, r) => {
    pick(m.graph!.node!, r).input!.push('x');
  },
  'dropped input': (m, r) => {
    pick(m.graph!.node!, r).input!.pop();
  },
};

/** The model's bytes after one mutation (or, for 'bytes', truncated). */
function mutated(seed: number, kind: string, rs: number[]): Uint8Array {
  let k = 0;
  const r = () => rs[k++ % rs.length]!;
  const bytes = SEEDS[seed]!;
  if (kind === 'bytes') {
    // Truncated only: a flipped bit that turns a field's wire type (varint ↔ fixed64) is
    // decoded leniently by protobufjs — a known gap, not yet refused.
    return bytes.slice(0, Math.floor(r() * bytes.length));
  }
  const m = onnx.ModelProto.decode(bytes);
  MUTATIONS[kind]!(m, r);
  return onnx.ModelProto.encode(m).finish();
}

/** onnxruntime's outputs, or undefined when it refuses the model or its run. */
async function ortOrRefusal(
  bytes: Uint8Array,
  g: ReturnType<typeof importOnnx>,
  inputs: Record<string, Tensor>,
) {
  try {
    return await runOrt(bytes, g, inputs);
  } catch {
    return undefined;
  }
}

describe('ONNX import under structure-aware fuzzing', () => {
  it('a typed error, or the answer onnxruntime gives', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(SEEDS.length - 1),
        fc.constantFrom(...Object.keys(MUTATIONS), 'bytes'),
        fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 8, maxLength: 8 }),
        async (seed, kind, rs) => {
          const bytes = mutated(seed, kind, rs);
          let g: ReturnType<typeof importOnnx>;
          try {
            g = importOnnx(bytes, { file: 'fuzz.onnx' });
          } catch (e) {
            if (e instanceof GlimpseError) return;
            throw new Error(`${kind}: untyped ${(e as Error).name}: ${(e as Error).message}`);
          }
          if (g.inputs.some((i) => numel(i.type.shape as number[]) > 1e5)) return;
          const inputs = Object.fromEntries(
            g.inputs.map((i, k) => [i.name, tensor(i.type.dtype, i.type.shape as number[], k + 1)]),
          );
          let got: Record<string, Tensor>;
          try {
            got = await (await compile(g, { backend: 'js', level: 2 })).run(inputs);
          } catch (e) {
            if (e instanceof GlimpseError) return;
            throw new Error(`${kind}: untyped ${(e as Error).name}: ${(e as Error).message}`);
          }
          const want = await ortOrRefusal(bytes, g, inputs);
          expect(
            want,
            `${kind} on seed ${seed}: glimpse ran a model onnxruntime refuses`,
          ).toBeDefined();
          for (const o of g.outputs)
            assertClose(
              got[o]!,
              asRef(want![o]!),
              { rtol: 1e-5, atol: 1e-6 },
              `${kind} on seed ${seed}: %${o}`,
            );
        },
      ),
      // `pnpm fuzz` soaks with more (FUZZ_RUNS).
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
    );
  });
});
