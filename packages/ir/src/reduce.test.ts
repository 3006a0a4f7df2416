import { describe, expect, it } from 'vitest';
import { buildGraph } from './builder.js';
import { interpret } from './reference.js';
import { fromNumbers } from './tensor.js';

/** argmax / argmin of one row, as the reference computes them. */
function arg(op: 'argmax' | 'argmin', xs: number[], select_last = false): number {
  const g = buildGraph('g', (b) =>
    b.op(op, [b.input('x', 'f32', [xs.length])], { axis: 0, select_last }, 'y'),
  );
  return interpret(g, { x: fromNumbers('f32', [xs.length], xs) }).y!.data[0]!;
}

// The rule numpy's and PyTorch's argmax/argmin follow (values worked out by hand): the first
// of equal elements; NaN beats every number; ONNX's select_last_index takes the last.
describe('argmax / argmin rule', () => {
  it('ties: the first, or the last with select_last', () => {
    expect(arg('argmax', [2, 5, 5, 1])).toBe(1);
    expect(arg('argmax', [2, 5, 5, 1], true)).toBe(2);
    expect(arg('argmin', [1, 5, 1, 1])).toBe(0);
    expect(arg('argmin', [1, 5, 1, 1], true)).toBe(3);
    expect(arg('argmax', [-0, 0])).toBe(0); // ±0 are equal
  });
  it('NaN beats every number: the first NaN, or the last', () => {
    expect(arg('argmax', [1, NaN, 3, NaN])).toBe(1);
    expect(arg('argmax', [1, NaN, 3, NaN], true)).toBe(3);
    expect(arg('argmin', [1, NaN, -3, NaN])).toBe(1);
    expect(arg('argmax', [NaN, Infinity])).toBe(0);
    expect(arg('argmin', [-Infinity, NaN])).toBe(1);
  });
});
