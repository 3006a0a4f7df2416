/**
 * Weights the executable holds and one-row products. A `bmm` by a rank-2 param (an ONNX
 * MatMul by an initializer), like `linear`'s weight, is packed once at compile time; a
 * block of one row (a decoding step's every projection) runs four full panels at a time on
 * the row kernel, the rest on the usual one. Neither may change a bit: the oracle for the
 * packing is the same graph with the weight as a run-time input (packed on every run), and
 * for the row kernel the same product with a second row appended (a block of two rows takes
 * the usual kernel, whose sums run over k in the same order). Depths past the kernel's depth
 * block (256) and widths with and without a partial panel; special values; 1 and 2 threads.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph, Tensor } from '@glimpse/ir';
import { buildGraph, paramTensor } from '@glimpse/ir';
import { WasmExecutable } from '@glimpse/backend-wasm';
import { tensor } from '../helpers.js';

const RUNS = 60;

interface Case {
  op: 'bmm' | 'linear';
  M: number;
  K: number;
  N: number;
  transposeB: boolean;
}

/** The weight's shape: linear's [N, K]; bmm's [K, N], or [N, K] read transposed. */
const weightShape = (c: Case) => (c.op === 'linear' || c.transposeB ? [c.N, c.K] : [c.K, c.N]);

function graph(c: Case, weightParam: boolean): Graph {
  return buildGraph('gemv', (b) => {
    const x = b.input('x', 'f32', [1, c.M, c.K]);
    const w = weightParam
      ? b.param('w', 'f32', weightShape(c), { kind: 'normal', mean: 0, std: 1 })
      : b.input('w', 'f32', weightShape(c));
    return c.op === 'linear'
      ? b.op('linear', [x, w], {}, 'y')
      : b.bmm(x, w, { transpose_b: c.transposeB }, 'y');
  });
}

async function run(g: Graph, inputs: Record<string, Tensor>, threads: number): Promise<Tensor> {
  const exe = new WasmExecutable(g, { threads });
  try {
    return (await exe.run(inputs)).y!;
  } finally {
    await exe.release();
  }
}

const bits = (t: Tensor) => new Uint32Array((t.data as Float32Array).slice().buffer);

const cases = fc.record({
  op: fc.constantFrom<'bmm' | 'linear'>('bmm', 'bmm', 'linear'),
  M: fc.constantFrom(1, 1, 2, 7),
  K: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 250, max: 600 })),
  // Four full panels are 32 columns: below, at and past it, with and without a tail.
  N: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(32, 64, 96, 100, 136)),
  transposeB: fc.boolean(),
  seed: fc.nat(),
  special: fc.constantFrom(0, 0, 0.05),
  threads: fc.constantFrom(1, 2),
});

describe('wasm: weights packed at compile time, one-row products', () => {
  it('a param weight gives the bits of the same weight given at run time', async () => {
    await fc.assert(
      fc.asyncProperty(cases, async ({ seed, special, threads, ...c }) => {
        const held = graph(c, true);
        const w = paramTensor(held.params[0]!, held.seed);
        const x = tensor('f32', [1, c.M, c.K], seed, 2, special);
        const [a, b] = [
          await run(held, { x }, threads),
          await run(graph(c, false), { x, w }, threads),
        ];
        expect(bits(a)).toEqual(bits(b));
      }),
      { numRuns: RUNS },
    );
  });
  it('one row gives the bits of the same row in a block of two', async () => {
    await fc.assert(
      fc.asyncProperty(cases, async ({ seed, special, threads, ...c }) => {
        const one = { ...c, M: 1 };
        const x = tensor('f32', [1, 1, c.K], seed, 2, special);
        const second = tensor('f32', [1, 1, c.K], seed + 1, 2, special);
        const both: Tensor = {
          dtype: 'f32',
          shape: [1, 2, c.K],
          data: Float32Array.from([...(x.data as Float32Array), ...(second.data as Float32Array)]),
        };
        const w = tensor('f32', weightShape(one), seed + 2, 2, special);
        const row = await run(graph(one, false), { x, w }, threads);
        const block = await run(graph({ ...one, M: 2 }, false), { x: both, w }, threads);
        expect(row.shape).toEqual([1, 1, c.N]);
        expect(bits(row)).toEqual(bits(block).slice(0, c.N));
      }),
      { numRuns: RUNS },
    );
  });
});
