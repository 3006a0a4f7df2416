/**
 * Random attention graphs in the forms models and exporters write them — every scale form,
 * mask kind, causal form, layout and GQA ratio — fuse at -O2 into one attention op, and the
 * -O2 graph equals the -O0 graph: on the reference interpreter (float64 both, compared
 * after rounding to f32 with 1e-6: only the order of float64 operations changes) and on the
 * JS backend, fused against unfused, row by row under docs/design.md's precision contract (each
 * row's error against the float64 reference at most twice the unfused row's; NaN, ±inf
 * and signed zeros as the unfused graph gives them: test/special.ts). Inputs carry special
 * values: NaN, ±1e4 logits, ±inf in v, and masks that mask whole rows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '@glimpse/ir';
import { concreteShape, fromNumbers, interpret, randomStream } from '@glimpse/ir';
import { compileJs } from '@glimpse/backend-js';
import { buildModel, MODEL_NAMES } from '@glimpse/models';
import { optimize } from '@glimpse/optimizer';
import { build, caseArb, expectSameAnswers, inputs, normalise } from './attention-cases.js';
import { assertClose } from './helpers.js';

describe('attention fusion over random graphs', () => {
  it('fuses every form into one attention op; -O2 ≡ -O0 on the reference and the JS backend', () => {
    fc.assert(
      fc.property(caseArb.map(normalise), (c) => {
        const g = build(c);
        const o2 = optimize(g, { level: 2 });
        const ops = (x: Graph, op: string) => x.nodes.filter((n) => n.op === op).length;
        expect(ops(o2, 'attention'), 'attention nodes').toBe(1);
        expect(ops(o2, 'softmax'), 'softmax nodes').toBe(0);
        expectSameAnswers('-O2', g, o2, inputs(g, { B: c.B, T: c.T }, c));
      }),
      { numRuns: 400 },
    );
  });
});

describe('built-in models: -O2 ≡ -O0', () => {
  it('on the reference interpreter and the JS backend, for random shapes and inputs', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...MODEL_NAMES),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom(0, 0, 0.02),
        (name, B, T, seed, special) => {
          const g = buildModel(`${name}${name === 'context-attention' ? '' : ':dim=16'}`).graph;
          const o2 = optimize(g, { level: 2 });
          const binding = { B, T, S: T + 2 };
          const x = Object.fromEntries(
            g.inputs.map((inp) => {
              const shape = concreteShape(inp.type.shape, binding);
              const rnd = randomStream(seed, inp.name);
              const n = shape.reduce((a, d) => a * d, 1);
              const v = Array.from({ length: n }, () =>
                inp.type.dtype === 'i32'
                  ? Math.floor(rnd() * 10)
                  : rnd() < special
                    ? NaN
                    : rnd() * 2 - 1,
              );
              return [inp.name, fromNumbers(inp.type.dtype, shape, v)];
            }),
          );
          const want = interpret(g, x, { shapes: binding });
          assertClose(
            { ...want.y!, data: Float32Array.from(interpret(o2, x, { shapes: binding }).y!.data) },
            want.y!,
            { rtol: 1e-6, atol: 1e-6 },
            'reference -O2',
          );
          assertClose(
            compileJs(o2).runSync(x, { shapes: binding }).y!,
            want.y!,
            undefined,
            'js -O2',
            20,
          );
        },
      ),
      { numRuns: 120 },
    );
  });
});
