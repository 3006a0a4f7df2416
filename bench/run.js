#!/usr/bin/env node
// `pnpm bench`: GFLOP/s of the JS backend's matmul (512³) and of the unoptimised seed
// self-attention (B=1, T=512, dim=64), single thread, medians of 7 runs after warm-up.
// Writes bench/results/<machine>.json and prints a table.
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { cases, runCases } from './harness.js';

const machine = process.env.GLIMPSE_BENCH_MACHINE ?? `node-${cpus().length}core`;
const quick = process.argv.includes('--quick');
const rows = runCases(quick ? cases({ n: 64, T: 32, dim: 16 }) : cases(), {
  runs: quick ? 1 : 15,
  progress: (l) => console.log(l),
});
if (quick) process.exit(0);
const result = {
  machine,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  date: new Date().toISOString(),
  rows,
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL(`./results/${machine}.json`, import.meta.url),
  JSON.stringify(result, null, 2) + '\n',
);
console.log(`\nwrote bench/results/${machine}.json`);
