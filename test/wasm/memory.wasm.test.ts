/**
 * The wasm backend's memory and its limits: a binding that would pass WebAssembly's 4 GiB
 * is one clear error before anything grows; the planner's peak is what it lays out; a page
 * without SharedArrayBuffer runs on one thread and says so once.
 */
import { describe, expect, it, vi } from 'vitest';
import { buildGraph, RuntimeError } from '@glimpse/ir';
import { WasmExecutable } from '@glimpse/backend-wasm';
import { tensor } from '../helpers.js';

describe('wasm memory', () => {
  it('a binding past 4 GiB is an E_RUNTIME error naming the graph, binding and bytes', async () => {
    // [T] → [T, T] → a sum: at T = 40000 the expanded value alone is 6.4 GB.
    const g = buildGraph('big', (b) => {
      const x = b.input('x', 'f32', ['T']);
      const e = b.op('expand', [b.reshape(x, [1, 'T'])], { shape: ['T', 'T'] });
      return b.op('reduce_sum', [e], { axes: [0, 1] }, 'y');
    });
    const exe = new WasmExecutable(g, { threads: 1 });
    const err = await exe
      .run({ x: { dtype: 'f32', shape: [40000], data: new Float32Array(40000) } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe('E_RUNTIME');
    expect((err as Error).message).toMatch(
      /^'big' at \{"T":40000\} needs \d+ bytes of WebAssembly memory; a WebAssembly memory holds at most 4 GiB/,
    );
    // The same executable still runs a binding that fits.
    const ok = await exe.run({ x: tensor('f32', [3], 1) });
    expect(ok.y!.shape).toEqual([]);
  });
  it('without SharedArrayBuffer: one thread, said once', async () => {
    const g = buildGraph('r', (b) => b.op('relu', [b.input('x', 'f32', [4])], {}, 'y'));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const sab = globalThis.SharedArrayBuffer;
    try {
      delete (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer;
      const a = new WasmExecutable(g, { threads: 2 });
      const b = new WasmExecutable(g, { threads: 2 });
      expect([a.threads, b.threads]).toEqual([1, 1]);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(
        /SharedArrayBuffer is unavailable.*one thread/,
      );
      expect(
        Array.from((await a.run({ x: tensor('f32', [4], 2) })).y!.data as Float32Array),
      ).toHaveLength(4);
    } finally {
      globalThis.SharedArrayBuffer = sab;
      warn.mockRestore();
    }
  });
});
