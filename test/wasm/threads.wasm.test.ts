/**
 * The wasm backend's threads are real worker_threads over one shared memory. Work is split
 * by output elements (GEMM tiles, attention row chunks and key splits, rows of elementwise programs,
 * layer_norm and softmax),
 * each computed by the same code whatever thread claims it: 2 threads must give the
 * 1-thread result bit for bit, NaN positions included, for random shapes of every
 * threaded kernel. A process that ran a model exits by itself.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph, Tensor } from '@glimpse/ir';
import { buildGraph } from '@glimpse/ir';
import { WasmExecutable } from '@glimpse/backend-wasm';
import { BIN, ROOT } from '../cli.js';
import { tensor } from '../helpers.js';

async function sameOnTwoThreads(g: Graph, x: Record<string, Tensor>) {
  const one = new WasmExecutable(g, { threads: 1 });
  const two = new WasmExecutable(g, { threads: 2 });
  try {
    const a = (await one.run(x)).y!;
    const b = (await two.run(x)).y!;
    expect(two.workers).toBe(1);
    expect(b.shape).toEqual(a.shape);
    const bits = (t: Tensor) => new Uint32Array((t.data as Float32Array).slice().buffer);
    expect(bits(b)).toEqual(bits(a));
  } finally {
    await one.release();
    await two.release();
  }
  expect(two.workers).toBe(0);
}

const dim = (max: number) => fc.integer({ min: 1, max });

describe('wasm threads: 2 threads ≡ 1 thread, bit for bit', () => {
  it('linear and bmm (GEMM tiles over rows and panels)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ M: dim(150), K: dim(300), N: dim(90), B: dim(3), s: fc.nat(1000) }),
        async ({ M, K, N, B, s }) => {
          const lin = buildGraph('lin', (b) =>
            b.op(
              'linear',
              [b.input('x', 'f32', [M, K]), b.input('w', 'f32', [N, K]), b.input('c', 'f32', [N])],
              {},
              'y',
            ),
          );
          await sameOnTwoThreads(lin, {
            x: tensor('f32', [M, K], s, 1, 0.01),
            w: tensor('f32', [N, K], s + 1),
            c: tensor('f32', [N], s + 2),
          });
          const mm = buildGraph('mm', (b) =>
            b.bmm(
              b.input('a', 'f32', [B, M, K]),
              b.input('b', 'f32', [B, N, K]),
              { transpose_b: true },
              'y',
            ),
          );
          await sameOnTwoThreads(mm, {
            a: tensor('f32', [B, M, K], s),
            b: tensor('f32', [B, N, K], s + 1),
          });
        },
      ),
      { numRuns: 12 },
    );
  });
  it('attention (head × row-chunk × key-split tasks), causal and masked', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          H: dim(3),
          // Short queries over long keys take key splits.
          T: fc.oneof(dim(70), dim(9)),
          S: fc.oneof(dim(300), fc.integer({ min: 512, max: 1500 })),
          dh: dim(40),
          causal: fc.constantFrom('none', 'top_left', 'bottom_right'),
          rows: fc.constantFrom('nan', 'zero', 'mask'),
          s: fc.nat(1000),
        }),
        async ({ H, T, S, dh, causal, rows, s }) => {
          const g = buildGraph('attn', (b) =>
            b.op(
              'attention',
              [
                b.input('q', 'f32', [1, H, T, dh]),
                b.input('k', 'f32', [1, H, S, dh]),
                b.input('v', 'f32', [1, H, S, dh]),
                b.input('m', 'f32', [T, S]),
              ],
              { causal, masked_rows: rows },
              'y',
            ),
          );
          await sameOnTwoThreads(g, {
            q: tensor('f32', [1, H, T, dh], s, 2, 0.01),
            k: tensor('f32', [1, H, S, dh], s + 1, 2),
            v: tensor('f32', [1, H, S, dh], s + 2, 1, 0.01),
            m: tensor('f32', [T, S], s + 3),
          });
        },
      ),
      { numRuns: 12 },
    );
  });
  it('layer_norm and softmax (row tasks)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ R: dim(2000), C: dim(70), s: fc.nat(1000) }),
        async ({ R, C, s }) => {
          const g = buildGraph('rows', (b) => {
            const x = b.input('x', 'f32', [R, C]);
            const n = b.op(
              'layer_norm',
              [x, b.input('w', 'f32', [C]), b.input('c', 'f32', [C])],
              {},
            );
            return b.op('softmax', [n], { axis: -1 }, 'y');
          });
          await sameOnTwoThreads(g, {
            x: tensor('f32', [R, C], s, 3, 0.01),
            w: tensor('f32', [C], s + 1),
            c: tensor('f32', [C], s + 2),
          });
        },
      ),
      { numRuns: 10 },
    );
  });
  it('elementwise programs (row tasks)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ R: dim(3000), C: dim(70), s: fc.nat(1000) }),
        async ({ R, C, s }) => {
          const g = buildGraph('ew', (b) =>
            b.op(
              'elementwise',
              [b.input('x', 'f32', [R, C]), b.input('c', 'f32', [C])],
              { program: ['$0', 'gelu', '$1', 'add', 'tanh'] },
              'y',
            ),
          );
          await sameOnTwoThreads(g, {
            x: tensor('f32', [R, C], s, 4, 0.01),
            c: tensor('f32', [C], s + 1),
          });
        },
      ),
      { numRuns: 10 },
    );
  });
});

describe('wasm threads and the process', () => {
  it('a process that ran a model on 2 threads, without release(), exits by itself', () => {
    const script = `
      import { compile, models } from 'glimpse';
      const exe = await compile(models.selfAttention({ dim: 32 }), { backend: 'wasm', threads: 2 });
      const { y } = await exe.run({ x: { dtype: 'f32', shape: [1, 40, 32], data: new Float32Array(1280).fill(0.5) } });
      console.log('ran', exe.workers, y.shape.join('x'));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module'], {
      input: script,
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ran 1 1x40x32');
    expect(r.status).toBe(0);
  });

  it('a process started with V8 and process-wide flags still runs on threads', () => {
    // Node refuses --expose-gc, --max-old-space-size and --title in a worker's execArgv;
    // they are the process's already. --no-warnings is per thread and is passed.
    const r = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        '--max-old-space-size=2048',
        '--title=glimpse-test',
        '--no-warnings',
        BIN,
        'run',
        'self-attention:dim=16',
        '--shape',
        'B=1,T=4',
        '--backend',
        'wasm',
        '--threads',
        '2',
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^y: f32\[1,4,16\]/);
    expect(r.status).toBe(0);
  });
});
