/**
 * Special-value differential testing: an optimised graph against the graph as written, on
 * the same backend (docs/design.md, "Special values are semantics, not noise").
 *
 * Per element, with `naive` the graph as written on that backend, `opt` the optimised graph
 * on it, and `ref` the float64 reference of the graph as written:
 *
 * - Where the written graph gives NaN, ±inf or ±0 and the exact result (ref stored in the
 *   output's dtype, f32 or f16) is that same special value, the optimised graph must give
 *   it too: NaN meets NaN, an inf its sign, a zero its sign.
 * - Where the written graph's special value is only an artefact of f32 (an intermediate
 *   that overflowed to inf, or underflowed to 0, where float64 stayed finite), the optimised
 *   graph may give that artefact or the exact result: a rewrite may keep a value in range
 *   that the written order let overflow — never the other way round.
 * - Finite values follow the precision contract: max |opt − ref| ≤ 2·max |naive − ref| +
 *   1e-6·max(1, max |ref|) over the output's elements (finite in both). docs/design.md's 1e-6 is
 *   stated for values around 1; these outputs reach 1e30, where it scales with them (an
 *   output rounded once where the written graph rounded twice can land 1 ulp off a sum
 *   whose naive errors happened to cancel).
 */
import type { Graph, RefTensor, Tensor } from '@glimpse/ir';
import { concreteShape, fromNumbers, randomStream, roundF16, toNumbers } from '@glimpse/ir';
import type { OptimizeOptions } from '@glimpse/optimizer';
import { PASSES } from '@glimpse/optimizer';
import { expect } from 'vitest';
import { specialsOf } from './graph-gen.js';

type Kind = 'nan' | '+inf' | '-inf' | '+0' | '-0' | 'finite';
export function kind(x: number): Kind {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return '+inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '+0';
  return 'finite';
}
const special = (k: Kind) => k !== 'finite';

export interface Mismatch {
  index: number;
  opt: number;
  naive: number;
  ref: number;
  why: string;
}

/** Element-wise check; returns the first mismatch or the contract failure, or undefined. */
export function compareSpecial(
  opt: ArrayLike<number>,
  naive: ArrayLike<number>,
  ref: ArrayLike<number>,
  /** A floor under the naive error (expectRowsEqual: the median of its rows). */
  naiveFloor = 0,
  /** How the output's dtype stores the exact result: f32, or f16 (roundF16). */
  store: (x: number) => number = Math.fround,
): Mismatch | undefined {
  let optErr = 0;
  let naiveErr = 0;
  let magnitude = 1;
  let worst = -1;
  for (let i = 0; i < naive.length; i++) {
    const o = opt[i]!;
    const n = naive[i]!;
    const r = ref[i]!;
    const kn = kind(n);
    const ko = kind(o);
    const kr = kind(store(r)); // the exact result as the output's dtype holds it
    const bad = (why: string): Mismatch => ({ index: i, opt: o, naive: n, ref: r, why });
    if (special(kn)) {
      if (ko === kn) continue;
      if (kn === kr) return bad(`the graph as written gives ${kn}, the optimised graph ${ko}`);
      // An f32 artefact of the written order: the exact result is as good.
      if (special(kr) ? ko === kr : ko === 'finite' || ko === '+0' || ko === '-0') continue;
      return bad(`written ${kn} (exact ${kr}), optimised ${ko}`);
    }
    // The written graph gives a finite, non-zero value.
    if (ko === 'nan' || ko === '+inf' || ko === '-inf')
      return bad(`the graph as written gives a finite value, the optimised graph ${ko}`);
    if (!Number.isFinite(r)) continue; // f64 overflowed (never here) — nothing to measure
    magnitude = Math.max(magnitude, Math.abs(r));
    const eo = Math.abs(o - r);
    const en = Math.abs(n - r);
    if (eo > optErr) {
      optErr = eo;
      worst = i;
    }
    naiveErr = Math.max(naiveErr, en);
  }
  naiveErr = Math.max(naiveErr, naiveFloor);
  if (worst >= 0 && optErr > 2 * naiveErr + 1e-6 * magnitude)
    return {
      index: worst,
      opt: opt[worst]!,
      naive: naive[worst]!,
      ref: ref[worst]!,
      why: `precision contract: max |opt − ref| = ${optErr} > 2·${naiveErr} + 1e-6·${magnitude}`,
    };
  return undefined;
}

