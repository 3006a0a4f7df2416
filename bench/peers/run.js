#!/usr/bin/env node
// glimpse against its peers: every system on every workload, each case in a process of its
// own (child.js), outputs checked against an oracle before timing, medians of several runs,
// peak RSS per process. Writes bench/results/<machine>-peers.json as it goes (a crash keeps
// what was measured), one progress line per case.
//
//   node bench/peers/run.js [--quick] [--machine NAME] [--systems a,b] [--workloads a,b]
//
// --quick: tiny sizes, one timed run (the smoke test of the test command).
// --rss-only: for cases of the results file measured without the process's own peak RSS
// (before VmHWM was read), measure just that again, keeping their times.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { COMPILE_SIZES, compileSupported } from './compile.js';
import { OOM } from './outcome.js';
import { SYSTEMS } from './systems/index.js';
import { oracle, sizeLabel, WORKLOADS } from './workloads.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const args = process.argv.slice(2);
const flag = (n) => args.includes(`--${n}`);
const value = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const quick = flag('quick');
const machine = value('machine', process.env.GLIMPSE_BENCH_MACHINE ?? `node-${cpus().length}core`);
const out = value('out', here(`../results/${machine}-peers${quick ? '-quick' : ''}.json`));
const pick = (list, key) => {
  const v = value(key);
  return v ? list.filter((x) => v.split(',').includes(x.id ?? x.name)) : list;
};
const systems = pick(SYSTEMS, 'systems');
const workloads = [...pick([...WORKLOADS, { name: 'compile' }], 'workloads')];
/** Unfused systems materialise the scores: past this many bytes they are not started. */
const SCORES_LIMIT = 4 * 2 ** 30;
const TIMEOUT_S = Number(value('timeout', quick ? 120 : 240));

const log = (s) => process.stdout.write(`${s}\n`);
const cpu = cpus();
const rssOnly = flag('rss-only');
const results = rssOnly
  ? JSON.parse(readFileSync(out, 'utf8'))
  : {
      machine: {
        name: machine,
        cpu: cpu[0]?.model ?? 'unknown',
        cores: cpu.length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        date: new Date().toISOString().slice(0, 10),
        quick,
        timeoutS: TIMEOUT_S,
      },
      cases: [],
    };
const save = () => {
  mkdirSync(here('../results'), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 1)}\n`);
};

/** Run one case in a child process; resolves to its record. */
function child(system, workload, size, oracleFile) {
  const argv = [here('child.js'), system.id, workload, JSON.stringify(size), oracleFile];
  argv.push('--runs', quick || rssOnly ? '1' : '5', '--budget', quick || rssOnly ? '1' : '20');
  return new Promise((resolve) => {
    const p = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const timer = setTimeout(() => p.kill('SIGKILL'), TIMEOUT_S * 1000);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) return resolve(JSON.parse(line.slice(7)));
      const last =
        stderr
          .trim()
          .split('\n')
          .filter((l) => /error|Error|memory/.test(l))
          .pop() ??
        stderr.trim().split('\n').pop() ??
        '';
      if (signal === 'SIGKILL' && !OOM.test(stderr))
        return resolve({ status: 'timeout', error: `no result within ${TIMEOUT_S} s` });
      const oom = OOM.test(stderr);
      resolve({
        status: oom ? 'oom' : 'failed',
        error:
          (oom ? 'out of memory: ' : '') + `${last.trim().slice(0, 300)} (exit ${code ?? signal})`,
      });
    });
  });
}

const fmt = (r) =>
  r.status === 'ok'
    ? `median ${r.median.toFixed(1)} ms (${r.min.toFixed(1)}–${r.max.toFixed(1)}, ${r.times.length} runs), peak RSS ${r.rssMB.toFixed(0)} MB`
    : `${r.status.toUpperCase()}: ${r.error}`;

for (const w of workloads) {
  const sizes =
    w.name === 'compile'
      ? COMPILE_SIZES[quick ? 'quick' : 'full']
      : w.sizes[quick ? 'quick' : 'full'];
  const failedAt = new Map(); // system → label of the size it failed at
  for (const size of sizes) {
    const label = w.name === 'compile' ? `${size.blocks} blocks, dim=${size.dim}` : sizeLabel(size);
    const built = w.name === 'compile' ? undefined : w.build(size);
    // The oracle of this size, written on first use (an --rss-only pass may need none).
    let oracleFile;
    const oracleFor = () => {
      if (oracleFile === undefined && built) {
        const o = oracle(w, built);
        oracleFile = here(`../results/.oracle-${w.name}-${label}.json`);
        mkdirSync(here('../results'), { recursive: true });
        const json = { index: Array.from(o.index), values: Array.from(o.values) };
        writeFileSync(oracleFile, JSON.stringify(json));
      }
      return oracleFile ?? '';
    };
    for (const s of systems) {
      const supported = w.name === 'compile' ? compileSupported(s) : !s.supports || s.supports(w);
      if (!supported) continue;
      const base = {
        workload: w.name,
        size: label,
        T: size.T,
        system: s.id,
        label: s.label,
        family: s.family,
        fused: s.fused,
        gpu: s.gpu,
      };
      if (rssOnly) {
        const old = results.cases.find(
          (c) => c.workload === w.name && c.size === label && c.system === s.id,
        );
        if (!old || old.status !== 'ok' || old.rss === 'VmHWM') continue;
        const r = await child(s, w.name, size, oracleFor());
        if (r.status === 'ok') Object.assign(old, { rssMB: r.rssMB, rss: r.rss });
        log(
          `${w.name} ${label} | ${s.label}: peak RSS ${r.status === 'ok' ? `${r.rssMB.toFixed(0)} MB` : r.status}`,
        );
        save();
        continue;
      }
      let r;
      if (failedAt.has(s.id))
        r = { status: 'skipped', error: `failed at ${failedAt.get(s.id)} already` };
      else if (built && !s.fused && built.scoresBytes > SCORES_LIMIT)
        r = {
          status: 'skipped',
          error: `not run: its T×T scores and probabilities need ${(built.scoresBytes / 2 ** 30).toFixed(0)} GiB`,
        };
      else r = await child(s, w.name, size, oracleFor());
      if (r.status !== 'ok' && r.status !== 'skipped') failedAt.set(s.id, label);
      results.cases.push({ ...base, ...r });
      log(`${w.name} ${label} | ${s.label}: ${fmt(r)}`);
      save();
    }
  }
}
save();
log(`wrote ${out}`);
