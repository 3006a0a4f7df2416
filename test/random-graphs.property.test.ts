/**
 * Random graphs (test/graph-gen.ts): the JS backend equals the reference interpreter, and
 * the text and JSON forms round-trip to the same graph.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph, Tensor } from '@glimpse/ir';
import {
  concreteShape,
  graphFromJSON,
  graphToJSON,
  interpret,
  parseGraph,
  printGraph,
} from '@glimpse/ir';
import { randomGraph } from './graph-gen.js';
import { compileJs } from '@glimpse/backend-js';
import { optimize, verifyEach } from '@glimpse/optimizer';
import { assertClose, checkGraph, F32_TOL, tensor } from './helpers.js';

const genArb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  nodes: fc.integer({ min: 1, max: 14 }),
  hostileNames: fc.boolean(),
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

function inputsFor(
  g: Graph,
  binding: Record<string, number>,
  seed: number,
): Record<string, Tensor> {
  return Object.fromEntries(
    g.inputs.map((inp, i) => [
      inp.name,
      tensor('f32', concreteShape(inp.type.shape, binding), seed + i),
    ]),
  );
}

describe('random graphs', () => {
  it('JS backend ≡ reference interpreter', () => {
    fc.assert(
      fc.property(genArb, ({ seed, nodes, hostileNames }) => {
        const { graph, binding } = randomGraph({ seed, nodes, hostileNames });
        checkGraph(graph, inputsFor(graph, binding, seed), { shapes: binding, scale: 10 });
      }),
      { numRuns: 300 },
    );
  });

  it('every pipeline (-O1, -O2) ≡ -O0: on the reference and the JS backend', () => {
    fc.assert(
      fc.property(genArb, fc.constantFrom<1 | 2>(1, 2), ({ seed, nodes, hostileNames }, level) => {
        const { graph, binding } = randomGraph({ seed, nodes, hostileNames });
        const opt = optimize(graph, { level, instrument: verifyEach() });
        const x = inputsFor(graph, binding, seed);
        const want = interpret(graph, x, { shapes: binding });
        const ref = interpret(opt, x, { shapes: binding });
        const js = compileJs(opt).runSync(x, { shapes: binding });
        for (const o of graph.outputs) {
          assertClose(
            { ...want[o]!, data: Float32Array.from(ref[o]!.data) },
            want[o]!,
            F32_TOL,
            `reference -O${level} %${o}`,
            10,
          );
          assertClose(js[o]!, want[o]!, F32_TOL, `js -O${level} %${o}`, 10);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('parseGraph(printGraph(g)) ≡ g', () => {
    fc.assert(
      fc.property(genArb, ({ seed, nodes, hostileNames }) => {
        const { graph } = randomGraph({ seed, nodes, hostileNames });
        const text = printGraph(graph);
        const back = parseGraph(text);
        expectSameGraph(graph, back);
        expect(printGraph(back)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

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