export function expectSpecialEqual(what: string, opt: Tensor, naive: Tensor, ref: RefTensor) {
  expect(opt.shape, `${what} shape`).toEqual(naive.shape);
  expect(opt.dtype, `${what} dtype`).toBe(naive.dtype);
  const isFloat = naive.dtype === 'f32' || naive.dtype === 'f16';
  const o = toNumbers(opt);
  const n = toNumbers(naive);
  if (!isFloat) {
    expect(Array.from(o), `${what}: ${naive.dtype} values`).toEqual(Array.from(n));
    return;
  }
  const m = compareSpecial(o, n, ref.data, 0, naive.dtype === 'f16' ? roundF16 : Math.fround);
  if (m !== undefined)
    expect.fail(
      `${what}[${m.index}]: ${m.why} (optimised ${m.opt}, as written ${m.naive}, float64 ${m.ref})`,
    );
}

/** Inputs where about half the elements are special or extreme. */
export function specialInputs(
  g: Graph,
  binding: Record<string, number>,
  seed: number,
): Record<string, Tensor> {
  const rnd = randomStream(seed, 'special-inputs');
  return Object.fromEntries(
    g.inputs.map((inp) => {
      const shape = concreteShape(inp.type.shape, binding);
      const n = shape.reduce((a, b) => a * b, 1);
      const numbers = specialsOf(inp.type.dtype);
      const data = Array.from({ length: n }, () =>
        rnd() < 0.5 ? numbers[Math.floor(rnd() * numbers.length)]! : rnd() * 4 - 2,
      );
      return [inp.name, fromNumbers(inp.type.dtype, shape, data)];
    }),
  );
}

/** Every level and every pass alone, with params frozen (fold-scale, fuse-qkv fire). */
export const PIPELINES: readonly { name: string; opts: OptimizeOptions }[] = [
  { name: '-O1', opts: { level: 1 } },
  { name: '-O2', opts: { level: 2 } },
  { name: '-O2 frozen', opts: { level: 2, frozenParams: true } },
  ...Object.keys(PASSES).map((p) => ({
    name: `--passes ${p}`,
    opts: { passes: [p], frozenParams: true },
  })),
];

