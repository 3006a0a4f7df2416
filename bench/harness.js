// Benchmark harness: warm-up, then the median and spread of N timed runs. Every case checks
// its output against an oracle before it is timed; a wrong answer is reported, not timed.
import { buildGraph, interpret, fromNumbers } from '@glimpse/ir';
import { compileJs } from '@glimpse/backend-js';
import { models } from 'glimpse';

export function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), min: s[0], max: s[s.length - 1], runs: s.length };
}

/** `time` for an async function (a WebGPU run): each run awaited before the next starts. */
export async function timeAsync(fn, { warmup = 2, runs = 7 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return stats(times);
}

export function time(fn, { warmup = 2, runs = 7 } = {}) {
  for (let i = 0; i < warmup; i++) fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return stats(times);
}

function randomTensor(shape, seed) {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = s / 2 ** 32 - 0.5;
  }
  return { dtype: 'f32', shape, data: v };
}

/** A naive triple loop (i-j-k, no blocking): the peer the matmul kernel is measured against. */
function naiveMatmul(a, b, n) {
  const c = new Float32Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k] * b[k * n + j];
      c[i * n + j] = s;
    }
  return c;
}

export function maxRelErr(got, want) {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    err = Math.max(err, Math.abs(got[i] - want[i]));
  }
  return err / (scale || 1);
}

/** Cases of the first benchmark: bmm n×n×n and the unoptimised self-attention. */
export function cases({ n = 512, T = 512, dim = 64 } = {}) {
  return [
    {
      name: `bmm ${n}x${n}x${n}`,
      flops: 2 * n ** 3,
      systems: () => {
        const g = buildGraph('bmm', (b) =>
          b.bmm(b.input('a', 'f32', [n, n]), b.input('b', 'f32', [n, n]), {}, 'y'),
        );
        const a = randomTensor([n, n], 1);
        const bb = randomTensor([n, n], 2);
        const exe = compileJs(g);
        const want = naiveMatmul(a.data, bb.data, n);
        return [
          {
            system: 'glimpse js (blocked, register-tiled)',
            run: () => exe.runSync({ a, b: bb }).y.data,
            want,
          },
          { system: 'naive JS triple loop', run: () => naiveMatmul(a.data, bb.data, n), want },
        ];
      },
    },
    {
      name: `self-attention -O0 B=1 T=${T} dim=${dim}`,
      flops: 3 * 2 * T * dim * dim + 2 * 2 * T * T * dim,
      systems: () => {
        const g = models.selfAttention({ dim });
        const x = randomTensor([1, T, dim], 3);
        const exe = compileJs(g);
        const want = interpret(g, { x }).y.data;
        return [{ system: 'glimpse js -O0', run: () => exe.runSync({ x }).y.data, want }];
      },
    },
  ];
}

/** Run every case; returns rows and calls `progress` with a line per system. */
export function runCases(list, { runs = 7, warmup = 2, progress = () => {} } = {}) {
  const rows = [];
  for (const c of list) {
    for (const s of c.systems()) {
      const err = maxRelErr(s.run(), s.want);
      if (!(err < 1e-4)) {
        rows.push({ case: c.name, system: s.system, error: `wrong answer (max rel err ${err})` });
        progress(`${c.name} | ${s.system}: WRONG (max rel err ${err})`);
        continue;
      }
      const st = time(s.run, { runs, warmup });
      const gflops = c.flops / (st.median * 1e6);
      rows.push({ case: c.name, system: s.system, ...st, gflops });
      progress(
        `${c.name} | ${s.system}: median ${st.median.toFixed(1)} ms (min ${st.min.toFixed(1)}, max ${st.max.toFixed(1)}, ${st.runs} runs) = ${gflops.toFixed(2)} GFLOP/s`,
      );
    }
  }
  return rows;
}

export { randomTensor, fromNumbers };
