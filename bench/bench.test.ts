/** A smoke run of the bench harness at tiny sizes, so that it cannot rot (timings not asserted). */
import { describe, expect, it } from 'vitest';
import { describeGpu } from '../test/wgsl/gpu.js';
// @ts-expect-error plain JS module without types
import { cases, runCases } from './harness.js';

describe('bench harness', () => {
  it('runs every case at tiny sizes and checks answers before timing', () => {
    const rows = runCases(cases({ n: 8, T: 4, dim: 8 }), { runs: 1, warmup: 0 }) as {
      error?: string;
      gflops?: number;
    }[];
    expect(rows.length).toBe(3);
    for (const r of rows) {
      expect(r.error).toBeUndefined();
      expect(r.gflops).toBeGreaterThan(0);
    }
  });
});

describe('attention bench harness', () => {
  it('runs the fused/unfused/naive, long-context and -O2/-O0 cases at tiny sizes', async () => {
    // @ts-expect-error plain JS module without types
    const m = (await import('./attention.js')) as Record<
      string,
      (o: object) => { error?: string; maxRssMB?: number; speedup?: number }[]
    >;
    const quiet = { log: () => {} };
    const a = m.attentionBench!({ H: 2, T: 40, runs: 1, ...quiet });
    expect(a.map((r) => r.error)).toEqual([undefined, undefined, undefined]);
    const l = m.longContextBench!({ Ts: [128], unfusedUpTo: 128, ...quiet });
    expect(l.every((r) => r.error === undefined && r.maxRssMB! > 0)).toBe(true);
    const v = m.levelsBench!({ Ts: [32], ...quiet });
    expect(v[0]!.speedup).toBeGreaterThan(0);
  });
});

describe('dump bench harness', () => {
  it('renders the html report of a small stack', async () => {
    // @ts-expect-error plain JS module without types
    const m = (await import('./dump.js')) as {
      dumpBench: (o: object) => Promise<{ sections: number; bytes: number }>;
    };
    const r = await m.dumpBench({ layers: 2, runs: 1, log: () => {} });
    expect(r.sections).toBeGreaterThan(5);
    expect(r.bytes).toBeGreaterThan(10_000);
  });
});

describe('optimizer bench harness', () => {
  it('optimises relu chains and compiles transformers in fresh processes at tiny sizes', async () => {
    // @ts-expect-error plain JS module without types
    const m = (await import('./optimizer.js')) as {
      optimizerBench: (o: object) => {
        rows: { kind: string; nodes: number; outNodes: number; cold: number; peakRssMB: number }[];
        cli: { median: number };
      };
    };
    const r = m.optimizerBench({ quick: true, log: () => {} });
    const chains = r.rows.filter((x) => x.kind === 'optimize-scaling');
    // A relu chain fuses into elementwise programs: far fewer nodes than it started with.
    expect(chains.map((x) => x.outNodes < x.nodes)).toEqual([true, true]);
    expect(r.rows.every((x) => x.cold > 0 && x.peakRssMB > 0)).toBe(true);
    expect(r.cli.median).toBeGreaterThan(0);
  });
});

describeGpu('wgsl bench harness', () => {
  it('checks and times the matmul kernels and fused vs unfused attention at tiny sizes', async () => {
    // @ts-expect-error plain JS module without types
    const m = (await import('./wgsl.js')) as Record<
      string,
      (o: object) => Promise<{ error?: string; speedup?: number; gflops?: number }[]>
    >;
    const quiet = { log: () => {} };
    const mm = await m.matmulBench!({ sizes: [32], runs: 1, ...quiet });
    expect(mm.map((r) => r.error)).toEqual([undefined, undefined]);
    expect(mm.every((r) => r.gflops! > 0)).toBe(true);
    const at = await m.attentionBench!({ Ts: [70], H: 1, dh: 8, ...quiet });
    expect(at[0]!.speedup).toBeGreaterThan(0);
  });
});

