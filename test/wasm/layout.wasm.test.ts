/**
 * The wasm backend's data movement and reductions on shapes large enough for its vector
 * paths, task splits and 2 threads: transpose, expand, slice, split, concat, gather and
 * embedding equal the float64 reference exactly (every value moves unchanged: NaN, ±inf,
 * −0); reduce_max equals it exactly too (the sign of a zero max included); reduce_sum and
 * reduce_mean are f32 sums within the f32 tolerance. Each case also checks that the step
 * ran the SIMD kernel, not the CPU fallback.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph, Tensor } from '@glimpse/ir';
import { buildGraph, fromNumbers, interpret, toNumbers } from '@glimpse/ir';
import { WasmExecutable } from '@glimpse/backend-wasm';
import { boundedForF32Sums, checkF32Backend } from '../f32-backend.js';
import { assertClose, F32_TOL, tensor } from '../helpers.js';
import { summed } from '../op-cases.js';

const exe = (g: Graph) => new WasmExecutable(g, { threads: 2 });

/** Run on wasm: every output equal to the reference's, value for value (Object.is, NaN = NaN). */
async function expectExact(g: Graph, x: Record<string, Tensor>) {
  const e = exe(g);
  try {
    const got = await e.run(x);
    expect(e.placement().map((p) => p.runs)).not.toContain('cpu');
    const want = interpret(g, x);
    for (const o of g.outputs) {
      expect(got[o]!.shape, o).toEqual([...want[o]!.shape]);
      const a = toNumbers(got[o]!);
      const b = want[o]!.data;
      for (let i = 0; i < a.length; i++)
        if (!(Object.is(a[i], Math.fround(b[i]!)) || (Number.isNaN(a[i]!) && Number.isNaN(b[i]!))))
          expect.fail(`%${o}[${i}]: wasm ${a[i]}, reference ${b[i]}`);
    }
  } finally {
    await e.release();
  }
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 11 }), { minLength: 1, maxLength: 5 });
const seed = fc.nat(1000);
/** A shape, one of its axes, a seed, and what `more` draws for that shape. */
const withAxis = <M extends object>(more: (sh: number[]) => fc.Arbitrary<M>) =>
  shapeArb.chain((sh) =>
    fc
      .tuple(fc.integer({ min: 0, max: sh.length - 1 }), seed, more(sh))
      .map(([ax, s, m]) => ({ sh, ax, s, ...m })),
  );
/** Values with NaN, ±inf, ±0 and subnormals among them. */
const x = (shape: number[], s: number) => tensor('f32', shape, s, 2, 0.05);

