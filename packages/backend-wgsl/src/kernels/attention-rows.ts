import { indent } from '../wgsl.js';
import type { AttentionKernel } from './attention-kernel.js';

/**
 * The per-row WGSL of the attention kernel (kernels/attention.ts), shared by its decode and
 * prefill paths: a row's state, its score against a key, the online-softmax update, the
 * write of the finished row, and the scan of v for non-finite columns. Row r's variables
 * carry r in their names (q0_0, o0_1, m0, l0, ...): unrolled over R rows and over vec4s,
 * they stay in registers.
 */

/** `n` statements from `f(i)`, one per line (unrolled: private vec4s indexed by constants stay in registers). */
export const unroll = (n: number, f: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => f(i)).join('\n');

/** Mask offset of query row `t` (key 0). */
function maskBase(k: AttentionKernel, t: string): string {
  const { u } = k;
  if (!k.g.mask) return '0u';
  return [
    '0u',
    ...u.maskLead!.map((st, i) => `ld${i} * ${st}`),
    `h * ${u.maskH!}`,
    `${t} * ${u.maskT!}`,
  ].join(' + ');
}

/** Per-row state of row r at query index `t`: q (loaded where `guard`), bases, mask base, o, m, l, real, open. */
export function rowState(k: AttentionKernel, r: number, t: string, guard: string): string {
  const { u, DH4, DV4 } = k;
  return `let t${r} = ${t};
let qb${r} = lf * ${u.q[0]} + h * ${u.q[1]} + t${r} * ${u.q[2]};
let ob${r} = lf * ${u.o[0]} + h * ${u.o[1]} + t${r} * ${u.o[2]};
let mb${r} = ${maskBase(k, `min(t${r}, T - 1u)`)};
${unroll(DH4, (i) => `var q${r}_${i} = vec4<f32>(0.0);`)}
if (${guard}) {
${indent(
  unroll(DH4, (i) => `q${r}_${i} = row4Q(qb${r}, ${4 * i}u, DH);`),
  2,
)}
}
${unroll(DV4, (i) => `var o${r}_${i} = vec4<f32>(0.0);`)}
var m${r} = neg_inf();
var l${r} = 0.0;
var real${r} = 0u;
var open${r} = 0u;`;
}

/** Row r's dot product with a key row read through `k4(i)`, and its score. */
export function scoreOf(
  k: AttentionKernel,
  r: number,
  k4: (i: number) => string,
  j: string,
): string {
  const dot = Array.from({ length: k.DH4 }, (_, i) => `dot(q${r}_${i}, ${k4(i)})`).join(' + ');
  return `let s${r} = score(${dot}, t${r}, ${j}, mb${r});${
    k.byMask ? `\nopen${r} = open${r} | opens(t${r}, ${j}, mb${r});` : ''
  }`;
}

/**
 * Online softmax update of row r with its score and a value row (vec4 i through `v4(i)`),
 * branch-free: alpha = 1 while the max is still -inf, so no -inf - -inf NaN appears, and
 * a score of -inf weighs exactly 0. `real` records a score that is not -inf (NaN counts:
 * `s == -inf` is false for NaN, where SwiftShader's ordered `!=` would also be false).
 */
export function update(k: AttentionKernel, r: number, v4: (i: number) => string): string {
  return `real${r} = real${r} | select(1u, 0u, s${r} == neg_inf());
let mn${r} = select(m${r}, s${r}, s${r} > m${r});
let alpha${r} = select(exp_f32(m${r} - mn${r}), 1.0, mn${r} == neg_inf());
let p${r} = select(exp_f32(s${r} - mn${r}), 0.0, s${r} == neg_inf());
m${r} = mn${r};
l${r} = l${r} * alpha${r} + p${r};
${unroll(k.DV4, (i) => `o${r}_${i} = o${r}_${i} * alpha${r} + p${r} * ${v4(i)};`)}`;
}

/**
 * Write row r (o already divided by l), column by column, with the op's rules: a row of
 * only -inf scores gives the fallback; otherwise a non-finite v past a causal stop
 * (0·v = NaN in the unfused graph) gives NaN (`badScan`); with masked_rows=mask a row with
 * no open key gives Σ 0·v of its column.
 */
export function writeRow(k: AttentionKernel, r: number, badScan: boolean): string {
  const fallback = k.a.masked_rows === 'zero' ? '0.0' : 'select(nan_f32(), 0.0, S == 0u)';
  // Σ 0·v of a row with every key masked, column c.
  const maskedRow = (c: number) => `select(0.0, nan_f32(), atomicLoad(&vbad[${c}u]) != 0u)`;
  return unroll(k.DV4, (i) =>
    unroll(Math.min(4, k.g.dv - 4 * i), (e) => {
      const o = badScan
        ? `select(nan_f32(), o${r}_${i}[${e}], atomicLoad(&bad[${4 * i + e}u]) == 0u)`
        : `o${r}_${i}[${e}]`;
      const x = `select(${fallback}, ${o}, real${r} != 0u)`;
      const c = 4 * i + e;
      return `Out[ob${r} + ${c}u] = ${k.byMask ? `select(${maskedRow(c)}, ${x}, open${r} != 0u)` : x};`;
    }),
  );
}

/** Every column of v with a non-finite value, scanned by the workgroup's `n` invocations. */
export function scanV(k: AttentionKernel, n: number): string {
  return `for (var c = lid; c < DV; c = c + ${n}u) { atomicStore(&vbad[c], 0u); }
workgroupBarrier();
for (var e = lid; e < S * DV; e = e + ${n}u) {
  if (!is_finite(V[vb + (e / DV) * ${k.u.v[2]} + e % DV])) { atomicStore(&vbad[e % DV], 1u); }
}
workgroupBarrier();`;
}