describe('peer benchmarks (bench/peers): the harness at tiny sizes', () => {
  // Every family of peer on the attention core, glimpse on every workload, and the compile
  // workload; each case a process of its own, outputs checked before timing. (The full run
  // is `pnpm bench`; all systems at tiny sizes is `node bench/peers/run.js --quick`.)
  const gpu = process.env.GLIMPSE_SKIP_WEBGPU !== '1';
  const systems = [
    'glimpse-js-O0',
    'glimpse-js-O2',
    ...(gpu ? ['glimpse-wgsl-O2', 'tfjs-webgpu', 'ort-webgpu'] : []),
    'tfjs-cpu',
    'tfjs-wasm',
    'ort-node-1t',
    'ort-node-1t-mha',
    'ort-wasm-2t',
    'jax-wasm',
  ];
  it('a case whose output disagrees with the oracle is reported as wrong, not timed', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const oracleFile = `${mkdtempSync(`${tmpdir()}/glimpse-oracle-`)}/o.json`;
    // Element 0 of the output "should be" 5: far from any attention output (a mean of v rows in [-0.5, 0.5]).
    writeFileSync(oracleFile, JSON.stringify({ index: [0], values: [5] }));
    const size = JSON.stringify({ H: 2, T: 16, dh: 8 });
    const out = execFileSync(
      process.execPath,
      ['peers/child.js', 'glimpse-js-O2', 'attention-512', size, oracleFile],
      {
        cwd: new URL('.', import.meta.url).pathname,
        encoding: 'utf8',
      },
    );
    const r = JSON.parse(
      out
        .split('\n')
        .find((l) => l.startsWith('RESULT '))!
        .slice(7),
    ) as Record<string, unknown>;
    expect(r.status).toBe('wrong');
    expect(r.error).toMatch(/^wrong answer: max error /);
    expect(r.times).toBeUndefined();
  });
  it('runs, checks and reports every case', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/glimpse-peers-`);
    const json = `${dir}/smoke-peers.json`;
    const run = (args: string[]) =>
      execFileSync(process.execPath, args, {
        cwd: new URL('.', import.meta.url).pathname,
        encoding: 'utf8',
      });
    const log = run([
      'peers/run.js',
      '--quick',
      '--out',
      json,
      '--systems',
      systems.join(','),
      '--workloads',
      'attention-512,long-context,compile',
    ]);
    run([
      'peers/run.js',
      '--quick',
      '--out',
      `${dir}/models.json`,
      '--systems',
      'glimpse-js-O2,tfjs-wasm',
      '--workloads',
      'self-attention,transformer-block',
    ]);
    const cases = [
      ...JSON.parse(readFileSync(json, 'utf8')).cases,
      ...JSON.parse(readFileSync(`${dir}/models.json`, 'utf8')).cases,
    ] as {
      system: string;
      workload: string;
      status: string;
      error?: string;
      median?: number;
      rssMB?: number;
    }[];
    // One progress line per case.
    expect(log.trim().split('\n').length).toBe(
      JSON.parse(readFileSync(json, 'utf8')).cases.length + 1,
    );
    for (const c of cases) {
      // onnxruntime-web's WebGPU MultiHeadAttention gets causal attention wrong: reported.
      if (c.system === 'ort-webgpu-mha' && c.workload === 'long-context') continue;
      expect(c.status, `${c.workload} ${c.system}: ${c.error}`).toBe('ok');
      expect(c.median).toBeGreaterThanOrEqual(0);
      expect(c.rssMB).toBeGreaterThan(10);
    }
    expect(new Set(cases.map((c) => c.system))).toEqual(new Set(systems));
    // The report: a table per workload and the README section between its markers.
    const readme = `${dir}/README.md`;
    writeFileSync(readme, 'before\n<!-- peers:begin -->\nold\n<!-- peers:end -->\nafter\n');
    run([
      'peers/report.js',
      '--machine',
      'smoke',
      '--in',
      json,
      '--out-dir',
      dir,
      '--readme',
      readme,
    ]);
    const md = readFileSync(`${dir}/smoke-peers.md`, 'utf8');
    for (const w of ['attention-512', 'long-context', 'compile']) expect(md).toContain(`## ${w}`);
    expect(md).toContain('tfjs-backend-wasm');
    const r = readFileSync(readme, 'utf8');
    expect(r).toMatch(
      /^before\n<!-- peers:begin -->\n<!-- generated by .*\n[^]*<!-- peers:end -->\nafter\n$/,
    );
    expect(r).not.toContain('old');
    expect(readFileSync(`${dir}/smoke-long-context-time.svg`, 'utf8')).toMatch(
      /^<svg[^]*polyline|circle/,
    );
  }, 300_000);
});
