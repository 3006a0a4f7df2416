#!/usr/bin/env node
// Attention benchmarks (single thread, f32):
//  1. the attention core B=1, H=8, T=512, dh=64: fused (-O2) vs unfused (-O0) vs a naive JS loop;
//  2. long context: causal H=1, dh=64, T = 1k…32k through `glimpse run` in its own process:
//     wall time and max RSS (GNU time), fused; unfused where it fits;
//  3. the seed self-attention (dim=64) at -O2 over -O0 for T = 512…8192.
// Every system's output is checked against the float64 reference (or, where that is too
// slow, against glimpse -O0) before it is timed. `--quick` runs tiny sizes once (the smoke test).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { buildGraph, interpret, parseGraph } from '@glimpse/ir';
import { readFileSync } from 'node:fs';
import { compileJs } from '@glimpse/backend-js';
import { optimize } from '@glimpse/optimizer';
import { models } from 'glimpse';
import { maxRelErr, randomTensor, stats, time } from './harness.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

/** softmax(q·kᵀ/√dh)·v written out as users do: the unfused graph. */
export function attentionCore(H, dh) {
  return buildGraph('attention_core', (b) => {
    const q = b.input('q', 'f32', [1, H, 'T', dh]);
    const k = b.input('k', 'f32', [1, H, 'T', dh]);
    const v = b.input('v', 'f32', [1, H, 'T', dh]);
    const s = b.op(
      'scale',
      [b.bmm(q, k, { transpose_b: true }, 's')],
      { factor: 1 / Math.sqrt(dh) },
      's1',
    );
    return b.bmm(b.op('softmax', [s], { axis: -1 }, 'p'), v, {}, 'y');
  });
}

/** A naive JS loop: scores row by row, softmax, ·v — the peer "just write it" gives. */
function naiveAttention(q, k, v, H, T, dh) {
  const out = new Float32Array(H * T * dh);
  const s = new Float64Array(T);
  const scale = 1 / Math.sqrt(dh);
  for (let h = 0; h < H; h++)
    for (let i = 0; i < T; i++) {
      let m = -Infinity;
      for (let j = 0; j < T; j++) {
        let x = 0;
        for (let c = 0; c < dh; c++) x += q[(h * T + i) * dh + c] * k[(h * T + j) * dh + c];
        s[j] = x * scale;
        if (s[j] > m) m = s[j];
      }
      let sum = 0;
      for (let j = 0; j < T; j++) sum += s[j] = Math.exp(s[j] - m);
      for (let c = 0; c < dh; c++) {
        let acc = 0;
        for (let j = 0; j < T; j++) acc += s[j] * v[(h * T + j) * dh + c];
        out[(h * T + i) * dh + c] = acc / sum;
      }
    }
  return out;
}

function checked(name, got, want, log) {
  const e = maxRelErr(got, want);
  if (!(e < 1e-4)) {
    log(`${name}: WRONG (max rel err ${e.toExponential(2)}), not timed`);
    return false;
  }
  return true;
}

export function attentionBench({ H = 8, T = 512, dh = 64, runs = 7, log = console.log } = {}) {
  const g = attentionCore(H, dh);
  const x = {
    q: randomTensor([1, H, T, dh], 1),
    k: randomTensor([1, H, T, dh], 2),
    v: randomTensor([1, H, T, dh], 3),
  };
  const want = interpret(g, x).y.data;
  const flops = 4 * H * T * T * dh;
  const systems = [
    [
      'glimpse js -O2 (fused flash attention)',
      () => {
        const e = compileJs(optimize(g, { level: 2 }));
        return () => e.runSync(x).y.data;
      },
    ],
    [
      'glimpse js -O0 (bmm, softmax, bmm)',
      () => {
        const e = compileJs(g);
        return () => e.runSync(x).y.data;
      },
    ],
    ['naive JS loop', () => () => naiveAttention(x.q.data, x.k.data, x.v.data, H, T, dh)],
  ];
  const rows = [];
  for (const [system, make] of systems) {
    const run = make();
    if (!checked(system, run(), want, log)) {
      rows.push({ case: `attention B=1 H=${H} T=${T} dh=${dh}`, system, error: 'wrong answer' });
      continue;
    }
    const st = time(run, { runs, warmup: 1 });
    const gflops = flops / (st.median * 1e6);
    rows.push({ case: `attention B=1 H=${H} T=${T} dh=${dh}`, system, ...st, gflops });
    log(
      `attention H=${H} T=${T} | ${system}: median ${st.median.toFixed(1)} ms (min ${st.min.toFixed(1)}, max ${st.max.toFixed(1)}) = ${gflops.toFixed(2)} GFLOP/s`,
    );
  }
  return rows;
}

