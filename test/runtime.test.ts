/**
 * The shared runtime: backends plug in through one interface and registry (never depending
 * on each other: test/layering.test.ts), declare their options, and share the binding
 * cache, planner and input handling.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Backend, Executable, Graph, Tensor } from 'glimpse';
import {
  BackendOptionError,
  backends,
  bisect,
  buildGraph,
  compile,
  defaultThreads,
  getBackend,
  interpret,
  models,
  optionNames,
  planGraph,
  refToTensor,
  registerBackend,
  unregisterBackend,
} from 'glimpse';
import { BindingCache, prepareInputs } from '@glimpse/runtime';
import { assertClose, tensor } from './helpers.js';

describe('BindingCache', () => {
  const g = buildGraph('g', (b) => b.op('relu', [b.input('x', 'f32', ['A', 'B'])], {}));
  it('keeps the most recently used bindings and evicts the least recently used (model check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 40 }),
        (capacity, uses) => {
          const evicted: number[] = [];
          const cache = new BindingCache<number>(g, (t) => evicted.push(t), capacity);
          let recent: number[] = []; // the model: least recent first
          const expectEvicted: number[] = [];
          for (const a of uses) {
            let made = false;
            const got = cache.get({ A: a, B: 1 }, () => ((made = true), a));
            expect(got).toBe(a);
            expect(made).toBe(!recent.includes(a));
            if (!recent.includes(a) && recent.length === capacity)
              expectEvicted.push(recent.shift()!);
            recent = [...recent.filter((x) => x !== a), a];
          }
          expect(evicted).toEqual(expectEvicted);
          expect(cache.keys()).toEqual(recent.map((a) => `A=${a},B=1`));
          cache.clear();
          expect(evicted).toEqual([...expectEvicted, ...recent]);
          expect(cache.keys()).toEqual([]);
        },
      ),
    );
  });
  it('a hit refreshes: the binding used again outlives one used once after it', () => {
    const evicted: string[] = [];
    const cache = new BindingCache<string>(g, (t) => evicted.push(t), 2);
    cache.get({ A: 1, B: 1 }, () => 'one');
    cache.get({ A: 2, B: 1 }, () => 'two');
    cache.get({ A: 1, B: 1 }, () => 'again'); // a hit: 'one' is now the most recent
    cache.get({ A: 3, B: 1 }, () => 'three');
    expect(evicted).toEqual(['two']);
  });
});

/** A backend written in a test: runs the float64 reference, declines every attention. */
const toy: Backend = {
  name: 'toy',
  description: 'the reference interpreter as a backend',
  declines: (n) => (n.op === 'attention' ? 'the toy runs attention only written out' : undefined),
  async compile(graph: Graph): Promise<Executable> {
    let released = 0;
    return {
      backend: 'toy',
      graph,
      async run(inputs, options) {
        const { tensors, binding } = prepareInputs(graph, inputs, options);
        const out = interpret(graph, tensors, { shapes: binding });
        return Object.fromEntries(
          Object.entries(out).map(([k, v]) => [k, refToTensor(v) as Tensor]),
        );
      },
      async memory(binding) {
        const p = planGraph(graph, binding);
        return { ...p, paramBytes: 0, scratchBytes: released };
      },
      async release() {
        released++;
      },
    };
  },
};

