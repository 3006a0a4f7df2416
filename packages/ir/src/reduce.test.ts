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

/** topk of one row, as the reference computes it: [values, indices]. */
function topk(xs: number[], k: number, largest = true): [number[], number[]] {
  const g = buildGraph('g', (b) =>
    b.opN('topk', [b.input('x', 'f32', [xs.length])], { axis: 0, k, largest }, ['v', 'i']),
  );
  const r = interpret(g, { x: fromNumbers('f32', [xs.length], xs) });
  return [Array.from(r.v!.data), Array.from(r.i!.data)];
}

// Worked out by hand. The values are torch.topk's (PyTorch 2.13: NaN above every number);
// equal elements, NaNs among them, come by the lower index — ONNX's rule, which onnxruntime
// keeps for numbers (PyTorch leaves their order unspecified).
describe('topk rule', () => {
  it('ties by the lower index, ±0 equal', () => {
    expect(topk([5, 1, 5, 2, 5, 3, 5], 3)).toEqual([
      [5, 5, 5],
      [0, 2, 4],
    ]);
    expect(topk([5, 1, 5, 2, 5, 3, 5], 3, false)).toEqual([
      [1, 2, 3],
      [1, 3, 5],
    ]);
    const [v, i] = topk([0, -0, 0, -0], 2, false);
    expect(i).toEqual([0, 1]);
    expect(Object.is(v[1], -0)).toBe(true);
  });
  it('NaN above every number, +inf included; NaNs by index', () => {
    expect(topk([1, NaN, 3, NaN, 2], 3)).toEqual([
      [NaN, NaN, 3],
      [1, 3, 2],
    ]);
    expect(topk([1, NaN, 3, NaN, 2], 3, false)).toEqual([
      [1, 2, 3],
      [0, 4, 2],
    ]);
    expect(topk([1, NaN, 3, NaN, 2], 5, false)).toEqual([
      [1, 2, 3, NaN, NaN],
      [0, 4, 2, 1, 3],
    ]);
    expect(topk([Infinity, NaN], 1)).toEqual([[NaN], [1]]);
    expect(topk([NaN, -Infinity], 1, false)).toEqual([[-Infinity], [1]]);
  });
});