/** `glimpse run` in a child process under GNU time: wall seconds and max RSS. */
function runProcess(level, T) {
  const args = [
    '-f',
    '%e %M',
    process.execPath,
    here('../packages/cli/bin/glimpse.js'),
    'run',
    here('./causal-attention.glimpse'),
    '--level',
    String(level),
    '--shape',
    `T=${T}`,
  ];
  const r = spawnSync('/usr/bin/time', args, { encoding: 'utf8' });
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [secs, kb] = last.split(' ').map(Number);
  return r.status === 0
    ? { seconds: secs, maxRssMB: kb / 1024 }
    : { error: (r.stderr.trim().split('\n')[0] || `exit ${r.status}`).slice(0, 200) };
}

export function longContextBench({
  Ts = [1024, 2048, 4096, 8192, 16384, 32768],
  unfusedUpTo = 8192,
  log = console.log,
} = {}) {
  // Correctness first, at a size the reference can do: fused ≡ reference.
  const g = parseGraph(readFileSync(here('./causal-attention.glimpse'), 'utf8'));
  const x = {
    q: randomTensor([1, 1, 256, 64], 4),
    k: randomTensor([1, 1, 256, 64], 5),
    v: randomTensor([1, 1, 256, 64], 6),
  };
  if (
    !checked(
      'long-context fused',
      compileJs(optimize(g, { level: 2 })).runSync(x).y.data,
      interpret(g, x).y.data,
      log,
    )
  )
    return [{ error: 'wrong answer' }];
  const rows = [];
  for (const T of Ts) {
    for (const level of [2, 0]) {
      if (level === 0 && T > unfusedUpTo) {
        rows.push({
          case: `long-context causal T=${T}`,
          system: 'glimpse -O0',
          skipped: `T×T scores need ${((2 * 4 * T * T) / 2 ** 30).toFixed(1)} GiB`,
        });
        continue;
      }
      const r = runProcess(level, T);
      rows.push({ case: `long-context causal T=${T}`, system: `glimpse -O${level}`, ...r });
      log(
        `long-context causal T=${T} | glimpse run -O${level}: ${r.error ?? `${r.seconds.toFixed(2)} s, max RSS ${r.maxRssMB.toFixed(0)} MB`}`,
      );
    }
  }
  return rows;
}

export function levelsBench({ Ts = [512, 1024, 2048, 4096, 8192], log = console.log } = {}) {
  const g = models.selfAttention({ dim: 64 });
  const rows = [];
  for (const T of Ts) {
    const x = { x: randomTensor([1, T, 64], 7) };
    const runs = T >= 4096 ? 3 : 7;
    const o0 = compileJs(optimize(g, { level: 0 }));
    const o2 = compileJs(optimize(g, { level: 2 }));
    const want = o0.runSync(x).y.data;
    if (!checked(`self-attention -O2 T=${T}`, o2.runSync(x).y.data, want, log)) continue;
    const a = time(() => o0.runSync(x), { runs, warmup: 1 });
    const b = time(() => o2.runSync(x), { runs, warmup: 1 });
    rows.push({ case: `self-attention dim=64 T=${T}`, o0: a, o2: b, speedup: a.median / b.median });
    log(
      `self-attention T=${T} | -O0 ${a.median.toFixed(1)} ms, -O2 ${b.median.toFixed(1)} ms: -O2 is ${(a.median / b.median).toFixed(2)}× -O0`,
    );
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const machine = process.env.GLIMPSE_BENCH_MACHINE ?? `node-${cpus().length}core`;
  const result = {
    machine,
    cpu: cpus()[0]?.model,
    node: process.version,
    date: new Date().toISOString(),
    attention: attentionBench(quick ? { H: 2, T: 64, runs: 1 } : {}),
    longContext: longContextBench(quick ? { Ts: [256], unfusedUpTo: 256 } : {}),
    levels: levelsBench(quick ? { Ts: [64] } : {}),
  };
  if (!quick) {
    mkdirSync(here('./results/'), { recursive: true });
    writeFileSync(
      here(`./results/${machine}-attention.json`),
      JSON.stringify(result, null, 2) + '\n',
    );
    console.log(`\nwrote bench/results/${machine}-attention.json`);
  }
}

export { stats };
