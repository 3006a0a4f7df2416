/**
 * ONNX operators of Hugging Face exports against onnxruntime-node: TopK (a glimpse op) and
 * Einsum (lowered at import onto transpose, reshape, bmm, mul and reduce_sum). Integer
 * arithmetic and shape ops on computed values: computed-ort.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@glimpse/ir';
import { buildGraph, interpret } from '@glimpse/ir';
import { exportOnnx, importOnnx } from '@glimpse/onnx';
import { tensor } from '../helpers.js';
import { attrInt, model, sameAsOrt } from './ort-model.js';
import { runOrt } from './ort.js';

const dims = (min: number, max: number) =>
  fc.array(fc.integer({ min: 1, max: 4 }), { minLength: min, maxLength: max });
const special = fc.constantFrom(0, 0.1, 0.4);
/** Finite values on a grid of halves (ties and ±0 pairs common), i32 ones mod 3. */
function onGrid(t: Tensor): Tensor {
  if (t.data instanceof Float32Array)
    t.data.forEach((v, j, d) => (d[j] = Number.isFinite(v) ? Math.round(v * 2) / 2 : v));
  else if (t.data instanceof Int32Array) t.data.forEach((v, j, d) => (d[j] = v % 3));
  return t;
}
/** No NaN: onnxruntime's TopK comparator is no order with NaN (its answer then depends on k and position); glimpse's rule is held by the op suites and ir's topk table. */
function noNaN(t: Tensor): Tensor {
  if (t.data instanceof Float32Array)
    t.data.forEach((v, j, d) => (d[j] = Number.isNaN(v) ? 1.5 : v));
  return t;
}

function topkModel(shape: number[], dtype: 'f32' | 'i32', k: number, attrs: object[]) {
  return model(
    13,
    [{ name: 'x', dtype, shape }],
    [{ opType: 'TopK', input: ['x', 'k'], output: ['v', 'i'], attribute: attrs }],
    [
      { name: 'v', dtype },
      { name: 'i', dtype: 'i64' },
    ],
    [{ name: 'k', dtype: 'i64', shape: [1], v: [k] }],
  );
}

describe('TopK ≡ onnxruntime-node', () => {
  const cases = dims(1, 4).chain((shape) =>
    fc
      .record({
        shape: fc.constant(shape),
        axis: fc.integer({ min: -shape.length, max: shape.length - 1 }),
        largest: fc.constantFrom(0, 1),
        dtype: fc.constantFrom<'f32' | 'i32'>('f32', 'f32', 'i32'),
      })
      .chain((c) =>
        fc.record({
          c: fc.constant(c),
          k: fc.integer({ min: 0, max: shape[(c.axis + shape.length) % shape.length]! }),
        }),
      ),
  );
  it('sorted: random axis, k, largest; ties, ±inf, ±0 on a grid — values and indices equal', async () => {
    await fc.assert(
      fc.asyncProperty(cases, fc.nat(), special, async ({ c, k }, seed, sp) => {
        const attrs = [attrInt('axis', c.axis), attrInt('largest', c.largest)];
        const x = noNaN(onGrid(tensor(c.dtype, c.shape, seed, 2, sp)));
        await sameAsOrt(topkModel(c.shape, c.dtype, k, attrs), { x }, false, false, true);
      }),
      { numRuns: 40 },
    );
  });
  it('sorted=0: the same elements as onnxruntime (glimpse gives them in order)', async () => {
    await fc.assert(
      fc.asyncProperty(cases, fc.nat(), async ({ c, k }, seed) => {
        const attrs = [attrInt('axis', -1), attrInt('largest', c.largest), attrInt('sorted', 0)];
        const bytes = topkModel(c.shape, c.dtype, Math.min(k, c.shape.at(-1)!), attrs);
        const x = noNaN(onGrid(tensor(c.dtype, c.shape, seed, 2)));
        const g = importOnnx(bytes);
        const want = await runOrt(bytes, g, { x });
        const { compile } = await import('glimpse');
        const got = await (await compile(g, { backend: 'js' })).run({ x });
        // Each row's (index, value) pairs as a set.
        const rows = (v: Tensor, i: Tensor) => {
          const n = i.shape.at(-1)!;
          const iv = Array.from(i.data as ArrayLike<number | bigint>, Number);
          const vv = Array.from(v.data as ArrayLike<number>, Number);
          return Array.from({ length: iv.length / Math.max(1, n) }, (_, r) =>
            iv
              .slice(r * n, r * n + n)
              .map((j, q) => `${j}:${vv[r * n + q]}`)
              .sort(),
          );
        };
        expect(rows(got.v!, got.i!)).toEqual(rows(want.v!, want.i!));
      }),
      { numRuns: 30 },
    );
  });
  it('exported as ONNX TopK, onnxruntime gives what the reference does', async () => {
    for (const largest of [true, false]) {
      const g = buildGraph('t', (b) =>
        b.opN('topk', [b.input('x', 'f32', [3, 5])], { axis: 1, k: 3, largest }, ['v', 'i']),
      );
      const x = onGrid(tensor('f32', [3, 5], 7, 2));
      const [want, got] = [interpret(g, { x }), await runOrt(exportOnnx(g), g, { x })];
      expect(Array.from(got.v!.data as Float32Array)).toEqual(Array.from(want.v!.data));
      expect(Array.from(got.i!.data as BigInt64Array, Number)).toEqual(Array.from(want.i!.data));
    }
  });
  it('bad k is refused in one line naming the node', () => {
    expect(() => importOnnx(topkModel([2, 3], 'f32', 4, []))).toThrow(
      /node %v \(topk\): k 4 is not in 0…3 \(the axis\)/,
    );
    expect(() => importOnnx(topkModel([2, 3], 'f32', -1, []))).toThrow(
      /n0.*TopK k must be one integer ≥ 0, got \[-1\]/,
    );
    const computedK = model(
      13,
      [
        { name: 'x', dtype: 'f32', shape: [3] },
        { name: 'k', dtype: 'i64', shape: [1] },
      ],
      [{ opType: 'TopK', input: ['x', 'k'], output: ['v', 'i'] }],
      [
        { name: 'v', dtype: 'f32' },
        { name: 'i', dtype: 'i64' },
      ],
    );
    expect(() => importOnnx(computedK)).toThrow(/TopK with a computed k \(input 1\)/);
  });
});

