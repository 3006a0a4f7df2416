/**
 * Special values through the optimizer: random graphs, f32 and f16, whose constants, scale
 * factors and inputs hold NaN, ±inf, ±0, huge, tiny and subnormal numbers (f16's: 65504,
 * 2⁻²⁴, values that are inf once stored or cast), optimised by every level
 * and by every pass alone, give what the graph as written gives (test/special.ts says
 * exactly what that means) — on the reference interpreter and the JS backend (the WGSL
 * twin is test/wgsl/special-values.wgsl.test.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromNumbers, interpret, parseGraph, refToTensor } from '@glimpse/ir';
import { compileJs } from '@glimpse/backend-js';
import { optimize, verifyEach } from '@glimpse/optimizer';
import { randomGraph } from './graph-gen.js';
import {
  allSpecials,
  compareSpecial,
  expectSpecialEqual,
  PIPELINES,
  SPECIAL_GRAPHS,
  specialInputs,
} from './special.js';
import { ATTENTION_SPECIALS } from './special-attention.js';

const genArb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  nodes: fc.integer({ min: 1, max: 10 }),
});

describe('special values: every level and every pass ≡ the graph as written', () => {
  it('the comparison itself: it fails on a changed special value or a lost precision', () => {
    // NaN for inf, a sign of zero, finite for NaN, and an error beyond the contract.
    expect(compareSpecial([NaN], [Infinity], [Infinity])?.why).toMatch(/gives \+inf/);
    expect(compareSpecial([0], [-0], [-0])?.why).toMatch(/gives -0/);
    expect(compareSpecial([1], [NaN], [NaN])?.why).toMatch(/gives nan/);
    expect(compareSpecial([Infinity], [1], [1])?.why).toMatch(/finite value/);
    expect(compareSpecial([1.001], [1], [1])?.why).toMatch(/precision contract/);
    // An overflow of the written order (float64 finite) may be kept in range.
    expect(compareSpecial([1e38], [Infinity], [1e38])).toBeUndefined();
    expect(compareSpecial([1 + 2 ** -23], [1 + 2 ** -22], [1])).toBeUndefined();
  });

  for (const [kind, f16, runs] of [
    ['', false, 150],
    [', f16 graphs', true, 60],
  ] as const)
    it(`on the reference interpreter and the JS backend${kind}`, () => {
      fc.assert(
        fc.property(genArb, ({ seed, nodes }) => {
          const { graph, binding } = randomGraph({ seed, nodes, special: true, f16 });
          const x = specialInputs(graph, binding, seed);
          const ref = interpret(graph, x, { shapes: binding });
          const naive = compileJs(graph).runSync(x, { shapes: binding });
          for (const p of PIPELINES) {
            const opt = optimize(graph, { ...p.opts, instrument: verifyEach() });
            const refOpt = interpret(opt, x, { shapes: binding });
            const js = compileJs(opt).runSync(x, { shapes: binding });
            for (const o of graph.outputs) {
              // The reference computes in float64: compare what it would store (f32 or f16).
              const [a, b] = [refToTensor(refOpt[o]!), refToTensor(ref[o]!)];
              expectSpecialEqual(`reference ${p.name} %${o}`, a, b, ref[o]!);
              expectSpecialEqual(`js ${p.name} %${o}`, js[o]!, naive[o]!, ref[o]!);
            }
          }
        }),
        { numRuns: runs },
      );
    });
});

describe('special values: hand-written graphs at every level and pass', () => {
  for (const [what, text] of Object.entries(SPECIAL_GRAPHS))
    it(what, () => {
      const graph = parseGraph(text);
      const x = allSpecials(graph);
      const ref = interpret(graph, x);
      const naive = compileJs(graph).runSync(x);
      for (const p of PIPELINES) {
        const opt = optimize(graph, p.opts);
        const js = compileJs(opt).runSync(x);
        for (const o of graph.outputs)
          expectSpecialEqual(`js ${p.name} %${o}`, js[o]!, naive[o]!, ref[o]!);
      }
    });
});

describe('special values: attention written out ≡ fused', () => {
  for (const [what, c] of Object.entries(ATTENTION_SPECIALS))
    it(what, () => {
      const graph = parseGraph(c.text);
      expect(optimize(graph, { level: 2 }).nodes.map((n) => n.op)).toContain('attention');
      const x = c.inputs();
      const ref = interpret(graph, x);
      const naive = compileJs(graph).runSync(x);
      for (const p of PIPELINES) {
        const opt = optimize(graph, p.opts);
        const js = compileJs(opt).runSync(x);
        expectSpecialEqual(`js ${p.name} %y`, js.y!, naive.y!, ref.y!);
        const refOpt = interpret(opt, x);
        const f32 = (t: typeof ref.y) => fromNumbers(t!.dtype, t!.shape, t!.data);
        expectSpecialEqual(`reference ${p.name} %y`, f32(refOpt.y), f32(ref.y), ref.y!);
      }
    });
});
