#!/usr/bin/env node
// How long `glimpse dump --level 2 --format html` takes for a deep model: the built-in
// `transformer` with N blocks (dim 768, 12 heads by default), optimised at -O2 and rendered with
// every changed pass as SVG. Median of several runs; `--quick` for the smoke test.
import { fileURLToPath } from 'node:url';
import { buildModel } from '@glimpse/models';
import { optimizeWithResults } from '@glimpse/optimizer';
import { renderReport } from 'glimpse';
import { stats } from './harness.js';

/** The built-in `transformer` model, GPT-2-small sized. */
export const transformerStack = (layers, dim = 768, heads = 12) =>
  buildModel('transformer', { layers, dim, heads, hidden: 4 * dim }).graph;

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
