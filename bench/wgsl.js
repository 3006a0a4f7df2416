#!/usr/bin/env node
// WGSL benchmarks on whatever WebGPU adapter this machine gives (SwiftShader where there is
// no GPU: there only ratios mean something). Nothing here is SwiftShader-specific, so the
// same script runs unchanged on a real GPU.
//  1. matmul GFLOP/s per kernel shape (bmm square aligned and unaligned, a linear layer);
//  2. attention core B=1, H=2, dh=64, T = 256…4096: fused (-O2, one flash-attention
//     dispatch) vs unfused (-O0: bmm, scale, softmax, bmm through T×T scores).
// Times are whole `run()` calls (upload, dispatches, readback) — what a user waits for —
// medians after a warm-up run that also compiles the pipelines. Every output is checked
// against the JS backend (itself tested against the float64 reference) before timing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { buildGraph } from '@glimpse/ir';
import { compileJs } from '@glimpse/backend-js';
import { adapterDescription, compileWgsl, releaseGpu } from '@glimpse/backend-wgsl';
import { optimize } from '@glimpse/optimizer';
import { buildModel } from '@glimpse/models';
import { compile } from 'glimpse';
import { attentionCore } from './attention.js';
import { maxRelErr, randomTensor, timeAsync } from './harness.js';

/** x·Wᵀ + b with seeded weights (a transformer projection). */
function linearWeights(K, N) {
  const init = { kind: 'uniform', low: -0.1, high: 0.1 };
  return buildGraph('linear', (b) =>
    b.op(
      'linear',
      [
        b.input('x', 'f32', ['M', K]),
        b.param('w', 'f32', [N, K], init),
        b.param('b', 'f32', [N], init),
      ],
      {},
      'y',
    ),
  );
}

/** Check a WGSL output against the JS backend's, then time it; a wrong answer is not timed. */
async function measure(name, exe, inputs, want, { flops, runs, log }) {
  const got = (await exe.run(inputs)).y.data;
  const err = maxRelErr(got, want);
  if (!(err < 1e-3)) {
    log(`${name}: WRONG (max rel err ${err})`);
    return { case: name, error: `wrong answer (max rel err ${err})` };
  }
  const st = await timeAsync(() => exe.run(inputs), { runs, warmup: 0 });
  const gflops = flops ? flops / (st.median * 1e6) : undefined;
  log(
    `${name}: median ${st.median.toFixed(1)} ms (min ${st.min.toFixed(1)}, max ${st.max.toFixed(1)}, ${st.runs} runs)${gflops ? ` = ${gflops.toFixed(2)} GFLOP/s` : ''}`,
  );
  return { case: name, ...st, gflops, maxRelErr: err };
}

export async function matmulBench({
  sizes = [256, 500, 512, 1024],
  runs = 5,
  log = console.log,
} = {}) {
  const rows = [];
  for (const n of sizes) {
    const g = buildGraph('bmm', (b) =>
      b.bmm(b.input('a', 'f32', [n, n]), b.input('b', 'f32', [n, n]), {}, 'y'),
    );
    const x = { a: randomTensor([n, n], 1), b: randomTensor([n, n], 2) };
    const want = compileJs(g).runSync(x).y.data;
    const kind = n % 64 === 0 ? 'tiles divide' : 'bounds-checked';
    rows.push(
      await measure(`wgsl bmm ${n}×${n}×${n} (${kind})`, await compileWgsl(g), x, want, {
        flops: 2 * n ** 3,
        runs,
        log,
      }),
    );
  }
  const [M, K, N] = sizes.length > 1 ? [512, 768, 768] : [8, 16, 16];
  const g = linearWeights(K, N);
  const x = { x: randomTensor([M, K], 3) };
  rows.push(
    await measure(
      `wgsl linear [${M},${K}]·[${N},${K}]ᵀ + b`,
      await compileWgsl(g),
      x,
      compileJs(g).runSync(x).y.data,
      {
        flops: 2 * M * K * N,
        runs,
        log,
      },
    ),
  );
  return rows;
}

