#!/usr/bin/env node
// How long `glimpse dump --level 2 --format html` takes for a deep model: a GPT-style stack
// of N transformer blocks (dim 768, 12 heads by default), optimised at -O2 and rendered with
// every changed pass as SVG. Median of several runs; `--quick` for the smoke test.
import { fileURLToPath } from 'node:url';
import { buildGraph, CausalSelfAttention, LayerNorm, MLP } from '@glimpse/ir';
import { optimizeWithResults } from '@glimpse/optimizer';
import { renderReport } from 'glimpse';
import { stats } from './harness.js';

export function transformerStack(layers, dim = 768, heads = 12) {
  return buildGraph(`gpt_${layers}`, (b) => {
    let x = b.input('x', 'f32', ['B', 'T', dim]);
    for (let i = 0; i < layers; i++) {
      const p = `h.${i}`;
      const ln1 = new LayerNorm(b, `${p}.ln1`, dim);
      const attn = new CausalSelfAttention(b, `${p}.attn`, dim, heads);
      const ln2 = new LayerNorm(b, `${p}.ln2`, dim);
      const mlp = new MLP(b, `${p}.mlp`, dim, 4 * dim);
      const h = b.op(
        'add',
        [x, attn.call(b, ln1.call(b, x, `${p}.ln1_out`), `${p}.attn_out`)],
        {},
        `${p}.h`,
      );
      x = b.op(
        'add',
        [h, mlp.call(b, ln2.call(b, h, `${p}.ln2_out`), `${p}.mlp_out`)],
        {},
        i === layers - 1 ? 'y' : `${p}.out`,
      );
    }
    return x;
  });
}

export async function dumpBench({ layers = 24, runs = 3, log = console.log } = {}) {
  const g = transformerStack(layers);
  const times = [];
  let bytes = 0;
  let sections = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const { results } = optimizeWithResults(g, { level: 2 });
    const html = await renderReport(g, results);
    times.push(performance.now() - t0);
    bytes = html.length;
    sections = results.length + 1;
  }
  const st = stats(times);
  log(
    `dump --level 2 --format html, ${layers} transformer blocks (${g.nodes.length} nodes): median ${(st.median / 1000).toFixed(2)} s (min ${(st.min / 1000).toFixed(2)}, max ${(st.max / 1000).toFixed(2)}), ${sections} sections, ${(bytes / 2 ** 20).toFixed(1)} MiB`,
  );
  return { case: `dump html ${layers} blocks`, nodes: g.nodes.length, ...st, bytes, sections };
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  await dumpBench(process.argv.includes('--quick') ? { layers: 2, runs: 1 } : {});
