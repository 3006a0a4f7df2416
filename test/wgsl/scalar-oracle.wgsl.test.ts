/**
 * The scalar-rule oracle (test/scalar-oracle.test.ts) on WGSL, run for real. Two things
 * WGSL defines otherwise, stated here and in docs/wgsl.md:
 *
 * - Subnormals may be flushed to zero (the WGSL spec allows it; SwiftShader does): where an
 *   input or a result is subnormal, the result for the inputs flushed to ±0, flushed, is
 *   accepted as well (that alternative comes from the reference interpreter, itself checked
 *   bit for bit against PyTorch).
 * - exp, tanh and gelu have WGSL's accuracy: exp within 3 + 2·|x| ulps (the WGSL spec's
 *   bound), tanh within 2⁻²¹ absolute, gelu within 1e-7·(1 + |x|) absolute (its erf is
 *   Abramowitz–Stegun 7.1.26, |error| < 1.5e-7).
 */
import { it } from 'vitest';
import { fromNumbers, interpret, toNumbers } from '@glimpse/ir';
import { compileWgsl } from '@glimpse/backend-wgsl';
import type { OracleCase } from '../scalar-oracle.js';
import { flushSubnormal } from '../helpers.js';
import { decode, expectOracle, f32Ulp, ORACLE, oracleGraphs } from '../scalar-oracle.js';
import { describeGpu, flushedInputs } from './gpu.js';

function tolerance(c: OracleCase): ((i: number, want: number) => number) | undefined {
  const x = (i: number) => decode(c.inputs[0]![i]!);
  switch (c.op) {
    case 'exp':
      return (i, w) => (3 + 2 * Math.abs(x(i))) * f32Ulp(w);
    case 'tanh':
      return () => 2 ** -21;
    case 'gelu':
      return (i) => 1e-7 * (1 + Math.abs(x(i)));
    default:
      return undefined;
  }
}

describeGpu('scalar rules ≡ PyTorch on WGSL', () => {
  for (const c of ORACLE.cases)
    it(`${c.op} ${c.dtype}${c.attrs?.to ? `→${c.attrs.to}` : ''}${c.attrs?.factor ? ` ×${c.attrs.factor}` : ''}${c.why ? ' (glimpse-defined)' : ''}`, async () => {
      for (const { what, graph, inputs } of oracleGraphs(c)) {
        const y = interpret(graph, flushedInputs(inputs)).y!;
        const alternative = Array.from(
          toNumbers(fromNumbers(y.dtype, y.shape, y.data)),
          flushSubnormal,
        );
        const tol = tolerance(c);
        expectOracle((await (await compileWgsl(graph)).run(inputs)).y!, c, `wgsl ${what}`, {
          alternative,
          ...(tol ? { tol } : {}),
        });
      }
    });
});
