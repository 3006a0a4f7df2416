import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { Graph, Tensor } from '@glimpse/ir';
import { interpret, parseGraph } from '@glimpse/ir';
import { optimize } from '@glimpse/optimizer';
import type { CompileFn } from './f32-backend.js';
import { checkF32Backend } from './f32-backend.js';
import { graphInputs, randomGraph } from './graph-gen.js';
import {
  allSpecials,
  expectSpecialEqual,
  PIPELINES,
  SPECIAL_GRAPHS,
  specialInputs,
} from './special.js';
import { ATTENTION_SPECIALS } from './special-attention.js';

async function check(
  label: string,
  compile: CompileFn,
  graph: Graph,
  x: Record<string, Tensor>,
  shapes: Record<string, number>,
  pipelines: typeof PIPELINES,
) {
  const ref = interpret(graph, x, { shapes });
  const naive = await (await compile(graph)).run(x, { shapes });
  for (const p of pipelines) {
    const opt = optimize(graph, p.opts);
    const got = await (await compile(opt)).run(x, { shapes });
    for (const o of graph.outputs)
      expectSpecialEqual(`${label} ${p.name} %${o}`, got[o]!, naive[o]!, ref[o]!);
  }
}

const LEVELS = PIPELINES.filter((p) => !p.name.startsWith('--passes'));

/**
 * The special-value differential tests on an f32 backend: every level, and for the
 * hand-written graphs every pass alone, ≡ the graph as written on the same backend; random
 * f16 graphs too, and those also against the float64 reference (helpers.ts, f16Close).
 */
export function defineSpecialSuite(
  label: string,
  compile: CompileFn,
  describeFn: typeof describe | typeof describe.skip = describe,
) {
  describeFn(`special values on ${label}: every level and pass ≡ the graph as written`, () => {
    for (const [what, text] of Object.entries(SPECIAL_GRAPHS))
      it(what, async () => {
        const graph = parseGraph(text);
        await check(label, compile, graph, allSpecials(graph), {}, PIPELINES);
      });

    for (const [what, c] of Object.entries(ATTENTION_SPECIALS))
      it(what, async () => {
        await check(label, compile, parseGraph(c.text), c.inputs(), {}, LEVELS);
      });

    it('random graphs with special constants, factors and inputs, at every level', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
            nodes: fc.integer({ min: 1, max: 8 }),
          }),
          async ({ seed, nodes }) => {
            const { graph, binding } = randomGraph({ seed, nodes, special: true });
            await check(
              label,
              compile,
              graph,
              specialInputs(graph, binding, seed),
              binding,
              LEVELS,
            );
          },
        ),
        { numRuns: 40 },
      );
    });

    const small = fc.record({
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      nodes: fc.integer({ min: 1, max: 6 }),
    });
    it('random f16 graphs with special constants, factors and inputs, at every level', async () => {
      await fc.assert(
        fc.asyncProperty(small, async ({ seed, nodes }) => {
          const { graph, binding } = randomGraph({ seed, nodes, special: true, f16: true });
          const x = specialInputs(graph, binding, seed);
          await check(label, compile, graph, x, binding, LEVELS);
        }),
        { numRuns: 30 },
      );
    });

    it('random f16 graphs ≡ the float64 reference (f16 outputs: the f16 contract)', async () => {
      await fc.assert(
        fc.asyncProperty(small, async ({ seed, nodes }) => {
          const { graph, binding } = randomGraph({ seed, nodes, f16: true });
          const x = graphInputs(graph, binding, seed);
          await checkF32Backend(label, compile, graph, x, { shapes: binding, scale: 10 });
        }),
        { numRuns: 30 },
      );
    });
  });
}