describe('backends plug in through the registry', () => {
  it('a toy backend registered here runs through compile(), with its declined nodes lowered', async () => {
    registerBackend(toy);
    try {
      expect(backends()).toEqual(['wasm', 'js', 'wgsl', 'toy']);
      const g = models.causalSelfAttention({ dim: 16, heads: 2 });
      const exe = await compile(g, { backend: 'toy' });
      expect(exe.backend).toBe('toy');
      // -O2 fused the attention; the toy declined it, so it runs written out.
      const js = await compile(g, { backend: 'js' });
      expect(js.graph.nodes.some((n) => n.op === 'attention')).toBe(true);
      expect(backends()).toContain('toy');
      expect(exe.graph.nodes.some((n) => n.op === 'attention')).toBe(false);
      expect(exe.graph.nodes.some((n) => n.op === 'softmax')).toBe(true);
      const x = tensor('f32', [1, 5, 16], 7);
      const want = interpret(g, { x }).y!;
      const got = (await exe.run({ x })).y!;
      assertClose(got, want, { rtol: 1e-6, atol: 1e-7 });
      const m = await exe.memory({ B: 1, T: 5 });
      expect(m.peakBytes).toBeGreaterThan(0);
      await exe.release();
      expect((await exe.memory({ B: 1, T: 5 })).scratchBytes).toBe(1);
    } finally {
      unregisterBackend('toy');
    }
  });
  it('an unknown backend is a clear error naming the registered ones', async () => {
    const g = models.selfAttention({ dim: 8 });
    await expect(compile(g, { backend: 'nope' })).rejects.toThrow(
      /unknown backend 'nope' \(available: wasm, js, wgsl\)/,
    );
  });
  it('a second, different backend under a taken name is refused', () => {
    expect(() => registerBackend({ ...toy, name: 'js' })).toThrow(/already registered/);
  });
  it('every backend reports memory with the same fields', async () => {
    const g = models.selfAttention({ dim: 8 });
    const js = await (await compile(g, { backend: 'js' })).memory({ B: 1, T: 4 });
    const wasm = await (await compile(g, { backend: 'wasm', threads: 1 })).memory({ B: 1, T: 4 });
    for (const m of [js, wasm])
      expect(Object.keys(m).sort()).toEqual([
        'paramBytes',
        'peakBytes',
        'scratchBytes',
        'unplannedBytes',
      ]);
    // The same planner: the same planned peak for the same graph and binding.
    expect(wasm.peakBytes).toBe(js.peakBytes);
    // planGraph (what dump --stats reports) is the JS backend's plan, without compiling.
    const plan = planGraph((await compile(g, { backend: 'js' })).graph, { B: 1, T: 4 });
    expect(plan.peakBytes).toBe(js.peakBytes);
  });
});

describe('backend options: each backend declares its own, compile() refuses the others', () => {
  const g = models.selfAttention({ dim: 8 });
  it('an option the backend does not take is a BackendOptionError naming it and the known ones', async () => {
    const misspelt = compile(g, { backend: 'wasm', thraeds: 2 } as never);
    await expect(misspelt).rejects.toThrow(BackendOptionError);
    await expect(misspelt).rejects.toThrow(
      "backend 'wasm' has no option 'thraeds' (its options: threads)",
    );
    const e = await compile(g, { backend: 'js', threads: 2 } as never).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BackendOptionError);
    expect(e).toMatchObject({ code: 'E_ATTR', backend: 'js', option: 'threads' });
    expect((e as Error).message).toBe("backend 'js' has no option 'threads' (it takes none)");
    // A backend registered without options takes none either.
    registerBackend(toy);
    try {
      await expect(compile(g, { backend: 'toy', threads: 1 } as never)).rejects.toThrow(
        "backend 'toy' has no option 'threads' (it takes none)",
      );
    } finally {
      unregisterBackend('toy');
    }
  });
  it("a registered backend that declares options gets its own options only, not compile()'s", async () => {
    const seen: object[] = [];
    const tuned: Backend<Executable, { tile?: number }> = {
      ...toy,
      name: 'tuned',
      options: { tile: 'a tile size' },
      compile: async (graph, options) => (seen.push({ ...options }), toy.compile(graph)),
    };
    registerBackend(tuned);
    try {
      await compile(g, { backend: 'tuned', level: 1, frozenParams: true, tile: 4 } as never);
      await compile(g, { backend: 'tuned' });
      expect(seen).toEqual([{ tile: 4 }, {}]);
      await expect(compile(g, { backend: 'tuned', tiles: 4 } as never)).rejects.toThrow(
        "backend 'tuned' has no option 'tiles' (its options: tile)",
      );
    } finally {
      unregisterBackend('tuned');
    }
  });
  it('the backends declare what they take', () => {
    expect(optionNames(getBackend('wasm'))).toEqual(['threads']);
    expect(optionNames(getBackend('js'))).toEqual([]);
    expect(optionNames(getBackend('wgsl'))).toEqual([]);
  });
  it('wasm: threads is an integer from 1 to 64, refused otherwise in one line', async () => {
    for (const [threads, shown] of [
      [0, '0'],
      [1.5, '1.5'],
      [65, '65'],
      [NaN, 'NaN'],
      ['2', "'2'"],
    ] as const) {
      const e = await compile(g, { backend: 'wasm', threads: threads as number }).catch(
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(BackendOptionError);
      expect((e as Error).message).toBe(
        `wasm backend: threads must be an integer from 1 to 64, got ${shown}`,
      );
    }
  });
  it('the wasm executable reports the threads it runs on', async () => {
    for (const threads of [1, 2, 3]) {
      const exe = await compile(g, { backend: 'wasm', threads });
      expect(exe.threads).toBe(threads);
      expect(exe.backend).toBe('wasm');
    }
    expect((await compile(g, { backend: 'wasm' })).threads).toBe(defaultThreads());
  });
  it('bisect gives threads to the side that takes them, and refuses them when neither does', async () => {
    const x = tensor('f32', [1, 3, 8], 3);
    const r = await bisect(g, { x }, { backend: 'js', against: 'wasm', threads: 1 });
    expect(r.first).toBeUndefined();
    await expect(bisect(g, { x }, { backend: 'js', threads: 1 })).rejects.toThrow(
      "backend 'js' has no option 'threads' (it takes none)",
    );
    await expect(bisect(g, { x }, { backend: 'wasm', threads: 0 })).rejects.toThrow(
      'wasm backend: threads must be an integer from 1 to 64, got 0',
    );
  });
});