describe('wasm data movement ≡ reference, exactly (2 threads)', () => {
  it('transpose by any permutation', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb.chain((sh) =>
          fc.record({
            sh: fc.constant(sh),
            perm: fc.shuffledSubarray([...sh.keys()], { minLength: sh.length }),
            s: seed,
          }),
        ),
        async ({ sh, perm, s }) =>
          expectExact(
            buildGraph('t', (b) => b.transpose(b.input('x', 'f32', sh), perm, 'y')),
            { x: x(sh, s) },
          ),
      ),
      { numRuns: 40 },
    );
  });

  it('expand, slice, split and concat along any axis', async () => {
    await fc.assert(
      fc.asyncProperty(
        withAxis((sh) =>
          fc.record({
            ones: fc.array(fc.boolean(), { minLength: sh.length, maxLength: sh.length }),
            extra: fc.integer({ min: 1, max: 9 }),
          }),
        ),
        async ({ sh, ax, ones, extra, s }) => {
          const small = sh.map((d, i) => (ones[i] ? 1 : d));
          await expectExact(
            buildGraph('e', (b) =>
              b.op('expand', [b.input('x', 'f32', small)], { shape: sh }, 'y'),
            ),
            { x: x(small, s) },
          );
          const n = sh[ax]!;
          const start = Math.floor(n / 3);
          await expectExact(
            buildGraph('s', (b) =>
              b.op(
                'slice',
                [b.input('x', 'f32', sh)],
                { axis: ax, start, end: n - Math.floor(n / 4) },
                'y',
              ),
            ),
            { x: x(sh, s) },
          );
          const sizes = n > 1 ? [start || 1, n - (start || 1)] : [1];
          await expectExact(
            buildGraph('p', (b) =>
              b.opN(
                'split',
                [b.input('x', 'f32', sh)],
                { axis: ax, sizes },
                sizes.map((_, i) => `y${i}`),
              ),
            ),
            { x: x(sh, s) },
          );
          const other = sh.map((d, i) => (i === ax ? extra : d));
          await expectExact(
            buildGraph('c', (b) =>
              b.op(
                'concat',
                [b.input('a', 'f32', sh), b.input('b', 'f32', other), b.input('c', 'f32', sh)],
                { axis: ax },
                'y',
              ),
            ),
            { a: x(sh, s), b: x(other, s + 1), c: x(sh, s + 2) },
          );
        },
      ),
      { numRuns: 30 },
    );
  });

  it('gather along any axis (negative indices) and embedding', async () => {
    await fc.assert(
      fc.asyncProperty(
        withAxis(() => fc.record({ k: fc.integer({ min: 1, max: 40 }) })),
        async ({ sh, ax, k, s }) => {
          const n = sh[ax]!;
          const idx = Array.from({ length: k }, (_, i) => ((i * 7 + s) % (2 * n)) - n);
          await expectExact(
            buildGraph('g', (b) =>
              b.op(
                'gather',
                [b.input('x', 'f32', sh), b.input('i', 'i32', [k])],
                { axis: ax },
                'y',
              ),
            ),
            { x: x(sh, s), i: fromNumbers('i32', [k], idx) },
          );
          const dim = sh.at(-1)! * 3;
          await expectExact(
            buildGraph('m', (b) =>
              b.op(
                'embedding',
                [b.input('i', 'i32', [2, k]), b.input('w', 'f32', [n + 1, dim])],
                {},
                'y',
              ),
            ),
            {
              i: fromNumbers(
                'i32',
                [2, k],
                [...idx, ...idx].map((v) => (v + n) % (n + 1)),
              ),
              w: x([n + 1, dim], s),
            },
          );
        },
      ),
      { numRuns: 30 },
    );
  });

  it("an index out of range is the CPU kernel's error, naming the node", async () => {
    const g = buildGraph('m', (b) =>
      b.op('embedding', [b.input('i', 'i32', [3]), b.input('w', 'f32', [4, 8])], {}, 'y'),
    );
    const e = exe(g);
    await expect(e.run({ i: fromNumbers('i32', [3], [0, 4, 1]), w: x([4, 8], 1) })).rejects.toThrow(
      /embedding index 4 out of range \[0, 4\) at position 1/,
    );
    await e.release();
  });
});

