/**
 * ONNX's indexing and control ops against onnxruntime-node: GatherElements (the glimpse op
 * gather_elements), GatherND, ScatterND and Tile (exact lowerings onto moves), Mod (the
 * glimpse ops mod and fmod) and If (a folded condition inlines its branch, a run-time one
 * picks with where). Outputs must be equal exactly on the reference, JS and wasm; bad
 * indices and unsupported forms fail in one line.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DType, Tensor } from '@glimpse/ir';
import { fromNumbers, interpret } from '@glimpse/ir';
import { importOnnx, onnx } from '@glimpse/onnx';
import { compile } from 'glimpse';
import { asRef, tensor } from '../helpers.js';
import { runOrt } from './ort.js';

const ELEM = { f32: 1, i64: 7, i32: 6, bool: 9 } as const;
type Io = { name: string; dtype: keyof typeof ELEM; shape: number[] };
type Init = { name: string; dtype: 'i64' | 'bool'; shape: number[]; v: number[] };

function model(
  ins: Io[],
  nodes: object[],
  inits: Init[] = [],
  out: keyof typeof ELEM = 'f32',
): Uint8Array {
  const vi = (i: Io) => ({
    name: i.name,
    type: {
      tensorType: {
        elemType: ELEM[i.dtype],
        shape: { dim: i.shape.map((d) => ({ dimValue: d })) },
      },
    },
  });
  return onnx.ModelProto.encode({
    irVersion: 9,
    opsetImport: [{ domain: '', version: 18 }],
    graph: {
      name: 'op',
      input: ins.map(vi),
      output: [{ name: 'Y', type: { tensorType: { elemType: ELEM[out] } } }],
      node: nodes,
      initializer: inits.map((t) => ({
        name: t.name,
        dataType: ELEM[t.dtype],
        dims: t.shape,
        ...(t.dtype === 'i64' ? { int64Data: t.v } : { int32Data: t.v }),
      })),
    },
  }).finish();
}

const ints = (dtype: DType, shape: number[], v: number[]): Tensor =>
  dtype === 'i64'
    ? { dtype, shape, data: BigInt64Array.from(v.map(BigInt)) }
    : fromNumbers(dtype, shape, v);

/** glimpse (reference, JS, wasm at -O2) ≡ onnxruntime, exactly. */
async function sameAsOrt(bytes: Uint8Array, inputs: Record<string, Tensor>) {
  const g = importOnnx(bytes, { file: 'op.onnx' });
  const want = await runOrt(bytes, g, inputs);
  for (const o of g.outputs) {
    const w = asRef(want[o]!);
    const ref = interpret(g, inputs)[o]!;
    expect(ref.shape, 'shape').toEqual(w.shape);
    expect(Array.from(ref.data), 'reference').toEqual(Array.from(w.data));
    for (const backend of ['js', 'wasm'] as const) {
      const got = (await (await compile(g, { backend, level: 2 })).run(inputs))[o]!;
      expect(Array.from(asRef(got).data), backend).toEqual(Array.from(w.data));
    }
  }
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 });

