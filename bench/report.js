#!/usr/bin/env node
// Markdown report from the committed results: `node bench/report.js [machine]` writes
// bench/results/<machine>.md from <machine>.json and <machine>-attention.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

const machine = process.argv[2] ?? process.env.GLIMPSE_BENCH_MACHINE ?? `node-${cpus().length}core`;
const url = (f) => new URL(`./results/${f}`, import.meta.url);
const mm = JSON.parse(readFileSync(url(`${machine}.json`), 'utf8'));
const at = JSON.parse(readFileSync(url(`${machine}-attention.json`), 'utf8'));
const ms = (x) => `${x.toFixed(1)} ms`;
const lines = [
  `# Benchmarks: ${machine}`,
  '',
  `${mm.cpu}, ${mm.cores} cores (one thread used), Node ${mm.node}; ${at.date.slice(0, 10)}. Medians of`,
  'several runs after warm-up (min–max in brackets); every output checked against the',
  'float64 reference (or glimpse -O0 where the reference is too slow) before timing.',
  '',
  '## Matmul and the unoptimised seed model',
  '',
  '| case | system | median | GFLOP/s |',
  '|---|---|---|---|',
  ...mm.rows.map(
    (r) =>
      `| ${r.case} | ${r.system} | ${r.error ?? `${ms(r.median)} (${r.min.toFixed(1)}–${r.max.toFixed(1)})`} | ${r.gflops?.toFixed(2) ?? '—'} |`,
  ),
  '',
  '## Attention core, B=1, H=8, T=512, dh=64',
  '',
  '| system | median | GFLOP/s |',
  '|---|---|---|',
  ...at.attention.map(
    (r) =>
      `| ${r.system} | ${r.error ?? `${ms(r.median)} (${r.min.toFixed(1)}–${r.max.toFixed(1)})`} | ${r.gflops?.toFixed(2) ?? '—'} |`,
  ),
  '',
  '## Long context: causal, H=1, dh=64, whole `glimpse run` process',
  '',
  '| T | -O2 (fused) time | -O2 max RSS | -O0 time | -O0 max RSS |',
  '|---|---|---|---|---|',
];
const byT = new Map();
for (const r of at.longContext) {
  const T = r.case?.match(/T=(\d+)/)?.[1];
  if (!T) continue;
  byT.set(T, { ...byT.get(T), [r.system]: r });
}
const cell = (r) =>
  r === undefined
    ? ['—', '—']
    : r.skipped
      ? ['not run', r.skipped]
      : r.error
        ? ['failed', r.error]
        : [`${r.seconds.toFixed(2)} s`, `${r.maxRssMB.toFixed(0)} MB`];
for (const [T, r] of byT)
  lines.push(
    `| ${T} | ${cell(r['glimpse -O2']).join(' | ')} | ${cell(r['glimpse -O0']).join(' | ')} |`,
  );
lines.push(
  '',
  '## Seed self-attention (dim=64, B=1): -O2 over -O0',
  '',
  '| T | -O0 | -O2 | speed-up |',
  '|---|---|---|---|',
);
for (const r of at.levels)
  lines.push(
    `| ${r.case.match(/T=(\d+)/)[1]} | ${ms(r.o0.median)} | ${ms(r.o2.median)} | ${r.speedup.toFixed(2)}× |`,
  );
