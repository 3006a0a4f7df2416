/**
 * Relaxed SIMD: where the engine has it (Node 20 behind --experimental-wasm-relaxed-simd),
 * the matmul micro-kernels — the GEMM's and attention's — use f32x4.relaxed_madd. A child
 * process with the flag runs a linear layer and causal attention on wasm (2 threads: the
 * workers inherit the engine flag) and hands back its outputs, which must meet the same
 * contract as without: the linear within F32_TOL of the float64 reference, attention row by
 * row against its written-out form.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Graph, Tensor } from '@glimpse/ir';
import { buildGraph, interpret } from '@glimpse/ir';
import { WasmExecutable } from '@glimpse/backend-wasm';
import { expectAttentionContract } from '../attention-naive.js';
import { ROOT } from '../cli.js';
import { assertClose, F32_TOL, tensor } from '../helpers.js';

const linear = buildGraph('lin', (b) =>
  b.op('linear', [b.input('x', 'f32', [70, 300]), b.input('w', 'f32', [45, 300])], {}, 'y'),
);
const attention = buildGraph('attn', (b) =>
  b.op(
    'attention',
    ['q', 'k', 'v'].map((n) => b.input(n, 'f32', [1, 2, 40, 24])),
    { causal: 'top_left' },
    'y',
  ),
);
const inputs: [Graph, Record<string, Tensor>][] = [
  [linear, { x: tensor('f32', [70, 300], 1), w: tensor('f32', [45, 300], 2) }],
  [
    attention,
    Object.fromEntries(['q', 'k', 'v'].map((n, i) => [n, tensor('f32', [1, 2, 40, 24], i + 3, 2)])),
  ],
];

/** Run the graphs on wasm in a child process with the engine flag; its outputs and fma flag. */
function runWithRelaxedSimd(): { fma: boolean; workers: number; outputs: number[][] } {
  const payload = JSON.stringify(
    inputs.map(([g, x]) => ({
      graph: g.toSpec(),
      x: Object.fromEntries(
        Object.entries(x).map(([k, t]) => [
          k,
          { shape: t.shape, data: Array.from(t.data as Float32Array) },
        ]),
      ),
    })),
  );
  const script = `
    import { Graph } from '@glimpse/ir';
    import { WasmExecutable } from '@glimpse/backend-wasm';
    let text = '';
    for await (const chunk of process.stdin) text += chunk;
    const cases = JSON.parse(text);
    const outputs = [];
    let fma, workers;
    for (const c of cases) {
      const exe = new WasmExecutable(Graph.create(c.graph), { threads: 2 });
      const x = Object.fromEntries(Object.entries(c.x).map(([k, t]) => [k, { dtype: 'f32', shape: t.shape, data: Float32Array.from(t.data) }]));
      outputs.push(Array.from((await exe.run(x)).y.data));
      fma = exe.fma;
      workers = exe.workers;
      await exe.release();
    }
    console.log(JSON.stringify({ fma, workers, outputs }));
  `;
  const file = `${ROOT}test-output/relaxed-simd-child.mjs`;
  mkdirSync(`${ROOT}test-output`, { recursive: true });
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', file], {
    cwd: ROOT,
    input: payload,
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 * 2 ** 20,
  });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('wasm with relaxed SIMD (fused multiply-add)', () => {
  it('uses relaxed_madd where the engine has it, and meets the contract', async () => {
    const got = runWithRelaxedSimd();
    expect(got.fma).toBe(true);
    expect(got.workers).toBe(1);
    const [lin, att] = got.outputs as [number[], number[]];
    const [lx, ax] = [inputs[0]![1], inputs[1]![1]];
    assertClose(
      { dtype: 'f32', shape: [70, 45], data: Float32Array.from(lin) },
      interpret(linear, lx).y!,
      F32_TOL,
      'linear with relaxed madd',
      300,
    );
    // The fused op's output is the child's; its written-out twin runs here (the baseline).
    await expectAttentionContract('attention with relaxed madd', attention, ax, async (g) =>
      g === attention
        ? { dtype: 'f32', shape: [1, 2, 40, 24], data: Float32Array.from(att) }
        : (await new WasmExecutable(g, { threads: 1 }).run(ax)).y!,
    );
  });
});