describe('indexing ops ≡ onnxruntime-node', () => {
  it('GatherElements: any axis, negative indices, indices shorter than x', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb, fc.nat(), fc.nat(), async (xs, a, s) => {
        const ax = (a % (2 * xs.length)) - xs.length;
        const axis = ax < 0 ? ax + xs.length : ax;
        const is = xs.map((d, i) => (i === axis ? 1 + ((s + i) % 4) : 1 + ((s + i) % d)));
        const n = xs[axis]!;
        const k = is.reduce((p, d) => p * d, 1);
        const bytes = model(
          [
            { name: 'X', dtype: 'f32', shape: xs },
            { name: 'I', dtype: 'i64', shape: is },
          ],
          [
            {
              opType: 'GatherElements',
              input: ['X', 'I'],
              output: ['Y'],
              attribute: [{ name: 'axis', type: 2, i: ax }],
            },
          ],
        );
        const iv = Array.from({ length: k }, (_, i) => ((i * 7 + s) % (2 * n)) - n);
        await sameAsOrt(bytes, { X: tensor('f32', xs, s, 2, 0.2), I: ints('i64', is, iv) });
      }),
      { numRuns: 40 },
    );
  });

  it('GatherND: computed indices, batch_dims 0 and 1, negative indices', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 4 }),
        fc.nat(),
        fc.boolean(),
        async (ds, s, batched) => {
          const b = batched ? 1 : 0;
          const k = 1 + (s % (ds.length - b));
          const m = 1 + (s % 3);
          const is = [...ds.slice(0, b), m, k];
          const iv = Array.from({ length: is.reduce((p, d) => p * d, 1) }, (_, i) => {
            const d = ds[b + (i % k)]!;
            return ((i * 5 + s) % (2 * d)) - d;
          });
          const bytes = model(
            [
              { name: 'X', dtype: 'f32', shape: ds },
              { name: 'I', dtype: 'i64', shape: is },
            ],
            [
              {
                opType: 'GatherND',
                input: ['X', 'I'],
                output: ['Y'],
                attribute: [{ name: 'batch_dims', type: 2, i: b }],
              },
            ],
          );
          await sameAsOrt(bytes, { X: tensor('f32', ds, s, 2, 0.2), I: ints('i64', is, iv) });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('ScatterND: constant indices into computed data with computed updates', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb, fc.nat(), async (ds, s) => {
        const k = 1 + (s % ds.length);
        const P = ds.slice(0, k).reduce((p, d) => p * d, 1);
        // Distinct rows (ONNX requires it), some negative.
        const rows = Array.from({ length: P }, (_, i) => i).filter((i) => (i + s) % 3 !== 0);
        const iv = rows.flatMap((r) => {
          const c: number[] = [];
          let q = r;
          for (let j = k - 1; j >= 0; j--) {
            c.unshift((q % ds[j]!) - (j % 2 ? ds[j]! : 0));
            q = Math.floor(q / ds[j]!);
          }
          return c;
        });
        const us = [rows.length, ...ds.slice(k)];
        const bytes = model(
          [
            { name: 'X', dtype: 'f32', shape: ds },
            { name: 'U', dtype: 'f32', shape: us },
          ],
          [{ opType: 'ScatterND', input: ['X', 'I', 'U'], output: ['Y'] }],
          [{ name: 'I', dtype: 'i64', shape: [rows.length, k], v: iv }],
        );
        await sameAsOrt(bytes, { X: tensor('f32', ds, s, 2, 0.2), U: tensor('f32', us, s + 1, 2) });
      }),
      { numRuns: 40 },
    );
  });

  it('Tile: constant repeats (1 keeps the axis)', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb, fc.nat(), async (xs, s) => {
        const r = xs.map((_, i) => 1 + ((s >> i) % 3));
        const bytes = model(
          [{ name: 'X', dtype: 'f32', shape: xs }],
          [{ opType: 'Tile', input: ['X', 'R'], output: ['Y'] }],
          [{ name: 'R', dtype: 'i64', shape: [r.length], v: r }],
        );
        await sameAsOrt(bytes, { X: tensor('f32', xs, s, 2, 0.2) });
      }),
      { numRuns: 30 },
    );
  });

  it('Mod: fmod=1 on floats with special values, fmod=0 and 1 on integers', async () => {
    const a = [5.5, -5.5, 0, -0, 7, -7, 1e-3, Infinity, -Infinity, NaN, 3, 1e30, -2.5];
    const b = [2, 2, 3, -3, -2.5, 0.75, 1e-4, 2, 1, 2, Infinity, 7, -Infinity];
    const f = (fmod: number, dtype: 'f32' | 'i64') =>
      model(
        [
          { name: 'A', dtype, shape: [a.length] },
          { name: 'B', dtype, shape: [a.length] },
        ],
        [
          {
            opType: 'Mod',
            input: ['A', 'B'],
            output: ['Y'],
            attribute: [{ name: 'fmod', type: 2, i: fmod }],
          },
        ],
        [],
        dtype,
      );
    await sameAsOrt(f(1, 'f32'), {
      A: fromNumbers('f32', [a.length], a),
      B: fromNumbers('f32', [b.length], b),
    });
    const ia = [7, -7, 7, -7, 0, 13, -13, 2147483647, -2147483648, 5, -5, 9, 1];
    const ib = [3, 3, -3, -3, 5, 4, -4, 10, 10, -5, 1, -2, 1];
    for (const fmod of [0, 1])
      await sameAsOrt(f(fmod, 'i64'), { A: ints('i64', [13], ia), B: ints('i64', [13], ib) });
  });

  it('Mod inside a fused elementwise program (fmod=1 after an Add)', async () => {
    // Sums exact in f32: the reference adds in float64, onnxruntime in f32.
    const a = [5.5, -5.5, 0, -0, 7, 0.75, Infinity, NaN, 3, 1e30, -2.5, 1];
    const b = [2, 2, 3, -3, -2.5, 0.125, 2, 2, Infinity, 2 ** 80, -Infinity, 0];
    const io = (name: string) => ({ name, dtype: 'f32' as const, shape: [a.length] });
    const bytes = model(
      [io('A'), io('B')],
      [
        { opType: 'Add', input: ['A', 'B'], output: ['S'] },
        {
          opType: 'Mod',
          input: ['S', 'B'],
          output: ['Y'],
          attribute: [{ name: 'fmod', type: 2, i: 1 }],
        },
      ],
    );
    const g = importOnnx(bytes);
    const exe = await compile(g, { backend: 'wasm', level: 2 });
    expect(exe.graph.nodes.map((n) => n.op)).toContain('elementwise');
    await sameAsOrt(bytes, {
      A: fromNumbers('f32', [a.length], a),
      B: fromNumbers('f32', [b.length], b),
    });
  });
});

