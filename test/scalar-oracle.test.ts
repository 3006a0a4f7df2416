/**
 * Scalar rules against an independent oracle (PyTorch; test/scalar-oracle.ts): the
 * reference interpreter and the JS backend share their scalar functions, so comparing them
 * with each other cannot catch a wrong rule — comparing both with PyTorch can. (WGSL:
 * test/wgsl/scalar-oracle.wgsl.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { BINARY_OPS, COMPARE_OPS, interpret, refToTensor, UNARY_OPS } from '@glimpse/ir';
import { compileJs } from '@glimpse/backend-js';
import { expectOracle, oracleMismatch, ORACLE, oracleGraphs } from './scalar-oracle.js';

describe('scalar rules ≡ PyTorch (reference interpreter and JS backend)', () => {
  it('covers every op whose rule the backends share', () => {
    const ops = new Set(ORACLE.cases.map((c) => c.op));
    // Every op of the IR's scalar classes, casts and the reductions.
    for (const op of [
      ...BINARY_OPS,
      ...COMPARE_OPS,
      ...UNARY_OPS,
      'cast',
      'reduce_sum',
      'reduce_mean',
      'reduce_max',
    ])
      expect(ops.has(op), op).toBe(true);
    // ... and the check can fail: a sign of zero, a NaN, an integer off by one.
    const c = ORACLE.cases.find((x) => x.op === 'relu')!;
    const { graph, inputs } = oracleGraphs(c)[0]!;
    const good = refToTensor(interpret(graph, inputs).y!);
    const data = Float32Array.from(good.data as Float32Array);
    data[c.out.indexOf('-0.0')] = 0;
    expect(oracleMismatch({ ...good, data }, c)).toMatch(/got 0, PyTorch -0.0/);
  });
  for (const c of ORACLE.cases)
    it(`${c.op} ${c.dtype}${c.attrs?.to ? `→${c.attrs.to}` : ''}${c.attrs?.factor ? ` ×${c.attrs.factor}` : ''}${c.why ? ' (glimpse-defined)' : ''}`, () => {
      for (const { what, graph, inputs } of oracleGraphs(c)) {
        expectOracle(refToTensor(interpret(graph, inputs).y!), c, `reference ${what}`);
        expectOracle(compileJs(graph).runSync(inputs).y!, c, `js ${what}`);
      }
    });
});
