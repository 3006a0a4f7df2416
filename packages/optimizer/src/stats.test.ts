import { describe, expect, it } from 'vitest';
import { parseGraph } from '@glimpse/ir';
import { buildModel } from '@glimpse/models';
import { optimize } from './optimize.js';
import { formatStats, graphStats } from './stats.js';

describe('graphStats', () => {
  it('counts FLOPs and bytes of a matmul by hand', () => {
    const g = parseGraph(
      'graph @m(%a: f32[2,3], %b: f32[3,4]) {\n  %y: f32[2,4] = bmm %a, %b\n  return %y\n}',
    );
    // 2·M·N·K = 2·2·4·3; bytes: (6 + 12 + 8) floats · 4
    expect(graphStats(g, {})).toEqual({ ops: { bmm: 1 }, nodes: 1, flops: 48, bytes: 104 });
  });
  it('fusion keeps the arithmetic (within the softmax estimate) and cuts the bytes moved', () => {
    const g = buildModel('causal-self-attention:dim=64,heads=4').graph;
    const [a, b] = [graphStats(g, { B: 1, T: 256 }), graphStats(optimize(g), { B: 1, T: 256 })];
    expect(Math.abs(b.flops - a.flops) / a.flops).toBeLessThan(0.05);
    expect(b.bytes).toBeLessThan(a.bytes / 5);
    expect(
      formatStats([
        { title: 'before', stats: a },
        { title: 'after', stats: b },
      ]),
    ).toMatch(/^softmax\s+1\s+0$/m);
  });
});
