/**
 * The special-value differential tests (test/special-values.property.test.ts) on WGSL:
 * every level, and for the hand-written graphs every pass alone, ≡ the graph as written on
 * the same backend (test/special.ts says exactly what that means). WGSL computes in f32 and
 * writes NaN, ±inf and −0 constants as bit patterns, so this is where a literal that lost
 * its sign or a fused program that reordered a product would show.
 */
import fc from 'fast-check';
import { it } from 'vitest';
import type { Graph, Tensor } from '@glimpse/ir';
import { interpret, parseGraph } from '@glimpse/ir';
import { compileWgsl } from '@glimpse/backend-wgsl';
import { optimize } from '@glimpse/optimizer';
import { randomGraph } from '../graph-gen.js';
import {
  allSpecials,
  ATTENTION_SPECIALS,
  expectSpecialEqual,
  PIPELINES,
  SPECIAL_GRAPHS,
  specialInputs,
} from '../special.js';
import { describeGpu } from './gpu.js';

async function check(
  graph: Graph,
  x: Record<string, Tensor>,
  shapes: Record<string, number>,
  pipelines: typeof PIPELINES,
) {
  const ref = interpret(graph, x, { shapes });
  const naive = await (await compileWgsl(graph)).run(x, { shapes });
  for (const p of pipelines) {
    const opt = optimize(graph, p.opts);
    const got = await (await compileWgsl(opt)).run(x, { shapes });
    for (const o of graph.outputs)
      expectSpecialEqual(`wgsl ${p.name} %${o}`, got[o]!, naive[o]!, ref[o]!);
  }
}

const LEVELS = PIPELINES.filter((p) => !p.name.startsWith('--passes'));

describeGpu('special values on WGSL: every level and pass ≡ the graph as written', () => {
  for (const [what, text] of Object.entries(SPECIAL_GRAPHS))
    it(what, async () => {
      const graph = parseGraph(text);
      await check(graph, allSpecials(graph), {}, PIPELINES);
    });

  for (const [what, c] of Object.entries(ATTENTION_SPECIALS))
    it(what, async () => {
      await check(parseGraph(c.text), c.inputs(), {}, LEVELS);
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
          await check(graph, specialInputs(graph, binding, seed), binding, LEVELS);
        },
      ),
      { numRuns: 40 },
    );
  });
});