describe('wasm reductions (2 threads)', () => {
  /** A shape and axes that collapse to [outer, reduced, inner]: a contiguous run of axes. */
  const reduceArb = shapeArb.chain((sh) =>
    fc
      .record({
        sh: fc.constant(sh),
        a0: fc.integer({ min: 0, max: sh.length - 1 }),
        len: fc.integer({ min: 1, max: sh.length }),
        keepdims: fc.boolean(),
        s: seed,
      })
      .map((c) => ({
        ...c,
        axes: Array.from({ length: Math.min(c.len, sh.length - c.a0) }, (_, i) => c.a0 + i),
      })),
  );

  it('reduce_max over any run of axes ≡ reference exactly (NaN wins, the sign of a zero max)', async () => {
    await fc.assert(
      fc.asyncProperty(reduceArb, fc.boolean(), async ({ sh, axes, keepdims, s }, zeros) => {
        const t = x(sh, s);
        // Rows of ±0 among negatives: the sign the reference's first-wins rule gives.
        if (zeros)
          // Drawn from the values' own randomness: a third negative, a third −0, a third +0.
          (t.data as Float32Array).forEach(
            (v, i, a) => (a[i] = v < -2 / 3 ? v : v < 2 / 3 ? -0 : 0),
          );
        await expectExact(
          buildGraph('r', (b) =>
            b.op('reduce_max', [b.input('x', 'f32', sh)], { axes, keepdims }, 'y'),
          ),
          { x: t },
        );
      }),
      { numRuns: 50 },
    );
  });

  it('reduce_sum and reduce_mean within the f32 tolerance of the reference', async () => {
    await fc.assert(
      fc.asyncProperty(
        reduceArb,
        fc.constantFrom('reduce_sum', 'reduce_mean'),
        async ({ sh, axes, keepdims, s }, op) => {
          const g = buildGraph('r', (b) =>
            b.op(op, [b.input('x', 'f32', sh)], { axes, keepdims }, 'y'),
          );
          const e = exe(g);
          expect(e.placement().map((p) => p.runs)).toEqual(['wasm']);
          // The tolerance's scale: the terms of one sum at the input's largest magnitude
          // (a mean divides it again), as the op suite's reductions.
          const terms = axes.reduce((p, a) => p * sh[a]!, 1);
          const input = boundedForF32Sums({ x: tensor('f32', sh, s, 1, 0.02) });
          await checkF32Backend('wasm', async () => e, g, input, {
            scale: summed(op === 'reduce_sum' ? terms : 1, input.x!),
          });
          await e.release();
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('elementwise broadcasts the SIMD map reads', () => {
  it('a factor constant over trailing dims ([N, C, 1, 1] over [N, C, H, W]) with specials: exact, on wasm', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 2, maxLength: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom('mul', 'add', 'max') as fc.Arbitrary<'mul' | 'add' | 'max'>,
        seed,
        async (sh, keep, op, s) => {
          const j = Math.min(keep, sh.length - 1);
          // The factor: the first j dims, then 1s (sometimes with fewer leading dims).
          const f = sh.map((d, i) => (i < j ? d : 1));
          fc.pre(sh.slice(j).reduce((p, d) => p * d, 1) > 1);
          const g = buildGraph('o', (b) =>
            b.op(op, [b.input('x', 'f32', sh), b.input('f', 'f32', f)], {}, 'y'),
          );
          await expectExact(g, {
            x: tensor('f32', sh, s, 2, 0.1),
            f: tensor('f32', f, s + 1, 2, 0.1),
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('constant indices across bindings', () => {
  it('gathers and depthwise with constant indices stay right when two bindings alternate (the binding region is shared)', async () => {
    const g = buildGraph('alt', (b) => {
      const x = b.input('x', 'f32', ['T', 8]);
      const pos = b.constant([3, 0, 7, 2], 'i32', [4], 'pos');
      const neg = b.constant([-1, 0, -8], 'i32', [3], 'neg');
      const rows = b.reshape(x, [1, 'T', 8], 'rows');
      const win = b.constant([0, -1, 1, 0], 'i32', [2, 2], 'win');
      const w = b.constant([1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 1], 'f32', [2, 8], 'w');
      return [
        b.op('gather', [x, pos], { axis: 1 }, 'a'),
        b.op('gather', [x, neg], { axis: 1 }, 'n'),
        b.op('depthwise', [rows, win, w], {}, 'd'),
      ];
    });
    const e = exe(g);
    try {
      for (const T of [2, 9, 2, 5, 9, 2]) {
        const x = { x: tensor('f32', [T, 8], T, 2) };
        const got = await e.run(x);
        const want = interpret(g, x);
        // Gathers move values: equal. depthwise sums in f32: within the f32 tolerance.
        for (const o of ['a', 'n'])
          expect(Array.from(toNumbers(got[o]!)), `T=${T} %${o}`).toEqual(
            Array.from(want[o]!.data, (v) => Math.fround(v)),
          );
        assertClose(got.d!, want.d!, F32_TOL, `T=${T} %d`);
      }
      expect(e.placement({ T: 2 }).map((p) => p.runs)).not.toContain('cpu');
    } finally {
      await e.release();
    }
  });
});