/** Hand-written graphs: each a simplification that would be wrong on special values. */
export const SPECIAL_GRAPHS: Record<string, string> = {
  'x − x is not 0 (inf, NaN)': `graph @g(%x: f32[8]) {
  %y: f32[8] = sub %x, %x
  return %y
}`,
  'x / x is not 1': `graph @g(%x: f32[8]) {
  %y: f32[8] = div %x, %x
  return %y
}`,
  'x · 0 is not 0': `graph @g(%x: f32[8]) {
  %z: f32[] = constant[value=[0.0]]
  %y: f32[8] = mul %x, %z
  return %y
}`,
  'x + 0 is not x for −0': `graph @g(%x: f32[8]) {
  %z: f32[] = constant[value=[0.0]]
  %y: f32[8] = add %x, %z
  return %y
}`,
  'equal(x, x) is false for NaN': `graph @g(%x: f32[8]) {
  %e: bool[8] = equal %x, %x
  %z: f32[] = constant[value=[7.0]]
  %y: f32[8] = where %e, %x, %z
  return %y
}`,
  'inf and −inf constants stay apart (cse)': `graph @g(%x: f32[8]) {
  %a: f32[] = constant[value=[inf]]
  %b: f32[] = constant[value=[-inf]]
  %y1: f32[8] = add %x, %a
  %y2: f32[8] = add %x, %b
  %y: f32[8] = sub %y1, %y2
  return %y
}`,
  'NaN and inf constants stay apart (cse)': `graph @g(%x: f32[8]) {
  %a: f32[] = constant[value=[nan]]
  %b: f32[] = constant[value=[inf]]
  %y1: f32[8] = add %x, %a
  %y2: f32[8] = add %x, %b
  %e: bool[8] = equal %y2, %y2
  %z: f32[] = constant[value=[7.0]]
  %y: f32[8] = where %e, %y1, %z
  return %y
}`,
  '0 and −0 stay apart (cse, through 1/x)': `graph @g(%x: f32[8]) {
  %a: f32[] = constant[value=[0.0]]
  %b: f32[] = constant[value=[-0.0]]
  %one: f32[] = constant[value=[1.0]]
  %y1: f32[8] = mul %x, %a
  %y2: f32[8] = mul %x, %b
  %r1: f32[8] = div %one, %y1
  %r2: f32[8] = div %one, %y2
  %y: f32[8] = sub %r1, %r2
  return %y
}`,
  'rotate-half rotary, partial (fuse-rotary)': `graph @g(%x: f32[5,10], %cos: f32[5,8], %sin: f32[1,8]) {
  %xr: f32[5,8] = slice[axis=1, end=8] %x
  %xp: f32[5,2] = slice[axis=1, start=8, end=10] %x
  %lo: f32[5,4] = slice[axis=1, end=4] %xr
  %hi: f32[5,4] = slice[axis=1, start=4, end=8] %xr
  %neg: f32[5,4] = scale[factor=-1] %hi
  %rh: f32[5,8] = concat[axis=1] %neg, %lo
  %a: f32[5,8] = mul %cos, %xr
  %b: f32[5,8] = mul %rh, %sin
  %r: f32[5,8] = add %a, %b
  %y: f32[5,10] = concat[axis=1] %r, %xp
  return %y
}`,
  'a scale chain through inf and 0': `graph @g(%x: f32[8]) {
  %a: f32[8] = scale[factor=inf] %x
  %y: f32[8] = scale[factor=0.0] %a
  return %y
}`,
  'a scale chain that overflows in between': `graph @g(%x: f32[8]) {
  %a: f32[8] = scale[factor=1e30] %x
  %y: f32[8] = scale[factor=1e-30] %a
  return %y
}`,
  'division by a constant that has no exact reciprocal': `graph @g(%x: f32[8]) {
  %c: f32[] = constant[value=[3.0]]
  %y: f32[8] = div %x, %c
  return %y
}`,
  'division by zero and by inf': `graph @g(%x: f32[8]) {
  %z: f32[] = constant[value=[-0.0]]
  %i: f32[] = constant[value=[inf]]
  %a: f32[8] = div %x, %z
  %b: f32[8] = div %x, %i
  %y: f32[8] = add %a, %b
  return %y
}`,
  'a scale of zero moved through a matmul': `graph @g(%x: f32[2,4,4]) {
  %s: f32[2,4,4] = scale[factor=0.0] %x
  %y: f32[2,4,4] = bmm %s, %x
  return %y
}`,
  'a decomposed LayerNorm with its affine (fuse-norm)': `graph @g(%x: f32[2,4,8], %w: f32[8], %b: f32[8]) {
  %m: f32[2,4,1] = reduce_mean[axes=[2], keepdims=true] %x
  %d: f32[2,4,8] = sub %x, %m
  %sq: f32[2,4,8] = mul %d, %d
  %v: f32[2,4,1] = reduce_mean[axes=[2], keepdims=true] %sq
  %e: f32[] = constant[value=[0.00001]]
  %ve: f32[2,4,1] = add %v, %e
  %s: f32[2,4,1] = sqrt %ve
  %n: f32[2,4,8] = div %d, %s
  %nw: f32[2,4,8] = mul %n, %w
  %y: f32[2,4,8] = add %nw, %b
  return %y
}`,
  'an Erf-form GELU (fuse-norm)': `graph @g(%x: f32[8]) {
  %c: f32[] = constant[value=[1.4142135381698608]]
  %q: f32[8] = div %x, %c
  %e: f32[8] = erf %q
  %one: f32[] = constant[value=[1.0]]
  %p: f32[8] = add %e, %one
  %xp: f32[8] = mul %x, %p
  %h: f32[] = constant[value=[0.5]]
  %y: f32[8] = mul %xp, %h
  return %y
}`,
  'a decomposed RMSNorm with its weight (fuse-norm)': `graph @g(%x: f32[2,4,8], %w: f32[8]) {
  %sq: f32[2,4,8] = mul %x, %x
  %ms: f32[2,4,1] = reduce_mean[axes=[2], keepdims=true] %sq
  %e: f32[] = constant[value=[0.000001]]
  %me: f32[2,4,1] = add %ms, %e
  %r: f32[2,4,1] = sqrt %me
  %one: f32[] = constant[value=[1.0]]
  %inv: f32[2,4,1] = div %one, %r
  %n: f32[2,4,8] = mul %x, %inv
  %y: f32[2,4,8] = mul %w, %n
  return %y
}`,
  'a tanh-form GELU (fuse-norm)': `graph @g(%x: f32[8]) {
  %x2: f32[8] = mul %x, %x
  %x3: f32[8] = mul %x, %x2
  %c1: f32[] = constant[value=[0.044714998453855515]]
  %t1: f32[8] = mul %c1, %x3
  %i: f32[8] = add %x, %t1
  %c2: f32[] = constant[value=[0.7978845834732056]]
  %a: f32[8] = mul %c2, %i
  %t: f32[8] = tanh %a
  %one: f32[] = constant[value=[1.0]]
  %p: f32[8] = add %one, %t
  %xp: f32[8] = mul %x, %p
  %h: f32[] = constant[value=[0.5]]
  %y: f32[8] = mul %h, %xp
  return %y
}`,
  'softmax of scores shifted by their maximum (rows with NaN, ±inf)': `graph @g(%x: f32[2,4,8]) {
  %m: f32[2,4,1] = reduce_max[axes=[2], keepdims=true] %x
  %d: f32[2,4,8] = sub %x, %m
  %y: f32[2,4,8] = softmax %d
  return %y
}`,
  'softmax of a row with +inf and NaN': `graph @g(%x: f32[2,4,8]) {
  %s: f32[2,4,8] = scale[factor=2.0] %x
  %y: f32[2,4,8] = softmax[axis=-1] %s
  return %y
}`,
  'f16: constants as f16 stores them, arithmetic on them held in f32 (65504 + 65504)': `graph @g(%x: f16[8]) {
  %a: f16[] = constant[dtype=f16, value=[65504.0]]
  %b: f16[] = add %a, %a
  %c: f16[] = constant[dtype=f16, value=[0.1]]
  %d: f16[] = mul %b, %c
  %xd: f16[8] = mul %x, %d
  %e: f16[8] = div %x, %c
  %y: f16[8] = sub %xd, %e
  return %y
}`,
  'f16: a value through f32 and back, overflowing and underflowing on the cast': `graph @g(%x: f16[8]) {
  %w: f32[8] = cast[to=f32] %x
  %s: f32[8] = scale[factor=3.0] %w
  %h: f16[8] = cast[to=f16] %s
  %t: f32[8] = cast[to=f32] %h
  %u: f32[8] = scale[factor=0.0000001] %t
  %v: f16[8] = cast[to=f16] %u
  %y: f16[8] = add %h, %v
  return %y
}`,
  'f16: a Llama RMSNorm (cast to f32 inside, weight in f16)': `graph @g(%x: f16[2,4,8], %w: f16[8]) {
  %xf: f32[2,4,8] = cast[to=f32] %x
  %sq: f32[2,4,8] = mul %xf, %xf
  %ms: f32[2,4,1] = reduce_mean[axes=[2], keepdims=true] %sq
  %e: f32[] = constant[value=[0.000001]]
  %me: f32[2,4,1] = add %ms, %e
  %r: f32[2,4,1] = sqrt %me
  %one: f32[] = constant[value=[1.0]]
  %inv: f32[2,4,1] = div %one, %r
  %n: f32[2,4,8] = mul %xf, %inv
  %nh: f16[2,4,8] = cast[to=f16] %n
  %y: f16[2,4,8] = mul %w, %nh
  return %y
}`,
};