/** An Einsum of f32 operands of `shapes` (symbols where a shape names one, sized by `sizes`). */
async function einsum(
  eq: string,
  shapes: (number | string)[][],
  sizes: Record<string, number> = {},
) {
  const names = shapes.map((_, i) => `x${i}`);
  const bytes = model(
    13,
    shapes.map((shape, i) => ({ name: names[i]!, dtype: 'f32' as const, shape })),
    [
      {
        opType: 'Einsum',
        input: names,
        output: ['y'],
        attribute: [{ name: 'equation', type: 3, s: new TextEncoder().encode(eq) }],
      },
    ],
    [{ name: 'y', dtype: 'f32' }],
  );
  const inputs = Object.fromEntries(
    shapes.map((s, i) => [
      names[i]!,
      tensor(
        'f32',
        s.map((d) => (typeof d === 'number' ? d : sizes[d]!)),
        40 + i,
        2,
      ),
    ]),
  );
  return { bytes, inputs };
}

describe('Einsum ≡ onnxruntime-node', () => {
  // The forms transformers models write (grep einsum( in the library), and the general ones.
  const CASES: [string, number[][]][] = [
    [
      'bhid,bhjd->bhij',
      [
        [2, 3, 4, 5],
        [2, 3, 6, 5],
      ],
    ],
    [
      'bhqk,bhkd->bhqd',
      [
        [2, 3, 4, 5],
        [2, 3, 5, 6],
      ],
    ],
    [
      'bij,bjk->bik',
      [
        [2, 3, 4],
        [2, 4, 5],
      ],
    ],
    [
      '...ij,...jk->...ik',
      [
        [2, 3, 3, 4],
        [2, 3, 4, 5],
      ],
    ],
    [
      '...ij,...jk->...ik',
      [
        [2, 1, 3, 4],
        [1, 5, 4, 2],
      ],
    ],
    [
      'bhld,lrd->bhlr',
      [
        [2, 3, 4, 5],
        [4, 6, 5],
      ],
    ],
    [
      '...hqk,...khd->...qhd',
      [
        [2, 3, 4, 5],
        [2, 5, 3, 6],
      ],
    ],
    [
      'ibnd,jbnd->ijbn',
      [
        [4, 2, 3, 5],
        [6, 2, 3, 5],
      ],
    ],
    [
      'bnd,csd->bcns',
      [
        [2, 3, 4],
        [5, 6, 4],
      ],
    ],
    ['bsj,j->bs', [[2, 3, 4], [4]]],
    [
      'btp,pd->btd',
      [
        [2, 3, 4],
        [4, 5],
      ],
    ],
    ['i,j->ij', [[3], [4]]],
    ['...hqk,h->...hqk', [[2, 3, 4, 5], [3]]],
    [
      'blq,bhlk->bhlqk',
      [
        [2, 3, 4],
        [2, 5, 3, 6],
      ],
    ],
    [
      'ij,jk',
      [
        [3, 4],
        [4, 5],
      ],
    ],
    [
      'ij,jk,kl->il',
      [
        [2, 3],
        [3, 4],
        [4, 5],
      ],
    ],
    ['bij->bji', [[2, 3, 4]]],
    ['ij->', [[3, 4]]],
    [
      'ij,ij->i',
      [
        [3, 4],
        [3, 4],
      ],
    ],
    [
      'i j , j k -> i k',
      [
        [3, 4],
        [4, 5],
      ],
    ],
  ];
  for (const [eq, shapes] of CASES)
    it(eq, async () => {
      const { bytes, inputs } = await einsum(eq, shapes);
      await sameAsOrt(bytes, inputs, { rtol: 1e-5, atol: 1e-5 }, false, true);
    });
  it('bhid,bhjd->bhij with symbolic batch and sequence: imports once, one bmm', async () => {
    const { bytes, inputs } = await einsum(
      'bhid,bhjd->bhij',
      [
        ['B', 2, 'S', 4],
        ['B', 2, 'S', 4],
      ],
      {
        B: 3,
        S: 5,
      },
    );
    const g = importOnnx(bytes);
    // (The reshape the importer adds to name the output is the only other node.)
    expect(g.nodes.filter((n) => n.op !== 'reshape').map((n) => n.op)).toEqual(['bmm']);
    await sameAsOrt(bytes, inputs, { rtol: 1e-5, atol: 1e-5 });
  });
  it('what it cannot lower is refused in one line naming the equation', async () => {
    for (const [eq, shapes, why] of [
      ['ii->i', [[3, 3]], /equation 'ii->i': a label repeated in one operand/],
      [
        'bij,bjk->bik',
        [
          ['B', 'S', 4],
          ['B', 4, 'T'],
        ],
        undefined,
      ],
      [
        'ij,jk->ik',
        [
          ['S', 'T'],
          ['T', 4],
        ],
        undefined,
      ],
      [
        'bsd,btd->st',
        [
          ['B', 'S', 4],
          ['B', 'T', 4],
        ],
        /needs the product of dims \[B,4\]/,
      ],
      [
        'ij,jk->ik',
        [
          [3, 4],
          [5, 6],
        ],
        /label 'j' is 4 in one operand and 5 in the other/,
      ],
      ['ij->k', [[3, 4]], /output label 'k' is in no operand/],
      [
        'ij,jk->ik',
        [
          [0, 4],
          [4, 5],
        ],
        /equation 'ij,jk->ik': an empty operand is not supported/,
      ],
    ] as [string, (number | string)[][], RegExp | undefined][]) {
      const { bytes } = await einsum(eq, shapes);
      if (why) expect(() => importOnnx(bytes), eq).toThrow(why);
      else expect(() => importOnnx(bytes), eq).not.toThrow();
    }
    const ints = model(
      13,
      [
        { name: 'a', dtype: 'i32', shape: [2, 3] },
        { name: 'b', dtype: 'i32', shape: [3, 4] },
      ],
      [
        {
          opType: 'Einsum',
          input: ['a', 'b'],
          output: ['y'],
          attribute: [{ name: 'equation', type: 3, s: new TextEncoder().encode('ij,jk->ik') }],
        },
      ],
      [{ name: 'y', dtype: 'i32' }],
    );
    expect(() => importOnnx(ints)).toThrow(
      /node %n0 \(Einsum\): Einsum equation 'ij,jk->ik': a contraction of integers/,
    );
  });
});
