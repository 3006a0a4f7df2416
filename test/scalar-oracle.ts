/**
 * The scalar-semantics oracle (test/fixtures/scalar/oracle.json, made by PyTorch through
 * test/fixtures/gen_scalar_oracle.py): for each case a one-op graph (and, for the float
 * ops, the same rule as an `elementwise` program), and the check of a backend's output
 * against PyTorch's — bit for bit (NaN meets NaN, zeros by sign, integers exactly), or
 * within the stated ulps for exp, tanh and gelu. Entries with `why` are glimpse's own
 * defined results where PyTorch has none (integer division by zero, casts of NaN).
 */
import { readFileSync } from 'node:fs';
import type { DType, Graph, Tensor } from '@glimpse/ir';
import { BINARY_OPS, buildGraph, fromNumbers, PROGRAM_OPS, toNumbers } from '@glimpse/ir';
import { expect } from 'vitest';
import { flushSubnormal } from './helpers.js';

export interface OracleCase {
  op: string;
  dtype: DType;
  outDtype?: DType;
  inputs: string[][];
  out: string[];
  attrs?: Record<string, unknown>;
  ulps?: number;
  why?: string;
}

export const ORACLE: { source: string; cases: OracleCase[] } = JSON.parse(
  readFileSync(new URL('./fixtures/scalar/oracle.json', import.meta.url), 'utf8'),
);

export function decode(s: string): number {
  if (s === 'nan') return NaN;
  if (s === 'inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(s);
}

/** Rules an `elementwise` program can also spell: the program steps (one operand or two). */
const UNARY: readonly string[] = PROGRAM_OPS.filter((o) => !(BINARY_OPS as string[]).includes(o));
const BINARY: readonly string[] = BINARY_OPS;

/** The case as graphs: the op itself, and (float rules) the same rule as a program. */
export function oracleGraphs(
  c: OracleCase,
): { what: string; graph: Graph; inputs: Record<string, Tensor> }[] {
  const n = c.inputs[0]!.length;
  const shape = (c.attrs?.shape as number[] | undefined) ?? [n];
  const inputs = Object.fromEntries(
    c.inputs.map((xs, i) => [`x${i}`, fromNumbers(c.dtype, shape, xs.map(decode))]),
  );
  const attrs: Record<string, unknown> = { ...c.attrs };
  delete attrs.shape;
  if (typeof attrs.factor === 'string') attrs.factor = decode(attrs.factor);
  const graph = (op: string, a: Record<string, unknown>) =>
    buildGraph(`oracle_${op}`, (b) =>
      b.op(
        op as never,
        c.inputs.map((_, i) => b.input(`x${i}`, c.dtype, shape)),
        a as never,
        'y',
      ),
    );
  const out = [{ what: c.op, graph: graph(c.op, attrs), inputs }];
  if (c.dtype === 'f32' && (UNARY.includes(c.op) || BINARY.includes(c.op) || c.op === 'scale')) {
    const program =
      c.op === 'scale'
        ? ['$0', attrs.factor as number, 'mul']
        : UNARY.includes(c.op)
          ? ['$0', c.op]
          : ['$0', '$1', c.op];
    out.push({
      what: `elementwise(${program.join(' ')})`,
      graph: graph('elementwise', { program }),
      inputs,
    });
  }
  return out;
}

/** One f32 ulp at |x| (the smallest subnormal below the normal range). */
export const f32Ulp = (x: number) => {
  const a = Math.abs(Math.fround(x));
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
};

export interface OracleOptions {
  /** An absolute tolerance per element in place of the case's ulps (a backend's accuracy). */
  tol?: (i: number, want: number) => number;
  /** Also accept these results (WGSL: the result for subnormals flushed to zero). */
  alternative?: readonly number[];
}

/** The output against the oracle's; returns a message for the first mismatch, or undefined. */
export function oracleMismatch(
  got: Tensor,
  c: OracleCase,
  o: OracleOptions = {},
): string | undefined {
  const g = toNumbers(got);
  const want = c.out.map(decode);
  const dt = c.outDtype ?? c.dtype;
  if (got.dtype !== dt) return `dtype ${got.dtype}, expected ${dt}`;
  const isFloat = dt === 'f32' || dt === 'f16';
  const matches = (v: number, w: number, i: number): boolean => {
    if (!isFloat) return v === w;
    if (Number.isNaN(w)) return Number.isNaN(v);
    // Special values and zeros exactly (a zero's sign too), unless a tolerance admits a
    // non-zero value near a zero.
    if (!Number.isFinite(w) || Object.is(v, w)) return Object.is(v, w);
    if (v === 0 && w === 0) return false; // zeros of different signs
    const tol = o.tol ? o.tol(i, w) : (c.ulps ?? 0) * f32Ulp(w);
    return Number.isFinite(v) && Math.abs(v - w) <= tol;
  };
  for (let i = 0; i < want.length; i++) {
    const v = g[i]!;
    if (matches(v, want[i]!, i)) continue;
    if (o.alternative && matches(flushSubnormal(v), o.alternative[i]!, i)) continue;
    const ins = c.inputs.map((xs) => xs[Math.min(i, xs.length - 1)]).join(', ');
    return `[${i}] ${c.op}(${ins}): got ${Object.is(v, -0) ? '-0' : v}, PyTorch ${c.out[i]}${o.alternative ? ` (flushed: ${o.alternative[i]})` : ''}${c.why ? ` (glimpse's rule: ${c.why})` : ''}`;
  }
  return undefined;
}

export function expectOracle(got: Tensor, c: OracleCase, where: string, o: OracleOptions = {}) {
  const m = oracleMismatch(got, c, o);
  if (m !== undefined) expect.fail(`${where}: ${m}`);
}