/** Inputs for the hand-written graphs: every special value, several times, in each. */
export function allSpecials(g: Graph): Record<string, Tensor> {
  return Object.fromEntries(
    g.inputs.map((inp) => {
      const shape = inp.type.shape as number[];
      const n = shape.reduce((a, b) => a * b, 1);
      const numbers = specialsOf(inp.type.dtype);
      const data = Array.from({ length: n }, (_, i) =>
        i % 3 === 2 ? (i % 7) - 3 : numbers[i % numbers.length]!,
      );
      return [inp.name, fromNumbers(inp.type.dtype, shape, data)];
    }),
  );
}

/**
 * The precision contract row by row (attention: one query row's outputs): each row of the
 * optimised output against the same row of the graph as written, on the same backend, as
 * compareSpecial says — its error at most twice the plain computation's error of that row.
 *
 * `vInf`: the columns of v holding +inf or −inf. There a probability that underflows to
 * exactly 0 in one computation and not in another (online softmax rescales in steps; the
 * float64 reference's own exp underflows below e^−745) makes p·inf NaN in one and ±inf in
 * the other — an underflow, not a wrong answer: NaN and that column's infinity count as
 * equal.
 */
export function expectRowsEqual(
  what: string,
  opt: Tensor,
  naive: Tensor,
  ref: RefTensor,
  vInf?: { pos: ReadonlySet<number>; neg: ReadonlySet<number> },
  /** Per row, a bound its naive error is floored at (an ill-conditioned row's). */
  rowFloors?: readonly number[],
) {
  expect(opt.shape, `${what} shape`).toEqual(naive.shape);
  const o = toNumbers(opt);
  const n = toNumbers(naive);
  const len = naive.shape[naive.shape.length - 1] ?? 1;
  const underflow = (c: number, x: number, y: number) =>
    (Number.isNaN(x) &&
      ((y === Infinity && vInf?.pos.has(c)) || (y === -Infinity && vInf?.neg.has(c)))) ||
    (Number.isNaN(y) &&
      ((x === Infinity && vInf?.pos.has(c)) || (x === -Infinity && vInf?.neg.has(c))));
  // A row's realised naive error can be near 0 by luck (its roundings cancelled); it is
  // floored at the median naive error of the tensor's rows — the typical rounding of the
  // plain computation here, which, unlike a maximum, a few rows of huge values do not move.
  const rowErrors: number[] = [];
  for (let start = 0; start < n.length; start += len) {
    let e = 0;
    for (let i = start; i < start + len; i++)
      if (Number.isFinite(n[i]!) && Number.isFinite(ref.data[i]!))
        e = Math.max(e, Math.abs(n[i]! - ref.data[i]!));
    rowErrors.push(e);
  }
  const sorted = [...rowErrors].sort((a, b) => a - b);
  const median = sorted.length ? sorted[sorted.length >> 1]! : 0;
  for (let start = 0; start < n.length; start += len) {
    const row = (a: ArrayLike<number>) =>
      Array.prototype.slice.call(a, start, start + len) as number[];
    const [ro, rn, rr] = [row(o), row(n), row(ref.data)];
    for (let c = 0; c < len; c++)
      if (underflow(c, ro[c]!, rn[c]!) || underflow(c, ro[c]!, rr[c]!)) ro[c] = rn[c]!;
    const m = compareSpecial(ro, rn, rr, Math.max(median, rowFloors?.[start / len] ?? 0));
    if (m !== undefined)
      expect.fail(
        `${what}, row ${start / len}, element ${m.index}: ${m.why} (optimised ${m.opt}, as written ${m.naive}, float64 ${m.ref})`,
      );
  }
}

/**
 * The output columns fed by columns of v that hold +inf and −inf: expectRowsEqual's `vInf`.
 * v and the output may hold heads inside their last axis ([.., H·dv]) or not ([.., dv]):
 * columns are compared modulo the smaller width, dv.
 */
export function infColumns(v: Tensor, outWidth: number): { pos: Set<number>; neg: Set<number> } {
  const d = toNumbers(v);
  const len = v.shape[v.shape.length - 1] ?? 1;
  const dv = Math.min(len, outWidth);
  const pos = new Set<number>();
  const neg = new Set<number>();
  d.forEach((x, i) => {
    if (x !== Infinity && x !== -Infinity) return;
    for (let c = (i % len) % dv; c < outWidth; c += dv) (x > 0 ? pos : neg).add(c);
  });
  return { pos, neg };
}
