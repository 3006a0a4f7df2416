import { describe, expect, it } from 'vitest';
import { argLayout, TASK_ROWS, writeArgs } from './args.js';

describe('argLayout', () => {
  it('gives each field its words in order, runs and f32 fields included', () => {
    const L = argLayout([...TASK_ROWS, ['dims', 3], 'x', ['eps', 'f32'], 'y']);
    expect([L.perTask, L.rows, L.dims, L.x, L.eps, L.y, L.words]).toEqual([0, 1, 2, 5, 6, 7, 8]);
    expect(Object.isFrozen(L)).toBe(true);
  });

  it('refuses a repeated or reserved name', () => {
    expect(() => argLayout(['a', 'a'])).toThrow(/'a'/);
    expect(() => argLayout(['words'])).toThrow(/'words'/);
    expect(() => argLayout(['fields'])).toThrow(/'fields'/);
  });

  it('writeArgs writes every field by name at its word, f32 as f32, runs from arrays', () => {
    const L = argLayout(['n', ['dims', 3], ['scale', 'f32'], 'x']);
    const buf = new ArrayBuffer(64);
    const mem = { i32: new Int32Array(buf), f32: new Float32Array(buf) };
    writeArgs(mem, 16, L, { n: 7, dims: [1, 2, 3], scale: 0.5, x: -4 });
    expect([...mem.i32.subarray(4, 4 + L.words)].filter((_, i) => i !== L.scale)).toEqual([
      7, 1, 2, 3, -4,
    ]);
    expect(mem.f32[4 + L.scale]).toBe(0.5);
    expect(mem.i32.subarray(0, 4).every((x) => x === 0)).toBe(true);
    expect(() => writeArgs(mem, 16, L, { n: 7, dims: [1, 2, 3, 4], scale: 0, x: 0 })).toThrow(
      /'dims' takes 3 words/,
    );
    // @ts-expect-error: every field must be given
    writeArgs(mem, 16, L, { n: 7, dims: [1, 2, 3], scale: 0.5 });
  });

  it('writeArgs writes a block at or past 2 GiB of a memory (byte offsets are unsigned)', () => {
    // 2 GiB + 64 KiB of WebAssembly memory: reserved, not touched but for one page.
    const memory = new WebAssembly.Memory({ initial: 32769 });
    const mem = { i32: new Int32Array(memory.buffer), f32: new Float32Array(memory.buffer) };
    const L = argLayout(['M', 'N']);
    writeArgs(mem, 2 ** 31, L, { M: 8388608, N: 48 });
    expect([mem.i32[2 ** 29 + L.M], mem.i32[2 ** 29 + L.N]]).toEqual([8388608, 48]);
  });
});