export async function attentionBench({
  Ts = [256, 512, 1024, 2048, 4096],
  H = 2,
  dh = 64,
  log = console.log,
} = {}) {
  const g = attentionCore(H, dh);
  const fused = optimize(g, { level: 2 });
  const js = compileJs(fused);
  const rows = [];
  for (const T of Ts) {
    const x = {
      q: randomTensor([1, H, T, dh], 1),
      k: randomTensor([1, H, T, dh], 2),
      v: randomTensor([1, H, T, dh], 3),
    };
    const want = js.runSync(x).y.data;
    const runs = T >= 2048 ? 3 : 5;
    const flops = 4 * H * T * T * dh;
    // Fresh executables per T (their memory plans differ); pipelines come from the cache.
    const f = await measure(`wgsl attention fused T=${T}`, await compileWgsl(fused), x, want, {
      flops,
      runs,
      log,
    });
    const u = await measure(`wgsl attention unfused T=${T}`, await compileWgsl(g), x, want, {
      flops,
      runs,
      log,
    });
    const speedup = f.median && u.median ? u.median / f.median : undefined;
    if (speedup) log(`attention T=${T}: fused is ${speedup.toFixed(2)}× unfused`);
    rows.push({ T, H, dh, fused: f, unfused: u, speedup });
  }
  return rows;
}

/**
 * The seed model `self-attention:dim=D` (one head of size D) at T=512 for D = 64…512: -O0
 * (written out), -O2 as `compile()` gives it (fused, unless the WGSL backend declines the
 * head size and gets it lowered), and -O2 forced fused (no legalisation) to show why it
 * declines. -O2 must never be slower than -O0.
 */
export async function headSweep({
  dims = [64, 128, 256, 512],
  T = 512,
  runs = 3,
  log = console.log,
} = {}) {
  const rows = [];
  for (const dim of dims) {
    const g = buildModel(`self-attention:dim=${dim}`).graph;
    const x = { x: randomTensor([1, T, dim], 5) };
    const want = compileJs(optimize(g, { level: 2, frozenParams: true })).runSync(x).y.data;
    const run = async (name, exe) => measure(name, exe, x, want, { flops: 0, runs, log });
    const o0 = await run(
      `self-attention dim=${dim} -O0`,
      await compile(g, { backend: 'wgsl', level: 0 }),
    );
    const o2exe = await compile(g, { backend: 'wgsl', level: 2 });
    const fusedKept = o2exe.graph.nodes.some((n) => n.op === 'attention');
    const o2 = await run(
      `self-attention dim=${dim} -O2 (${fusedKept ? 'fused' : 'declined: lowered'})`,
      o2exe,
    );
    const forced = fusedKept
      ? o2
      : await run(
          `self-attention dim=${dim} -O2 forced fused`,
          await compileWgsl(optimize(g, { level: 2 })),
        );
    rows.push({
      dim,
      T,
      fused: fusedKept,
      O0: o0.median,
      O2: o2.median,
      O2forcedFused: forced.median,
    });
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const machine = process.env.GLIMPSE_BENCH_MACHINE ?? `node-${cpus().length}core`;
  const adapter = await adapterDescription();
  console.log(`WebGPU adapter: ${adapter}`);
  const result = {
    machine,
    adapter,
    date: new Date().toISOString(),
    matmul: await matmulBench(quick ? { sizes: [32], runs: 1 } : {}),
    attention: await attentionBench(quick ? { Ts: [70], H: 1, dh: 8 } : {}),
    heads: await headSweep(quick ? { dims: [16], T: 8, runs: 1 } : {}),
  };
  releaseGpu();
  if (!quick) {
    const here = (p) => fileURLToPath(new URL(p, import.meta.url));
    mkdirSync(here('./results/'), { recursive: true });
    writeFileSync(here(`./results/${machine}-wgsl.json`), JSON.stringify(result, null, 2) + '\n');
    console.log(`\nwrote bench/results/${machine}-wgsl.json`);
  }
}
