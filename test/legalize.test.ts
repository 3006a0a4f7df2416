/**
 * Legalisation: a backend declines a node and gets it lowered to the ops it stands for.
 * The lowered attention is the plain computation the fused op is held to, so lowering
 * keeps every answer: checked on random attention graphs (every mask, causal form, layout,
 * GQA ratio and masked_rows rule fusion produces) against the graph as written, on the
 * reference and on the JS backend under the precision contract.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '@glimpse/ir';
import { parseGraph } from '@glimpse/ir';
import { models } from '@glimpse/models';
import { lowerDeclined, optimize } from '@glimpse/optimizer';
import { build, caseArb, expectSameAnswers, inputs, normalise } from './attention-cases.js';

const ops = (g: Graph, op: string) => g.nodes.filter((n) => n.op === op).length;
const declineAll = () => 'declined by the test';

describe('lowerDeclined', () => {
  it('lowers every fused attention form and keeps its answers (reference and JS)', () => {
    fc.assert(
      fc.property(caseArb.map(normalise), (c) => {
        const g = build(c);
        const o2 = optimize(g, { level: 2 });
        const { graph: low, lowered } = lowerDeclined(o2, declineAll);
        expect(lowered.map((l) => l.reason)).toEqual(['declined by the test']);
        expect(ops(low, 'attention')).toBe(0);
        expectSameAnswers('lowered', g, low, inputs(g, { B: c.B, T: c.T }, c));
      }),
      { numRuns: 150 },
    );
  });
  it('keeps the node and its name when the backend takes it; names the reason when not', () => {
    const g = optimize(models.causalSelfAttention({ dim: 16, heads: 2 }), { level: 2 });
    const node = g.nodes.find((n) => n.op === 'attention')!;
    expect(lowerDeclined(g, () => undefined)).toEqual({ graph: g, lowered: [] });
    const { graph, lowered } = lowerDeclined(g, (n) =>
      n.op === 'attention' ? 'too wide' : undefined,
    );
    expect(lowered).toEqual([{ node: node.outputs[0], op: 'attention', reason: 'too wide' }]);
    // The lowered node's output keeps its name; its consumers and the outputs are unchanged.
    expect(graph.typeOf(node.outputs[0]!)).toEqual(g.typeOf(node.outputs[0]!));
    expect(graph.outputs).toEqual(g.outputs);
    expect(ops(graph, 'softmax')).toBe(1);
    expect(ops(graph, 'tril')).toBe(1);
  });
  it('leaves a node it cannot write out: causal bottom_right over symbolic lengths', () => {
    const g = parseGraph(`graph @kv(%q: f32[1,2,T,4], %k: f32[1,2,S,4], %v: f32[1,2,S,4]) {
  %y: f32[1,2,T,4] = attention[causal=bottom_right] %q, %k, %v
  return %y
}`);
    expect(lowerDeclined(g, declineAll).lowered).toEqual([]);
  });
});
