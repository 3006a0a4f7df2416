/** One compile serves every binding of the symbols: self-attention at T = 1, 7 and 300. */
import { describe, expect, it } from 'vitest';
import { interpret } from '@glimpse/ir';
import { compile, models } from 'glimpse';
import { assertClose, tensor } from './helpers.js';

describe('symbolic shapes', () => {
  it('one compiled self-attention runs at T = 1, 7 and 300', async () => {
    const g = models.selfAttention({ dim: 16 });
    const exe = await compile(g, { backend: 'js', level: 0 });
    for (const T of [1, 7, 300, 7]) {
      const x = tensor('f32', [2, T, 16], T);
      const got = await exe.run({ x });
      expect(got.y!.shape).toEqual([2, T, 16]);
      assertClose(got.y!, interpret(g, { x }).y!, undefined, `T=${T}`, 4);
    }
  });
  it('bare typed arrays take their shape from options.shapes', async () => {
    const g = models.selfAttention({ dim: 8 });
    const exe = await compile(g);
    const x = tensor('f32', [2, 5, 8], 3);
    const got = await exe.run({ x: x.data }, { shapes: { B: 2, T: 5 } });
    assertClose(got.y!, interpret(g, { x }).y!);
    await expect(exe.run({ x: x.data })).rejects.toThrow(
      /bare array but its shape \[B,T,8\] is not fixed/,
    );
  });
  it('the memory planner reuses buffers: planned peak below one buffer per value', async () => {
    const exe = await compile(models.transformerBlock({ dim: 32, heads: 4, hidden: 64 }), {
      level: 0,
    });
    const m = await exe.memory({ B: 1, T: 64 });
    expect(m.peakBytes).toBeLessThan(m.unplannedBytes);
    // The largest single value, the [1,4,64,64] scores, must fit in the plan.
    expect(m.peakBytes).toBeGreaterThanOrEqual(4 * 64 * 64 * 4);
  });
  it('fused attention never plans the T×T scores: planned peak grows linearly in T at -O2', async () => {
    const g = models.causalSelfAttention({ dim: 32, heads: 4 });
    const o0 = await compile(g, { level: 0 });
    const o2 = await compile(g, { level: 2 });
    const peak = async (e: typeof o0, T: number) => {
      const m = await e.memory({ B: 1, T });
      return m.peakBytes + m.scratchBytes;
    };
    // Unfused: 4 heads × T² floats of scores appear; fused: only [T, dim]-sized values.
    expect((await o0.memory({ B: 1, T: 1024 })).peakBytes).toBeGreaterThanOrEqual(
      4 * 1024 * 1024 * 4,
    );
    expect((await o2.memory({ B: 1, T: 1024 })).peakBytes).toBeLessThan(20 * 1024 * 32 * 4);
    // Doubling T at most doubles the fused plan (plus constant scratch).
    expect(await peak(o2, 2048)).toBeLessThanOrEqual(2 * (await peak(o2, 1024)));
  });
});
