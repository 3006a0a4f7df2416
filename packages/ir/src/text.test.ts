import { describe, expect, it } from 'vitest';
import { buildGraph } from './builder.js';
import { SelfAttention } from './nn.js';
import { fmtNumber, parseGraph, printGraph } from './text.js';

describe('text IR', () => {
  it('prints the seed self-attention as docs/design.md lays it out (golden)', () => {
    const g = buildGraph('self_attention', (b) =>
      new SelfAttention(b, '', 64).call(b, b.input('x', 'f32', ['B', 'T', 64]), 'y'),
    );
    expect(printGraph(g)).toBe(`graph @self_attention(%x: f32[B,T,64])
    params(%query.weight: f32[64,64] = uniform(-0.125, 0.125),
           %query.bias: f32[64] = uniform(-0.125, 0.125),
           %key.weight: f32[64,64] = uniform(-0.125, 0.125),
           %key.bias: f32[64] = uniform(-0.125, 0.125),
           %value.weight: f32[64,64] = uniform(-0.125, 0.125),
           %value.bias: f32[64] = uniform(-0.125, 0.125)) {
  %q: f32[B,T,64] = linear %x, %query.weight, %query.bias
  %k: f32[B,T,64] = linear %x, %key.weight, %key.bias
  %v: f32[B,T,64] = linear %x, %value.weight, %value.bias
  %kt: f32[B,64,T] = transpose[perm=[0,2,1]] %k
  %s: f32[B,T,T] = bmm %q, %kt
  %s1: f32[B,T,T] = scale[factor=0.125] %s
  %p: f32[B,T,T] = softmax %s1
  %y: f32[B,T,64] = bmm %p, %v
  return %y
}
`);
  });

  it('parses comments, attrs in any order, defaults written out, params without init', () => {
    const g = parseGraph(`// a comment
graph @m[seed=7](%x: f32[2,3]) params(%w: f32[3]) {
  %s: f32[2,3] = softmax[axis=-1] %x   // default written explicitly
  %c: f32[] = constant[value=[-inf], dtype=f32]
  %y: f32[2,3] = add %s, %w
  return %y, %c
}`);
    expect(g.seed).toBe(7);
    expect(g.params[0]!.init).toEqual({ kind: 'external' });
    expect(g.nodes[1]!.attrs).toEqual({ dtype: 'f32', shape: [], value: [-Infinity] });
    expect(printGraph(g)).toContain('%s: f32[2,3] = softmax %x\n');
    expect(printGraph(g)).toContain('%c: f32[] = constant[value=[-inf]]\n');
  });

  it('spells special numbers so they parse back', () => {
    const xs = [NaN, Infinity, -Infinity, -0, 0, 1e-7, 0.1, 3.4028234663852886e38, 1e-45];
    expect(xs.map(fmtNumber)).toEqual([
      'nan',
      'inf',
      '-inf',
      '-0.0',
      '0',
      '1e-7',
      '0.1',
      '3.4028234663852886e+38',
      '1e-45',
    ]);
    // ... and they do: as constants and as attributes, the same numbers (Object.is).
    for (const x of xs) {
      const text = `graph @g(%x: f32[2]) {\n  %c: f32[] = constant[value=[${fmtNumber(x)}]]\n  %y: f32[2] = scale[factor=${fmtNumber(x)}] %x\n  %z: f32[2] = add %y, %c\n  return %z\n}`;
      const g = parseGraph(text);
      expect(Object.is((g.nodes[0]!.attrs.value as number[])[0], x), `constant ${x}`).toBe(true);
      expect(Object.is(g.nodes[1]!.attrs.factor, x), `factor ${x}`).toBe(true);
      expect(printGraph(parseGraph(printGraph(g)))).toBe(printGraph(g));
    }
  });

  it('rejects attribute typos and wrong kinds, naming the node', () => {
    const src = (attr: string) =>
      `graph @m(%x: f32[2,3]) {\n  %y: f32[2,3] = softmax[${attr}] %x\n  return %y\n}`;
    expect(() => parseGraph(src('axsi=1'))).toThrow(
      "line 2, node %y (softmax): unknown attribute 'axsi' (softmax takes axis)",
    );
    expect(() => parseGraph(src('axis=1.5'))).toThrow("attribute 'axis' must be an integer");
    expect(() => parseGraph(src('axis=1, axis=0'))).toThrow("attribute 'axis' given twice");
  });
});
