import { describe, expect, it } from 'vitest';
import { buildGraph, interpret } from '@glimpse/ir';
import { optimize } from './optimize.js';

describe('constant-folding', () => {
  it('folds a node that reads one value twice (mul(d, d)) with frozen params', () => {
    // Regression: the one-node graph evaluated for a fold listed `d` twice as an input.
    const g = buildGraph('all_const', (b) => {
      const x = b.param('x', 'f32', [3, 4], { kind: 'uniform', low: -1, high: 1 });
      const m = b.op('reduce_mean', [x], { axes: [1], keepdims: true }, 'mean');
      const d = b.op('sub', [x, m], {}, 'd');
      return b.op(
        'reduce_mean',
        [b.op('mul', [d, d], {}, 'sq')],
        { axes: [1], keepdims: true },
        'var',
      );
    });
    const o = optimize(g, { level: 2, frozenParams: true });
    expect(o.nodes.map((n) => n.op)).toEqual(['constant']);
    const want = interpret(g, {}).var!.data;
    const got = interpret(o, {}).var!.data;
    got.forEach((v, i) => expect(v).toBeCloseTo(Math.fround(want[i]!), 6));
  });
});
