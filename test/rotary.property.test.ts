/**
 * fuse-rotary never changes an answer: rotate-half rotary embeddings as Hugging Face's
 * Llama family writes them (every operand order, Neg or ·(−1), partial rotary as Phi),
 * over random shapes, broadcast cos and sin, and values half of which are NaN, ±inf, ±0,
 * huge (products past f32's range), tiny and subnormal — fused into one rotary op, they
 * give bit for bit what the graph as written gives: on the reference interpreter, and on
 * the JS and wasm backends at -O0 against fuse-rotary alone and -O2.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph, Tensor, Val } from '@glimpse/ir';
import { buildGraph, interpret, toNumbers } from '@glimpse/ir';
import { optimize } from '@glimpse/optimizer';
import { compile } from 'glimpse';
import { tensor } from './helpers.js';

/** Shapes that broadcast to `out`: a suffix of it, with some dims replaced by 1. */
const broadcastOf = (out: number[]) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: out.length }),
      fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    )
    .map(([drop, ones]) => out.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));

const form = fc
  .record({
    lead: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 3 }),
    half: fc.integer({ min: 1, max: 4 }),
    pass: fc.constantFrom(0, 0, 2, 3),
    // Operand orders of x·cos, rotated·sin and their sum; Neg as scale(−1) or ·(−1).
    swap: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
    negByMul: fc.boolean(),
    seed: fc.nat(),
  })
  .chain((c) =>
    fc
      .tuple(broadcastOf([...c.lead, 2 * c.half]), broadcastOf([...c.lead, 2 * c.half]))
      .map(([cos, sin]) => ({ ...c, cos, sin })),
  );
type Form = typeof form extends fc.Arbitrary<infer F> ? F : never;

/** The graph as HF's apply_rotary_pos_emb exports it. */
function written(c: Form): Graph {
  const R = 2 * c.half;
  const d = R + c.pass;
  return buildGraph('rope', (b) => {
    const x = b.input('x', 'f32', [...c.lead, d]);
    const cos = b.input('cos', 'f32', c.cos);
    const sin = b.input('sin', 'f32', c.sin);
    const cut = (v: Val, start: number, end: number) =>
      b.op('slice', [v], { axis: -1, start, end });
    const pair = (u: Val, v: Val, swap: boolean) => (swap ? [v, u] : [u, v]);
    const xr = c.pass ? cut(x, 0, R) : x;
    const hi = cut(xr, c.half, R);
    const neg = c.negByMul
      ? b.op('mul', [hi, b.constant(-1)])
      : b.op('scale', [hi], { factor: -1 });
    const rotated = b.op('concat', [neg, cut(xr, 0, c.half)], { axis: -1 });
    const sum = pair(
      b.op('mul', pair(xr, cos, c.swap[0])),
      b.op('mul', pair(rotated, sin, c.swap[1])),
      c.swap[2],
    );
    if (!c.pass) return b.op('add', sum, {}, 'y');
    return b.op('concat', [b.op('add', sum), cut(x, R, d)], { axis: -1 }, 'y');
  });
}

const inputs = (g: Graph, seed: number): Record<string, Tensor> =>
  Object.fromEntries(
    g.inputs.map((v, i) => [v.name, tensor('f32', v.type.shape as number[], seed + i, 2, 0.5)]),
  );

/** Element for element the same bits (any NaN for a NaN). */
function expectSame(what: string, got: ArrayLike<number>, want: ArrayLike<number>) {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const [a, b] = [got[i]!, want[i]!];
    if (!(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))))
      expect.fail(
        `${what}[${i}]: got ${Object.is(a, -0) ? '-0' : a}, want ${Object.is(b, -0) ? '-0' : b}`,
      );
  }
}

const rotaries = (g: Graph) => g.nodes.filter((n) => n.op === 'rotary').length;

describe('fuse-rotary ≡ the rotation as written, special values included', () => {
  it('on the reference interpreter and the JS backend (fuse-rotary alone and -O2)', async () => {
    await fc.assert(
      fc.asyncProperty(form, async (c) => {
        const g = written(c);
        const x = inputs(g, c.seed);
        const js = async (h: Graph) =>
          toNumbers((await (await compile(h, { backend: 'js', level: 0 })).run(x)).y!);
        const asWritten = await js(g);
        const ref = interpret(g, x);
        for (const opts of [{ passes: ['fuse-rotary', 'dce'] }, { level: 2 as const }]) {
          const fused = optimize(g, opts);
          expect(rotaries(fused), `rotary ops in\n${fused.nodes.map((n) => n.op)}`).toBe(1);
          expect(fused.nodes.length, 'only the rotary left').toBe(1);
          expectSame('reference', interpret(fused, x).y!.data, ref.y!.data);
          expectSame('js', await js(fused), asWritten);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('on the wasm backend: -O2 ≡ -O0', async () => {
    await fc.assert(
      fc.asyncProperty(form, async (c) => {
        const g = written(c);
        const x = inputs(g, c.seed);
        const run = async (level: 0 | 2) =>
          toNumbers((await (await compile(g, { backend: 'wasm', level, threads: 1 })).run(x)).y!);
        expectSame('wasm', await run(2), await run(0));
      }),
      { numRuns: 40 },
    );
  });
});