// The WGSL section, when this machine has WGSL results.
let wg;
try {
  wg = JSON.parse(readFileSync(url(`${machine}-wgsl.json`), 'utf8'));
} catch {
  wg = undefined;
}
if (wg) {
  const timed = (r) => r.error ?? `${ms(r.median)} (${r.min.toFixed(1)}–${r.max.toFixed(1)})`;
  lines.push(
    '',
    `## WGSL on ${wg.adapter} (${wg.date.slice(0, 10)})`,
    '',
    'Whole `run()` calls (upload, dispatches, readback), medians after a warm-up run; outputs',
    'checked against the JS backend first. On SwiftShader (a CPU implementation of Vulkan)',
    'only ratios mean something.',
    '',
    '| kernel | median | GFLOP/s |',
    '|---|---|---|',
    ...wg.matmul.map(
      (r) => `| ${r.case.replace(/^wgsl /, '')} | ${timed(r)} | ${r.gflops?.toFixed(2) ?? '—'} |`,
    ),
    '',
    `Attention core B=1, H=${wg.attention[0]?.H}, dh=${wg.attention[0]?.dh}: fused (-O2, one flash-attention dispatch) vs unfused (-O0, T×T scores):`,
    '',
    '| T | fused | unfused | fused speed-up |',
    '|---|---|---|---|',
    ...wg.attention.map(
      (r) =>
        `| ${r.T} | ${timed(r.fused)} | ${timed(r.unfused)} | ${r.speedup ? `${r.speedup.toFixed(2)}×` : '—'} |`,
    ),
  );
  if (wg.heads)
    lines.push(
      '',
      `Head-size sweep, \`self-attention:dim=D\` (one head of size D) at T=${wg.heads[0]?.T}: -O2 as \`compile()\` gives it (fused, or declined by WGSL and lowered) against -O0, and -O2 forced fused:`,
      '',
      '| head size | -O0 | -O2 | -O2 is | forced fused |',
      '|---|---|---|---|---|',
      ...wg.heads.map(
        (r) =>
          `| ${r.dim} | ${ms(r.O0)} | ${ms(r.O2)} | ${r.fused ? 'fused' : 'lowered'} | ${ms(r.O2forcedFused)} |`,
      ),
    );
}
// The optimizer's scaling, when this machine has those results (bench/optimizer.js).
let opt;
try {
  opt = JSON.parse(readFileSync(url(`${machine}-optimizer.json`), 'utf8'));
} catch {
  opt = undefined;
}
if (opt) {
  const chains = opt.rows.filter((r) => r.kind === 'optimize-scaling');
  const layers = opt.rows.filter((r) => r.kind === 'compile-scaling');
  const base = layers[0];
  lines.push(
    '',
    `## Optimizer scaling (${opt.date.slice(0, 10)})`,
    '',
    'Each case in a fresh process: the first call (cold JIT), the median of the next ones',
    "(warm), and the process's peak RSS (VmHWM).",
    '',
    '`optimize-scaling`: -O2 of a `.glimpse` chain of N relus, parsed from text:',
    '',
    '| N | cold | warm | peak RSS | nodes after |',
    '|---|---|---|---|---|',
    ...chains.map(
      (r) =>
        `| ${r.size} | ${ms(r.cold)} | ${ms(r.warm.median)} | ${r.peakRssMB.toFixed(0)} MB | ${r.outNodes} |`,
    ),
    '',
    '`compile-scaling`: `compile()` (-O2, frozen params, as `glimpse run` does) of',
    '`transformer:layers=L,dim=768,heads=12,hidden=3072`, symbolic T:',
    '',
    '| layers | nodes | cold | warm | cold ÷ 12 layers | warm ÷ 12 layers |',
    '|---|---|---|---|---|---|',
    ...layers.map(
      (r) =>
        `| ${r.size} | ${r.nodes} | ${ms(r.cold)} | ${ms(r.warm.median)} | ${(r.cold / base.cold).toFixed(1)}× | ${(r.warm.median / base.warm.median).toFixed(1)}× |`,
    ),
    '',
    `\`glimpse run transformer:layers=12,dim=768,heads=12 --time\` (T=8), compile as printed: median ${ms(opt.cli.median)} of ${opt.cli.runs} fresh processes (${opt.cli.min.toFixed(1)}–${opt.cli.max.toFixed(1)}).`,
  );
}
writeFileSync(url(`${machine}.md`), lines.join('\n') + '\n');
console.log(`wrote bench/results/${machine}.md`);
