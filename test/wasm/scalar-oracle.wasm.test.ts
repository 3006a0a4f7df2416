/**
 * The scalar-rule oracle (test/scalar-oracle.test.ts: PyTorch's results on NaN, ±inf, ±0,
 * subnormals, f32's extremes, integer overflow) on the wasm backend: its SIMD programs
 * (min, max, sigmoid, gelu_tanh, … through vexp and vtanh) and the CPU kernels it falls
 * back to, within the oracle's ulps — but gelu, within 1e-7·(1 + |x|) absolute: its erfc is
 * Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7), as on WGSL.
 */
import { describe, it } from 'vitest';
import { WasmExecutable } from '@glimpse/backend-wasm';
import { decode, expectOracle, ORACLE, oracleGraphs } from '../scalar-oracle.js';

describe('scalar rules ≡ PyTorch on wasm', () => {
  for (const c of ORACLE.cases)
    it(`${c.op} ${c.dtype}${c.attrs?.to ? `→${c.attrs.to}` : ''}${c.attrs?.factor ? ` ×${c.attrs.factor}` : ''}${c.why ? ' (glimpse-defined)' : ''}`, async () => {
      for (const { what, graph, inputs } of oracleGraphs(c)) {
        const exe = new WasmExecutable(graph, { threads: 1 });
        const x = (i: number) => decode(c.inputs[0]![i]!);
        const tol = c.op === 'gelu' ? (i: number) => 1e-7 * (1 + Math.abs(x(i))) : undefined;
        expectOracle((await exe.run(inputs)).y!, c, `wasm ${what}`, tol ? { tol } : {});
        await exe.release();
      }
    });
});
