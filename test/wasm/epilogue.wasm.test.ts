/**
 * GEMM epilogues: the only reader of a `linear` output, when it is an elementwise program
 * (an activation, a residual add, a bias-like row, a scalar), is computed on the GEMM's
 * tiles as they finish. The oracle is the same graph with the GEMM's output also a graph
 * output, which keeps the consumer a step of its own: the result must be the same to the
 * bit (the same vector code per lane), special values included, on 1 and 2 threads.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph, GraphBuilder, Tensor } from '@glimpse/ir';
import { buildGraph } from '@glimpse/ir';
import { WasmExecutable } from '@glimpse/backend-wasm';
import { tensor } from '../helpers.js';

type Consumer = 'gelu' | 'relu' | 'tanh' | 'residual' | 'row' | 'scalar' | 'program' | 'square';

function graph(
  M: number,
  K: number,
  N: number,
  consumer: Consumer,
  opts: { keepH?: boolean; weightParam?: boolean; bias?: boolean },
): Graph {
  return buildGraph('epi', (b: GraphBuilder) => {
    const x = b.input('x', 'f32', [M, K]);
    const w = opts.weightParam
      ? b.param('w', 'f32', [N, K], { kind: 'normal', mean: 0, std: 1 })
      : b.input('w', 'f32', [N, K]);
    const bias = opts.bias ? b.input('c', 'f32', [N]) : undefined;
    const h = b.linear(x, w, bias, 'h');
    const r = b.input('r', 'f32', [M, N]);
    const row = b.input('row', 'f32', [1, N]);
    const s = b.input('s', 'f32', [1, 1]);
    const y = (() => {
      switch (consumer) {
        case 'gelu':
        case 'relu':
        case 'tanh':
          return b.op(consumer, [h], {}, 'y');
        case 'residual':
          return b.op('add', [r, h], {}, 'y');
        case 'row':
          return b.op('sub', [h, row], {}, 'y');
        case 'scalar':
          return b.op('div', [s, h], {}, 'y');
        case 'program':
          return b.op(
            'elementwise',
            [h, r],
            { program: ['$0', '$1', 'mul', '$0', 'add', 'gelu'] },
            'y',
          );
        case 'square':
          return b.op('mul', [h, h], {}, 'y');
      }
    })();
    return opts.keepH ? [y, h] : y;
  });
}

const bits = (t: Tensor) => new Uint32Array((t.data as Float32Array).slice().buffer);

describe('wasm GEMM epilogues', () => {
  it('a consumer computed on the GEMM tiles equals the consumer as its own step, bit for bit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          M: fc.integer({ min: 1, max: 80 }),
          K: fc.integer({ min: 1, max: 40 }),
          N: fc.integer({ min: 1, max: 90 }),
          consumer: fc.constantFrom<Consumer>(
            'gelu',
            'relu',
            'tanh',
            'residual',
            'row',
            'scalar',
            'program',
            'square',
          ),
          weightParam: fc.boolean(),
          bias: fc.boolean(),
          special: fc.constantFrom(0, 0.05),
          threads: fc.constantFrom(1, 2),
          seed: fc.nat(1000),
        }),
        async ({ M, K, N, consumer, weightParam, bias, special, threads, seed }) => {
          const inputs: Record<string, Tensor> = {
            x: tensor('f32', [M, K], seed, 1, special),
            w: tensor('f32', [N, K], seed + 1),
            c: tensor('f32', [N], seed + 2, 1, special),
            r: tensor('f32', [M, N], seed + 3, 1, special),
            row: tensor('f32', [1, N], seed + 4),
            s: tensor('f32', [1, 1], seed + 5),
          };
          const g = graph(M, K, N, consumer, { weightParam, bias });
          for (const k of Object.keys(inputs))
            if (!g.inputs.some((i) => i.name === k)) delete inputs[k];
          const fused = new WasmExecutable(g, {
            threads,
          });
          const apart = new WasmExecutable(
            graph(M, K, N, consumer, { weightParam, bias, keepH: true }),
            {
              threads,
            },
          );
          try {
            expect(fused.epilogues).toEqual([['h', 'y']]);
            expect(apart.epilogues).toEqual([]);
            const want = (await apart.run(inputs)).y!;
            const got = (await fused.run(inputs)).y!;
            expect(got.shape).toEqual(want.shape);
            expect(bits(got)).toEqual(bits(want));
          } finally {
            await fused.release();
            await apart.release();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('GEMMs with the same epilogue (one task function between them) each give their own result', async () => {
    const chain = (keep: boolean) =>
      buildGraph('chain', (b) => {
        const h1 = b.linear(
          b.input('x', 'f32', [37, 20]),
          b.input('w1', 'f32', [30, 20]),
          undefined,
          'h1',
        );
        const y1 = b.op('gelu', [h1], {}, 'y1');
        const h2 = b.linear(y1, b.input('w2', 'f32', [19, 30]), undefined, 'h2');
        const y = b.op('gelu', [h2], {}, 'y');
        return keep ? [y, h1, h2] : y;
      });
    const x = {
      x: tensor('f32', [37, 20], 1, 1, 0.05),
      w1: tensor('f32', [30, 20], 2),
      w2: tensor('f32', [19, 30], 3),
    };
    const fused = new WasmExecutable(chain(false), { threads: 2 });
    const apart = new WasmExecutable(chain(true), { threads: 2 });
    try {
      expect(fused.epilogues).toEqual([
        ['h1', 'y1'],
        ['h2', 'y'],
      ]);
      expect(bits((await fused.run(x)).y!)).toEqual(bits((await apart.run(x)).y!));
    } finally {
      await fused.release();
      await apart.release();
    }
  });

  it('declines a consumer whose other operand is computed after the GEMM, or that is not a program', async () => {
    const late = buildGraph('late', (b) => {
      const x = b.input('x', 'f32', [5, 6]);
      const h = b.linear(x, b.input('w', 'f32', [7, 6]), undefined, 'h');
      const e = b.op('exp', [b.input('r', 'f32', [5, 7])], {}, 'e');
      return b.op('add', [h, e], {}, 'y');
    });
    const soft = buildGraph('soft', (b) => {
      const h = b.linear(b.input('x', 'f32', [5, 6]), b.input('w', 'f32', [7, 6]), undefined, 'h');
      return b.op('softmax', [h], { axis: -1 }, 'y');
    });
    const view = buildGraph('view', (b) => {
      const h = b.linear(b.input('x', 'f32', [4, 6]), b.input('w', 'f32', [8, 6]), undefined, 'h');
      return b.op('gelu', [b.reshape(h, [8, 4])], {}, 'y');
    });
    for (const g of [late, soft, view]) {
      const exe = new WasmExecutable(g, { threads: 1 });
      expect(exe.epilogues, g.name).toEqual([]);
    }
  });
});
