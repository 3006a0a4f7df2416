/**
 * Random graphs (test/graph-gen.ts), f32 and f16: the JS backend equals the reference
 * interpreter, every pipeline equals -O0, and the text and JSON forms round-trip to the
 * same graph. An f16 output is held to the f16 contract (helpers.ts, f16Close): the f16
 * rounding of a value within F32_TOL of the float64 result.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '@glimpse/ir';
import {
  graphFromJSON,
  graphToJSON,
  interpret,
  parseGraph,
  printGraph,
  refToTensor,
} from '@glimpse/ir';
import { graphInputs, randomGraph } from './graph-gen.js';
import { compileJs } from '@glimpse/backend-js';
import { optimize, verifyEach } from '@glimpse/optimizer';
import { assertClose, checkGraph, F32_TOL } from './helpers.js';

const genArb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  nodes: fc.integer({ min: 1, max: 14 }),
  hostileNames: fc.boolean(),
});
/** f16 graphs (graph-gen's `f16`), fewer of them. */
const f16Arb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  nodes: fc.integer({ min: 1, max: 12 }),
  hostileNames: fc.constant(false),
  f16: fc.constant(true),
});

/** Structural equality: names, types, attrs, inits, order, seed — everything a graph holds. */
function expectSameGraph(a: Graph, b: Graph) {
  expect(b.name).toBe(a.name);
  expect(b.seed).toBe(a.seed);
  expect(b.inputs).toEqual(a.inputs);
  expect(b.params).toEqual(a.params);
  expect(b.outputs).toEqual(a.outputs);
  expect(b.nodes).toEqual(a.nodes);
  for (const v of a.valueNames()) expect(b.typeOf(v)).toEqual(a.typeOf(v));
}

/** f32 graphs, and f16 ones (fewer: they repeat most of what f32 ones run). */
const KINDS = [
  { kind: '', arb: genArb, runs: 300 },
  { kind: ', f16 graphs', arb: f16Arb, runs: 100 },
];

describe('random graphs', () => {
  for (const { kind, arb, runs } of KINDS) {
    it(`JS backend ≡ reference interpreter${kind}`, () => {
      fc.assert(
        fc.property(arb, (o) => {
          const { graph, binding } = randomGraph(o);
          checkGraph(graph, graphInputs(graph, binding, o.seed), { shapes: binding, scale: 10 });
        }),
        { numRuns: runs },
      );
    });

    it(`every pipeline (-O1, -O2) ≡ -O0: on the reference and the JS backend${kind}`, () => {
      fc.assert(
        fc.property(arb, fc.constantFrom<1 | 2>(1, 2), (o, level) => {
          const { graph, binding } = randomGraph(o);
          const opt = optimize(graph, { level, instrument: verifyEach() });
          const x = graphInputs(graph, binding, o.seed);
          const want = interpret(graph, x, { shapes: binding });
          const ref = interpret(opt, x, { shapes: binding });
          const js = compileJs(opt).runSync(x, { shapes: binding });
          for (const o of graph.outputs) {
            // The optimised graph's reference result as its dtype stores it.
            const stored = refToTensor(ref[o]!);
            assertClose(stored, want[o]!, F32_TOL, `reference -O${level} %${o}`, 10);
            assertClose(js[o]!, want[o]!, F32_TOL, `js -O${level} %${o}`, 10);
          }
        }),
        { numRuns: runs },
      );
    });

    it(`parseGraph(printGraph(g)) ≡ g${kind}`, () => {
      fc.assert(
        fc.property(arb, (o) => {
          const { graph } = randomGraph(o);
          const text = printGraph(graph);
          const back = parseGraph(text);
          expectSameGraph(graph, back);
          expect(printGraph(back)).toBe(text);
        }),
        { numRuns: runs },
      );
    });
  }

  it('graphFromJSON(graphToJSON(g)) ≡ g, through JSON text', () => {
    fc.assert(
      fc.property(genArb, ({ seed, nodes, hostileNames }) => {
        const { graph } = randomGraph({ seed, nodes, hostileNames });
        const back = graphFromJSON(JSON.stringify(graphToJSON(graph)));
        expectSameGraph(graph, back);
      }),
      { numRuns: 300 },
    );
  });
});