/** If on outer X: then X + X, else X · X. */
function ifModel(cond: 'input' | boolean, elseShape?: number[]): Uint8Array {
  const branch = (name: string, op: string) => ({
    name,
    node: [{ opType: op, input: ['X', 'X'], output: [`${name}_y`] }],
    output: [{ name: `${name}_y`, type: { tensorType: { elemType: 1 } } }],
  });
  const other = elseShape
    ? {
        name: 'else',
        node: [{ opType: 'Tile', input: ['X', 'R'], output: ['else_y'] }],
        initializer: [{ name: 'R', dataType: 7, dims: [1], int64Data: [2] }],
        output: [{ name: 'else_y', type: { tensorType: { elemType: 1 } } }],
      }
    : branch('else', 'Mul');
  return model(
    [
      { name: 'X', dtype: 'f32', shape: [3] },
      ...(cond === 'input' ? [{ name: 'C', dtype: 'bool' as const, shape: [] }] : []),
    ],
    [
      {
        opType: 'If',
        input: ['C'],
        output: ['Y'],
        attribute: [
          { name: 'then_branch', type: 5, g: branch('then', 'Add') },
          { name: 'else_branch', type: 5, g: other },
        ],
      },
    ],
    cond === 'input' ? [] : [{ name: 'C', dtype: 'bool', shape: [], v: [cond ? 1 : 0] }],
  );
}

describe('If', () => {
  const X = fromNumbers('f32', [3], [1.5, -2, 3]);
  it('a constant condition inlines its branch', async () => {
    for (const c of [true, false]) {
      const g = importOnnx(ifModel(c));
      // The branch's op alone (and the free view naming the output Y).
      expect(g.nodes.map((n) => n.op).filter((o) => o !== 'reshape')).toEqual([c ? 'add' : 'mul']);
      await sameAsOrt(ifModel(c), { X });
    }
  });
  it('a condition computed at run time picks with where', async () => {
    for (const c of [1, 0])
      await sameAsOrt(ifModel('input'), { X, C: fromNumbers('bool', [], [c]) });
  });
  it('branches of different types with a run-time condition are refused in one line', () => {
    expect(() => importOnnx(ifModel('input', [6]), { file: 'if.onnx' })).toThrow(
      /If with a condition computed at run time is not supported where the branches' outputs differ in type \(output 0: f32\[3\] and f32\[6\]\)/,
    );
  });
});

