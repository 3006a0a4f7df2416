#!/usr/bin/env node
// One system on one workload size, in a process of its own (so that peak RSS is the
// system's): build the inputs, check the output against the oracle, then time it. Prints
// one line `RESULT {json}` last. Usage (run.js calls it):
//   node child.js SYSTEM WORKLOAD SIZE_JSON ORACLE_FILE [--runs N] [--budget SECONDS]
import { readFileSync } from 'node:fs';
import { oracleError, WORKLOADS } from './workloads.js';
import { SYSTEMS } from './systems/index.js';
import { compileBench } from './compile.js';

const [sysId, wName, sizeJson, oracleFile, ...rest] = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? Number(rest[i + 1]) : dflt;
};
const runs = opt('runs', 5);
const budget = opt('budget', 20) * 1000;
/** Max |error| relative to the largest output: f32 against float64 (see README of results). */
const TOL = 1e-3;

/**
 * Peak RSS of this process in MB. On Linux the VmHWM of /proc/self/status: getrusage's
 * maxRSS would include the parent's RSS at fork (the child's copy of its address space
 * counts until exec), so every case would report at least the driver's size.
 */
function peakRssMB() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

function done(r) {
  process.stdout.write(`RESULT ${JSON.stringify({ ...r, rssMB: peakRssMB(), rss: 'VmHWM' })}\n`);
  process.exit(0);
}

const system = SYSTEMS.find((s) => s.id === sysId);
if (!system) throw new Error(`unknown system ${sysId}`);
const size = JSON.parse(sizeJson);

if (wName === 'compile') done(await compileBench(system, size, { runs }));

const w = WORKLOADS.find((x) => x.name === wName);
const built = w.build(size);
const want = JSON.parse(readFileSync(oracleFile, 'utf8'));
const t0 = performance.now();
const p = await system.prepare(w, built);
const prepareMs = performance.now() - t0;
const once = async () => {
  const y = await p.run();
  return p.canon ? p.canon(y) : y;
};
const first = performance.now();
const err = oracleError(await once(), want);
const firstMs = performance.now() - first;
if (!(err <= TOL)) {
  await p.close?.();
  done({ status: 'wrong', error: `wrong answer: max error ${err.toExponential(2)} > ${TOL}`, err });
}
// Warm-up (the check above was the first run), then timed runs within the budget. Engines
// compile hot WebAssembly with their optimising tier in the background, which on a machine
// whose cores the system's own threads keep busy can take several runs: warm up for at
// least three runs or a second (as the budget allows), every system alike.
if (firstMs < budget / 4) {
  const until = performance.now() + Math.min(1000, budget / 4);
  for (let n = 0; n < 3 || (performance.now() < until && n < 20); n++) await once();
}
const times = [];
const start = performance.now();
while (times.length < runs && (times.length === 0 || performance.now() - start < budget)) {
  const a = performance.now();
  await once();
  times.push(performance.now() - a);
}
await p.close?.();
const s = [...times].sort((a, b) => a - b);
done({
  status: 'ok',
  err,
  ...(built.flops ? { flops: built.flops } : {}),
  prepareMs,
  times,
  median: s[Math.floor((s.length - 1) / 2)],
  min: s[0],
  max: s[s.length - 1],
});
