#!/usr/bin/env node
// How the optimizer scales (issue: "linear in graph size"), each case in a fresh process so
// that the first figure is a cold JIT and peak RSS (VmHWM) is the case's own:
//
// - optimize-scaling: -O2 of a `.glimpse` chain of N relus (parsed from text, as a user
//   would load it), N = 1k … 50k: the first optimisation (cold) and the median of the next
//   ones (warm), and peak RSS.
// - compile-scaling: compile() (-O2 with frozen params, as `glimpse run` does) of the built-in
//   `transformer` model, layers 12 … 96 (dim 768, 12 heads, hidden 3072), symbolic T: cold
//   and warm; the 96/12 ratio says whether the cost is linear.
// - the issue's own command: `glimpse run transformer:layers=12,dim=768,heads=12 --time`
//   (T=8, so that the run itself is short) and the compile time it prints.
//
// `node bench/optimizer.js [--quick]` writes bench/results/<machine>-optimizer.json.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { stats } from './harness.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const CLI = fileURLToPath(new URL('../packages/cli/bin/glimpse.js', import.meta.url));

export function reluChain(n) {
  let s = 'graph @chain(%x: f32[B,64]) {\n  %v0: f32[B,64] = relu %x\n';
  for (let i = 1; i < n; i++) s += `  %v${i}: f32[B,64] = relu %v${i - 1}\n`;
  return `${s}  return %v${n - 1}\n}\n`;
}

const peakRssMB = () => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

/** One case, in this (fresh) process: returns the JSON the parent reads. */
async function child(kind, size, runs) {
  const times = [];
  let nodes = 0;
  let outNodes = 0;
  if (kind === 'optimize-scaling') {
    const { parseGraph } = await import('@glimpse/ir');
    const { optimize } = await import('@glimpse/optimizer');
    const g = parseGraph(reluChain(size));
    nodes = g.nodes.length;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      outNodes = optimize(g, { level: 2 }).nodes.length;
      times.push(performance.now() - t0);
    }
  } else {
    const { buildModel } = await import('@glimpse/models');
    const { compile } = await import('glimpse');
    const g = buildModel(`transformer:layers=${size},dim=768,heads=12,hidden=3072`).graph;
    nodes = g.nodes.length;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const exe = await compile(g, { backend: 'js', level: 2, frozenParams: true });
      times.push(performance.now() - t0);
      outNodes = exe.graph?.nodes.length ?? 0;
    }
  }
  const warm = stats(times.slice(1));
  return { kind, size, nodes, outNodes, cold: times[0], warm, peakRssMB: peakRssMB() };
}

function inChild(kind, size, runs) {
  const out = execFileSync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--child', kind, String(size), String(runs)],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(out.trim().split('\n').pop());
}

/** `glimpse run transformer:layers=12,dim=768,heads=12 --time`: its printed compile time. */
function cliCompile(layers) {
  const out = execFileSync(
    process.execPath,
    [CLI, 'run', `transformer:layers=${layers},dim=768,heads=12`, '--time', '--shape', 'T=8'],
    { encoding: 'utf8' },
  );
  return Number(/compile ([\d.]+) ms/.exec(out)[1]);
}

export function optimizerBench({ quick = false, log = console.log } = {}) {
  const chainSizes = quick ? [200, 400] : [1000, 2000, 4000, 8000, 16000, 32000, 50000];
  const layerSizes = quick ? [1, 2] : [12, 24, 48, 96];
  const runs = quick ? 2 : 4;
  const rows = [];
  for (const n of chainSizes) {
    const r = inChild('optimize-scaling', n, runs);
    rows.push(r);
    log(
      `optimize-scaling ${n} relus: -O2 cold ${r.cold.toFixed(1)} ms, warm median ${r.warm.median.toFixed(1)} ms; peak RSS ${r.peakRssMB.toFixed(0)} MB; ${r.nodes} → ${r.outNodes} nodes`,
    );
  }
  for (const l of layerSizes) {
    const r = inChild('compile-scaling', l, quick ? 2 : 6);
    rows.push(r);
    log(
      `compile-scaling transformer ${l} layers (${r.nodes} nodes): cold ${r.cold.toFixed(1)} ms, warm median ${r.warm.median.toFixed(1)} ms; peak RSS ${r.peakRssMB.toFixed(0)} MB`,
    );
  }
  const cli = [];
  for (let i = 0; i < (quick ? 1 : 5); i++) cli.push(cliCompile(quick ? 1 : 12));
  const cliStats = stats(cli);
  log(
    `glimpse run transformer:layers=${quick ? 1 : 12},dim=768,heads=12 --time: compile median ${cliStats.median.toFixed(1)} ms of ${cli.length} fresh processes (min ${cliStats.min.toFixed(1)}, max ${cliStats.max.toFixed(1)})`,
  );
  return { rows, cli: cliStats };
}

if (process.argv[2] === '--child') {
  const [, , , kind, size, runs] = process.argv;
  console.log(JSON.stringify(await child(kind, Number(size), Number(runs))));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const result = optimizerBench({ quick });
  if (!quick) {
    const machine = process.env.GLIMPSE_BENCH_MACHINE ?? `node-${cpus().length}core`;
    writeFileSync(
      `${HERE}results/${machine}-optimizer.json`,
      `${JSON.stringify({ date: new Date().toISOString(), cpu: cpus()[0].model, cores: cpus().length, node: process.version, ...result }, null, 2)}\n`,
    );
  }
}
