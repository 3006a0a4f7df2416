/**
 * The WebGPU runtime: surfaced shader errors, one pipeline for every T, bad ids, boundary
 * dtypes, shared memory, device limits, a missing adapter, released devices.
 */
import { expect, it } from 'vitest';
import type { Tensor } from '@glimpse/ir';
import { buildGraph, compile, interpret, models } from 'glimpse';
import {
  compileWgsl,
  gpuDevice,
  pipelineCount,
  pipelineFor,
  releaseGpu,
  ShaderError,
} from '@glimpse/backend-wgsl';
import { cliProcessEnv } from '../cli.js';
import { assertClose, tensor } from '../helpers.js';
import { checkWgsl, describeGpu } from './gpu.js';

describeGpu('WGSL runtime', () => {
  it('a shader that fails to compile reports the WGSL, the compiler message and the node', async () => {
    const device = await gpuDevice();
    const wgsl = '@compute @workgroup_size(1)\nfn main() {\n  let x: f32 = undefined_thing;\n}';
    const err = await pipelineFor(device, wgsl, { node: 'scores', op: 'softmax' }).catch((e) => e);
    expect(err).toBeInstanceOf(ShaderError);
    expect(err.code).toBe('E_DEVICE');
    expect(err.message).toMatch(/node %scores \(softmax\): WGSL shader failed to compile: line 3:/);
    expect(err.message).toContain('undefined_thing');
    expect(err.wgsl).toBe(wgsl);
    expect(err.messages.length).toBeGreaterThan(0);
  });

  it('one pipeline per shader serves every T (symbolic dims are uniforms)', async () => {
    const exe = await compile(models.selfAttention({ dim: 64 }), { backend: 'wgsl', level: 2 });
    const device = await gpuDevice();
    const run = async (T: number) => {
      const x = tensor('f32', [2, T, 64], T);
      const ref = interpret(exe.graph, { x });
      assertClose((await exe.run({ x })).y!, ref.y!, undefined, `T=${T}`, 10);
    };
    await run(5);
    const n = pipelineCount(device);
    for (const T of [7, 33, 300]) await run(T);
    expect(pipelineCount(device)).toBe(n);
  });

  it('an embedding id out of range fails the run with a RuntimeError naming the node', async () => {
    const g = buildGraph('emb', (b) =>
      b.op(
        'embedding',
        [
          b.input('ids', 'i32', [4]),
          b.param('w', 'f32', [5, 3], { kind: 'uniform', low: -1, high: 1 }),
        ],
        {},
        'y',
      ),
    );
    const exe = await compileWgsl(g);
    const bad = { ids: { dtype: 'i32' as const, shape: [4], data: Int32Array.from([0, 4, 7, 1]) } };
    await expect(exe.run(bad)).rejects.toThrow(
      /node %y \(embedding\): embedding index out of range \[0, 5\) at position 2/,
    );
    // The status is reset: a good run afterwards succeeds.
    const good = {
      ids: { dtype: 'i32' as const, shape: [4], data: Int32Array.from([0, 4, 3, 1]) },
    };
    assertClose((await exe.run(good)).y!, interpret(g, good).y!);
  });

  it('a gather index out of range fails the run on both backends, naming the node', async () => {
    const g = buildGraph('gat', (b) =>
      b.op('gather', [b.input('x', 'f32', [2, 3]), b.input('i', 'i32', [4])], { axis: 1 }, 'y'),
    );
    const bad = {
      x: tensor('f32', [2, 3], 1),
      i: { dtype: 'i32' as const, shape: [4], data: Int32Array.from([0, -3, 3, 1]) },
    };
    const msg =
      /node %y \(gather\): gather index 3 out of range \[-3, 3\) at position 2|node %y \(gather\): gather index out of range \[-3, 3\) at position 2/;
    await expect((await compileWgsl(g)).run(bad)).rejects.toThrow(msg);
    await expect((await compile(g, { level: 0 })).run(bad)).rejects.toThrow(msg);
  });

  it('f16, i64 and bool at the boundary; inputs on a SharedArrayBuffer', async () => {
    const g = buildGraph('io', (b) => {
      const h = b.op('relu', [b.input('h', 'f16', [5])], {}, 'hr');
      const e = b.op(
        'embedding',
        [
          b.input('ids', 'i64', [3]),
          b.param('w', 'f32', [4, 2], { kind: 'uniform', low: -1, high: 1 }),
        ],
        {},
        'e',
      );
      const n = b.op('not', [b.input('m', 'bool', [4])], {}, 'n');
      return [h, e, n];
    });
    const shared = new Float32Array(new SharedArrayBuffer(5 * 4));
    shared.set([1, -2, 3, -4, 0.5]);
    const x: Record<string, Tensor> = {
      h: tensor('f16', [5], 1),
      ids: { dtype: 'i64', shape: [3], data: BigInt64Array.from([3n, 0n, 2n]) },
      m: { dtype: 'bool', shape: [4], data: Uint8Array.from([1, 0, 0, 1]) },
    };
    const got = await (await compileWgsl(g)).run(x);
    const ref = interpret(g, x);
    for (const o of g.outputs) assertClose(got[o]!, ref[o]!, undefined, o);
    expect(got.n!.data).toBeInstanceOf(Uint8Array);
    expect(got.hr!.data).toBeInstanceOf(Uint16Array);
    const sab = buildGraph('sab', (b) => b.op('exp', [b.input('x', 'f32', [5])], {}, 'y'));
    await checkWgsl(sab, { x: { dtype: 'f32', shape: [5], data: shared } });
  });

  it('a value past the device storage-buffer limit is refused before anything is sized by it', async () => {
    const device = await gpuDevice();
    const n = Math.floor(device.limits.maxStorageBufferBindingSize / 4) + 1024;
    const g = buildGraph('big', (b) =>
      b.op('expand', [b.input('x', 'f32', [1])], { shape: [n] }, 'y'),
    );
    await expect(
      (await compileWgsl(g)).run({ x: { dtype: 'f32', shape: [1], data: Float32Array.of(1) } }),
    ).rejects.toThrow(/needs \d+ bytes, over this device's storage-buffer binding limit/);
  });

  it('concurrent runs of one executable each get their own result', async () => {
    const g = buildGraph('par', (b) =>
      b.op('scale', [b.input('x', 'f32', [64])], { factor: 3 }, 'y'),
    );
    const exe = await compileWgsl(g);
    const xs = [1, 2, 3, 4].map((s) => tensor('f32', [64], s));
    const outs = await Promise.all(xs.map((x) => exe.run({ x })));
    outs.forEach((o, i) => assertClose(o.y!, interpret(g, { x: xs[i]! }).y!));
  });

  it('after releaseGpu an old executable fails with a DeviceError; compiling again works', async () => {
    const g = buildGraph('rel', (b) => b.op('exp', [b.input('x', 'f32', [3])], {}, 'y'));
    const old = await compileWgsl(g);
    releaseGpu();
    const x = tensor('f32', [3], 1);
    await expect(old.run({ x })).rejects.toThrow(/released or lost; compile again/);
    await checkWgsl(g, { x });
  });
});

describeGpu('WGSL depthwise: an index outside [−1, S)', () => {
  it('fails the run with a RuntimeError naming the node and the position', async () => {
    const g = buildGraph('dw', (b) =>
      b.op(
        'depthwise',
        [
          b.input('x', 'f32', [1, 3, 4]),
          b.input('idx', 'i32', [2, 2]),
          b.input('w', 'f32', [2, 4]),
        ],
        {},
        'y',
      ),
    );
    const exe = await compile(g, { backend: 'wgsl' });
    const inputs = {
      x: new Float32Array(12),
      idx: Int32Array.from([0, 1, 5, -1]),
      w: new Float32Array(8),
    };
    await expect(exe.run(inputs)).rejects.toThrow(
      /node %y \(depthwise\): depthwise index out of range \[-1, 3\) at position 2/,
    );
  });
});

describeGpu("WGSL run's outputs option", () => {
  it('writes f32 and bool outputs into the given arrays and returns them', async () => {
    const g = buildGraph('two', (b) => {
      const x = b.input('x', 'f32', [2, 'T']);
      return [
        b.op('exp', [x], {}, 'e'),
        b.op('less', [b.constant(0, 'f32', [], 'zero'), x], {}, 'pos'),
      ];
    });
    const exe = await compile(g, { backend: 'wgsl' });
    const x = tensor('f32', [2, 5], 3);
    const fresh = await exe.run({ x });
    const [e, pos] = [new Float32Array(10).fill(NaN), new Uint8Array(10).fill(7)];
    const got = await exe.run({ x }, { outputs: { e, pos } });
    expect(got.e!.data).toBe(e);
    expect(got.pos!.data).toBe(pos);
    expect(Array.from(e)).toEqual(Array.from(fresh.e!.data as Float32Array));
    expect(Array.from(pos)).toEqual(Array.from(fresh.pos!.data as Uint8Array));
  });
});

describeGpu('no adapter', () => {
  it('glimpse run --backend wgsl without a Vulkan driver: one error line naming what to install, exit 2', () => {
    const r = cliProcessEnv(
      { VK_ICD_FILENAMES: '/nonexistent/icd.json' },
      'run',
      'self-attention',
      '--backend',
      'wgsl',
    );
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(
      /^glimpse: error: no WebGPU adapter found: .*does not exist; .*libvulkan1.*VK_ICD_FILENAMES/,
    );
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});
