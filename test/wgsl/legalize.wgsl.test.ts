/**
 * WGSL legalisation: the backend declines fused attention whose prefill kernel would hold
 * one query row per invocation (wide heads) and gets it lowered; -O2 through `compile()`
 * then runs the written-out ops, whose answers are the graph's own.
 */
import { expect, it } from 'vitest';
import type { Graph } from '@glimpse/ir';
import { interpret, parseGraph } from '@glimpse/ir';
import { buildModel } from '@glimpse/models';
import { declinesWgsl } from '@glimpse/backend-wgsl';
import { compile } from 'glimpse';
import { assertClose, F32_TOL, tensor } from '../helpers.js';
import { describeGpu } from './gpu.js';

const attention = (q: string, v: string, attrs = '') =>
  parseGraph(`graph @a(%q: f32[${q}], %k: f32[${q}], %v: f32[${v}]) {
  %y: f32[${v.replace(/,[^,]+$/, '')},${v.split(',').at(-1)}] = attention${attrs} %q, %k, %v
  return %y
}`);
const decision = (g: Graph) =>
  declinesWgsl(
    g.nodes.find((n) => n.op === 'attention')!,
    g,
  );

describeGpu('WGSL declines wide-head attention', () => {
  it('declines dh=dv=256 in prefill, with the reason; takes 128, and decode at any width', () => {
    expect(decision(attention('1,2,T,256', '1,2,T,256'))).toMatch(
      /head size dh=256, dv=256: the WGSL prefill kernel would keep one query row per invocation/,
    );
    expect(decision(attention('1,2,T,128', '1,2,T,128'))).toBeUndefined();
    expect(decision(attention('1,2,1,512', '1,2,1,512'))).toBeUndefined();
    // bshd: T is axis 1.
    expect(decision(attention('1,T,2,512', '1,T,2,512', '[layout=bshd]'))).toMatch(/dh=512/);
    expect(decision(attention('1,3,2,512', '1,3,2,512', '[layout=bshd]'))).toBeUndefined();
  });
  it('self-attention dim=256 at -O2 runs lowered on WGSL and equals the reference', async () => {
    const g = buildModel('self-attention:dim=256').graph;
    const exe = await compile(g, { backend: 'wgsl', level: 2 });
    expect(exe.graph.nodes.some((n) => n.op === 'attention')).toBe(false);
    expect(exe.graph.nodes.some((n) => n.op === 'softmax')).toBe(true);
    const x = tensor('f32', [1, 6, 256], 11);
    assertClose((await exe.run({ x })).y!, interpret(g, { x }).y!, F32_TOL);
    // dim=128 stays fused.
    const narrow = await compile(buildModel('self-attention:dim=128').graph, { backend: 'wgsl' });
    expect(narrow.graph.nodes.some((n) => n.op === 'attention')).toBe(true);
    await exe.release();
    await narrow.release();
  });
});