describe('indexing errors', () => {
  const ge = model(
    [
      { name: 'X', dtype: 'f32', shape: [2, 3] },
      { name: 'I', dtype: 'i64', shape: [2, 2] },
    ],
    [
      {
        opType: 'GatherElements',
        input: ['X', 'I'],
        output: ['Y'],
        attribute: [{ name: 'axis', type: 2, i: 1 }],
      },
    ],
  );
  it('an index out of range is a run-time error naming the op, on every backend', async () => {
    const g = importOnnx(ge);
    const inputs = { X: tensor('f32', [2, 3], 1), I: ints('i64', [2, 2], [0, 1, 3, 0]) };
    expect(() => interpret(g, inputs)).toThrow(
      /gather_elements index 3 out of range \[-3, 3\) at position 2/,
    );
    for (const backend of ['js', 'wasm'] as const)
      await expect((await compile(g, { backend })).run(inputs)).rejects.toThrow(
        /gather_elements index 3 out of range \[-3, 3\) at position 2/,
      );
  });
  it('indices longer than x off the axis, or of another rank, are refused at import', () => {
    const bad = (is: number[]) =>
      model(
        [
          { name: 'X', dtype: 'f32', shape: [2, 3] },
          { name: 'I', dtype: 'i64', shape: is },
        ],
        [
          {
            opType: 'GatherElements',
            input: ['X', 'I'],
            output: ['Y'],
            attribute: [{ name: 'axis', type: 2, i: 1 }],
          },
        ],
      );
    expect(() => importOnnx(bad([3, 1]))).toThrow(/indices dim 0 \(3\) does not fit x's \(2\)/);
    expect(() => importOnnx(bad([2]))).toThrow(/indices must have the rank of x/);
    const axis3 = model(
      [
        { name: 'X', dtype: 'f32', shape: [2, 3] },
        { name: 'I', dtype: 'i64', shape: [2, 3] },
      ],
      [
        {
          opType: 'GatherElements',
          input: ['X', 'I'],
          output: ['Y'],
          attribute: [{ name: 'axis', type: 2, i: 2 }],
        },
      ],
    );
    expect(() => importOnnx(axis3)).toThrow(/axis 2 out of range for rank 2/);
  });
  it('a GatherND index out of range is the gather run-time error', async () => {
    const g = importOnnx(
      model(
        [
          { name: 'X', dtype: 'f32', shape: [2, 3] },
          { name: 'I', dtype: 'i64', shape: [1, 2] },
        ],
        [{ opType: 'GatherND', input: ['X', 'I'], output: ['Y'] }],
      ),
    );
    const inputs = { X: tensor('f32', [2, 3], 1), I: ints('i64', [1, 2], [1, 3]) };
    for (const backend of ['js', 'wasm'] as const)
      await expect((await compile(g, { backend })).run(inputs)).rejects.toThrow(
        /index 3 out of range \[-3, 3\)/,
      );
  });
  it('ScatterND with computed indices and Tile with computed repeats are refused in one line', () => {
    const sc = model(
      [
        { name: 'X', dtype: 'f32', shape: [4] },
        { name: 'I', dtype: 'i64', shape: [1, 1] },
        { name: 'U', dtype: 'f32', shape: [1] },
      ],
      [{ opType: 'ScatterND', input: ['X', 'I', 'U'], output: ['Y'] }],
    );
    expect(() => importOnnx(sc)).toThrow(
      /ScatterND with computed \(non-constant\) indices is not supported/,
    );
    const tl = model(
      [
        { name: 'X', dtype: 'f32', shape: [4] },
        { name: 'R', dtype: 'i64', shape: [1] },
      ],
      [{ opType: 'Tile', input: ['X', 'R'], output: ['Y'] }],
    );
    expect(() => importOnnx(tl)).toThrow(
      /Tile with computed \(non-constant\) repeats is not supported/,
    );
    // Given at import (as ONNX's node tests feed them, or glimpse run --inputs), they fold.
    const R = ints('i64', [1], [2]);
    const g = importOnnx(tl, { constants: (n) => (n === 'R' ? R : undefined) });
    expect(g.inputs.map((i) => i.name)).toEqual(['X']);
    expect(g.typeOf(g.outputs[0]!).shape).toEqual([8]);
  });
  it('a constant ScatterND index out of range is refused at import', () => {
    const sc = model(
      [
        { name: 'X', dtype: 'f32', shape: [4] },
        { name: 'U', dtype: 'f32', shape: [1] },
      ],
      [{ opType: 'ScatterND', input: ['X', 'I', 'U'], output: ['Y'] }],
      [{ name: 'I', dtype: 'i64', shape: [1, 1], v: [4] }],
    );
    expect(() => importOnnx(sc)).toThrow(/index 4 out of range \[-4, 4\)/);
  });
});