describe("run's outputs option: the caller's arrays receive the outputs", () => {
  // Two outputs of different dtypes, one of them symbolic in T.
  const g = buildGraph('two', (b) => {
    const x = b.input('x', 'f32', [2, 'T']);
    return [
      b.op('exp', [x], {}, 'e'),
      b.op('less', [b.constant(0, 'f32', [], 'zero'), x], {}, 'pos'),
    ];
  });
  for (const backend of ['js', 'wasm'] as const)
    it(`${backend}: writes into the given arrays, returns them, equal to a fresh run`, async () => {
      const exe = await compile(g, { backend, ...(backend === 'wasm' ? { threads: 1 } : {}) });
      for (const T of [3, 5]) {
        const x = tensor('f32', [2, T], T);
        const fresh = await exe.run({ x });
        const e = new Float32Array(2 * T).fill(NaN);
        const pos = new Uint8Array(2 * T).fill(7);
        const got = await exe.run({ x }, { outputs: { e, pos } });
        expect(got.e!.data).toBe(e);
        expect(got.pos!.data).toBe(pos);
        expect(Array.from(e)).toEqual(Array.from(fresh.e!.data as Float32Array));
        expect(Array.from(pos)).toEqual(Array.from(fresh.pos!.data as Uint8Array));
        // Only some outputs given: the others come back in fresh arrays.
        const half = await exe.run({ x }, { outputs: { e } });
        expect(half.e!.data).toBe(e);
        expect(Array.from(half.pos!.data as Uint8Array)).toEqual(Array.from(pos));
      }
    });
  it('a wrong name, array type or size is an InputError before anything runs', async () => {
    const exe = await compile(g, { backend: 'js' });
    const x = tensor('f32', [2, 3], 1);
    await expect(exe.run({ x }, { outputs: { nope: new Float32Array(6) } })).rejects.toThrow(
      /options.outputs names 'nope', which is not an output \(outputs: e, pos\)/,
    );
    await expect(exe.run({ x }, { outputs: { e: new Float64Array(6) } })).rejects.toThrow(
      /options.outputs\['e'\]: f32 data must be a Float32Array, got Float64Array/,
    );
    await expect(exe.run({ x }, { outputs: { e: new Float32Array(5) } })).rejects.toThrow(
      /options.outputs\['e'\]: 5 elements do not fill shape \[2,3\] \(6\)/,
    );
  });
});
