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
