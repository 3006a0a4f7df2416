import { attentionGeometry, UnsupportedError } from '@glimpse/ir';
import { indent, Params, shader, unravel } from '../wgsl.js';
import type { Dispatch, KernelFactory } from './types.js';

/**
 * Flash attention in WGSL. Scores are never stored: per query row an online softmax keeps
 * the running max m, the sum l and the output accumulator o (f32, in registers).
 *
 * - Prefill (T > DECODE_T): a workgroup owns 64 query rows (one per invocation); K and V
 *   tiles of BC keys are staged in workgroup memory (≤ 16 KiB, the default limit) and read
 *   by all 64 rows. A causal tile stops at the last key its last row can see.
 * - Decode (T ≤ DECODE_T): split-K — a workgroup owns one query row and its 64 invocations
 *   take every 64th key, then merge their (m, l, o) through workgroup memory.
 *
 * Semantics are the op's, exactly: a key with p = 0 still adds 0·v (NaN or ±inf in v gives
 * NaN, as the unfused p·V does); keys past a causal early stop are scanned for non-finite v
 * instead of multiplied; a row whose scores are all -inf gives NaN or 0 (`masked_rows`);
 * with masked_rows=mask a row whose keys are all masked gives Σ 0·v — 0, or NaN in the
 * columns where a scan of all of v finds a non-finite value.
 */

const BR = 64;
export const DECODE_T = 4;
const WORKGROUP_BYTES = 16384;

/** `n` statements from `f(i)`, one per line (unrolled: private vec4s indexed by constants stay in registers). */
const unroll = (n: number, f: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => f(i)).join('\n');

/**
 * Query rows per invocation in the prefill kernel: each K and V element read from workgroup
 * memory then serves R rows. On SwiftShader those reads are most of the kernel's time
 * (R = 4 runs it ~2.5× faster than R = 1 at dh = 64); R is bounded so that q and o of the
 * R rows stay within REG_BUDGET vec4s per invocation.
 */
const REG_BUDGET = 128;
export function rowsPerInvocation(dh4: number, dv4: number): number {
  const fit = Math.floor(REG_BUDGET / (dh4 + dv4));
  return fit >= 4 ? 4 : fit >= 2 ? 2 : 1;
}

export const attention: KernelFactory<'attention'> = (a, ctx) => {
  const g = attentionGeometry(ctx.inShapes, ctx.outShapes[0]!, a);
  if (g.nLead * g.Hq * g.T === 0 || g.dv === 0) return [];
  const maskType: 'u32' | 'f32' | undefined = ctx.inShapes[3]
    ? ctx.inTypes[3] === 'bool'
      ? 'u32'
      : 'f32'
    : undefined;
  const decode = g.T <= DECODE_T;
  const byMask = a.masked_rows === 'mask';
  // Rows of q, k, v and o live in vec4s (zero-padded past dh, dv): unrolled, they are
  // registers; a dynamically indexed private array would be memory on every access.
  const DH4 = Math.ceil(g.dh / 4);
  const DV4 = Math.ceil(g.dv / 4);
  const R = decode ? 1 : rowsPerInvocation(DH4, DV4);
  const WG = decode ? 64 : BR / R;
  // K and V tiles (and the causal scan flags) within the default workgroup memory.
  const tileBytes = (bc: number) => bc * (DH4 + DV4) * 16 + g.dv * 4 * (byMask ? 2 : 1);
  let bc = 64;
  while (bc > 1 && tileBytes(bc) > WORKGROUP_BYTES) bc /= 2;
  if (!decode && tileBytes(bc) > WORKGROUP_BYTES)
    throw new UnsupportedError(
      `attention head sizes dh=${g.dh}, dv=${g.dv} exceed the wgsl kernel's workgroup memory (dh + dv ≤ ~${WORKGROUP_BYTES / 4 - 8}); compile at -O0 to run it unfused`,
      { node: ctx.node.outputs[0]!, op: 'attention' },
    );
  const P = new Params();
  P.u32(g.nLead, g.Hq, g.Hkv, g.T, g.S, g.dh, g.dv, Math.ceil(g.T / BR));
  P.f32(g.scale);
  P.f32(a.softcap);
  P.f32(a.mask_fill);
  P.i32(g.causalOffset ?? 0);
  const qs = P.u32(...g.q);
  const ks = P.u32(...g.k);
  const vs = P.u32(...g.v);
  const os = P.u32(...g.o);
  const leadDims = P.u32(...g.lead);
  const ms = g.mask ? P.u32(...g.mask.lead, g.mask.h, g.mask.t, g.mask.s) : 0;
  const nl = g.lead.length;
  const causal = g.causalOffset !== undefined;
  // Mask offset of query row `t` (key 0).
  const maskBase = (t: string) =>
    g.mask
      ? [
          '0u',
          ...g.lead.map((_, i) => `ld${i} * p(${ms + i}u)`),
          `h * p(${ms + nl}u)`,
          `${t} * p(${ms + nl + 1}u)`,
        ].join(' + ')
      : '0u';
  // masked_rows=mask: 1 when the key is not hidden by the causal mask or the mask itself.
  const openFn = `fn opens(t: u32, j: u32, mbase: u32) -> u32 {
${
  maskType === 'u32'
    ? `  if (msk[mbase + j * p(${ms + nl + 2}u)] == 0u && pf(10u) == neg_inf()) { return 0u; }\n`
    : maskType === 'f32'
      ? `  if (msk[mbase + j * p(${ms + nl + 2}u)] == neg_inf()) { return 0u; }\n`
      : ''
}${causal ? `  if (i32(j) > i32(t) + pi(11u)) { return 0u; }\n` : ''}  return 1u;
}`;
  // The score of query row t against key j, from the dot product: scale, softcap, mask, causal.
  const scoreFn = `fn score(dot: f32, t: u32, j: u32, mbase: u32) -> f32 {
  var s = dot * pf(8u);
${a.softcap > 0 ? `  s = pf(9u) * tanh_f32(s / pf(9u));\n` : ''}${
    maskType === 'u32'
      ? `  if (msk[mbase + j * p(${ms + nl + 2}u)] == 0u) { s = pf(10u); }\n`
      : maskType === 'f32'
        ? `  s = s + msk[mbase + j * p(${ms + nl + 2}u)];\n`
        : ''
  }${causal ? `  if (i32(j) > i32(t) + pi(11u)) { s = neg_inf(); }\n` : ''}  return s;
}
${byMask ? openFn : ''}
${['Q', 'K', 'V']
  .map(
    (
      b,
    ) => `// Four consecutive elements of a row of ${b} as a vec4, 0 past its length (the padding).
fn row4${b}(base: u32, c: u32, n: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i = i + 1u) { if (c + i < n) { r[i] = ${b}[base + c + i]; } }
  return r;
}`,
  )
  .join('\n')}`;
  // Row r's dot product with a key row read through `k4(i)`, and its score.
  const scoreOf = (r: number, k4: (i: number) => string, j: string) =>
    `let s${r} = score(${Array.from({ length: DH4 }, (_, i) => `dot(q${r}_${i}, ${k4(i)})`).join(' + ')}, t${r}, ${j}, mb${r});${
      byMask ? `\nopen${r} = open${r} | opens(t${r}, ${j}, mb${r});` : ''
    }`;
  // Online softmax update of row r with its score and a value row (vec4 i through `v4(i)`),
  // branch-free: alpha = 1 while the max is still -inf, so no -inf - -inf NaN appears, and
  // a score of -inf weighs exactly 0. `real` records a score that is not -inf (NaN counts:
  // `s == -inf` is false for NaN, where SwiftShader's ordered `!=` would also be false).
  const update = (
    r: number,
    v4: (i: number) => string,
  ) => `real${r} = real${r} | select(1u, 0u, s${r} == neg_inf());
let mn${r} = select(m${r}, s${r}, s${r} > m${r});
let alpha${r} = select(exp_f32(m${r} - mn${r}), 1.0, mn${r} == neg_inf());
let p${r} = select(exp_f32(s${r} - mn${r}), 0.0, s${r} == neg_inf());
m${r} = mn${r};
l${r} = l${r} * alpha${r} + p${r};
${unroll(DV4, (i) => `o${r}_${i} = o${r}_${i} * alpha${r} + p${r} * ${v4(i)};`)}`;
  const fallback = a.masked_rows === 'zero' ? '0.0' : 'select(nan_f32(), 0.0, S == 0u)';
  // Σ 0·v of a row with every key masked, column c.
  const maskedRow = (c: number) => `select(0.0, nan_f32(), atomicLoad(&vbad[${c}u]) != 0u)`;
  // Every column of v with a non-finite value, scanned by the workgroup's `n` invocations.
  const scanV = (
    n: number,
  ) => `for (var c = lid; c < DV; c = c + ${n}u) { atomicStore(&vbad[c], 0u); }
workgroupBarrier();
for (var e = lid; e < S * DV; e = e + ${n}u) {
  if (!is_finite(V[vb + (e / DV) * p(${vs + 2}u) + e % DV])) { atomicStore(&vbad[e % DV], 1u); }
}
workgroupBarrier();`;
  // Write row r (o already divided by l), column by column, with the op's rules: a row of
  // only -inf scores gives the fallback; otherwise a non-finite v past a causal stop
  // (0·v = NaN in the unfused graph) gives NaN.
  const writeRow = (r: number, badScan: boolean) =>
    unroll(DV4, (i) =>
      unroll(Math.min(4, g.dv - 4 * i), (e) => {
        const x = `select(${fallback}, ${badScan ? `select(nan_f32(), o${r}_${i}[${e}], atomicLoad(&bad[${4 * i + e}u]) == 0u)` : `o${r}_${i}[${e}]`}, real${r} != 0u)`;
        return `Out[ob${r} + ${4 * i + e}u] = ${byMask ? `select(${maskedRow(4 * i + e)}, ${x}, open${r} != 0u)` : x};`;
      }),
    );
  const rows = Array.from({ length: R }, (_, r) => r);
  // Per-row state: q (loaded where `guard`), bases, mask base, o, m, l, real.
  const rowState = (r: number, t: string, guard: string) => `let t${r} = ${t};
let qb${r} = lf * p(${qs}u) + h * p(${qs + 1}u) + t${r} * p(${qs + 2}u);
let ob${r} = lf * p(${os}u) + h * p(${os + 1}u) + t${r} * p(${os + 2}u);
let mb${r} = ${maskBase(`min(t${r}, T - 1u)`)};
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
  const header = `let nRows = p(0u) * p(1u) * ${decode ? 'p(3u)' : 'p(7u)'};
if (wg >= nRows) { return; }
let T = p(3u); let S = p(4u);
let per = ${decode ? 'p(3u)' : 'p(7u)'};
let h = (wg / per) % p(1u);
let lf = wg / per / p(1u);
let hk = h / (p(1u) / p(2u));
${unravel('lf', nl, leadDims, 'ld')}
let kb = lf * p(${ks}u) + hk * p(${ks + 1}u);
let vb = lf * p(${vs}u) + hk * p(${vs + 1}u);`;
  const consts = `const DH = ${g.dh}u;\nconst DV = ${g.dv}u;\nconst DH4 = ${DH4}u;\nconst DV4 = ${DV4}u;\nconst BC = ${bc}u;`;
  const kRow = `kb + j * p(${ks + 2}u)`;
  const vRow = `vb + j * p(${vs + 2}u)`;
  const body = decode
    ? `${header}
${rowState(0, 'wg % per', 'true')}
${byMask ? scanV(64) : ''}
for (var j = lid; j < S; j = j + 64u) {
${indent(
  scoreOf(0, (i) => `row4K(${kRow}, ${4 * i}u, DH)`, 'j'),
  2,
)}
${indent(
  update(0, (i) => `row4V(${vRow}, ${4 * i}u, DV)`),
  2,
)}
}
// Merge the 64 partial softmaxes: common max, rescale, sum l, real and o.
red[lid] = vec4<f32>(m0);
workgroupBarrier();
for (var w = 32u; w > 0u; w = w / 2u) {
  if (lid < w) { red[lid] = select(red[lid], red[lid + w], red[lid + w].x > red[lid].x); }
  workgroupBarrier();
}
let mx = red[0].x;
workgroupBarrier();
let f = select(exp_f32(m0 - mx), 1.0, m0 == neg_inf());
red[lid] = vec4<f32>(l0 * f, f32(real0), f32(open0), 0.0);
workgroupBarrier();
for (var w = 32u; w > 0u; w = w / 2u) {
  if (lid < w) { red[lid] = vec4<f32>(red[lid].x + red[lid + w].x, max(red[lid].yz, red[lid + w].yz), 0.0); }
  workgroupBarrier();
}
let total = red[0].x;
real0 = select(0u, 1u, red[0].y > 0.0);
open0 = select(0u, 1u, red[0].z > 0.0);
workgroupBarrier();
${unroll(
  DV4,
  (i) => `red[lid] = o0_${i} * f;
workgroupBarrier();
for (var w = 32u; w > 0u; w = w / 2u) {
  if (lid < w) { red[lid] = red[lid] + red[lid + w]; }
  workgroupBarrier();
}
if (lid == 0u) { o0_${i} = red[0] / total; }
workgroupBarrier();`,
)}
if (lid == 0u) {
${indent(writeRow(0, false), 2)}
}`
    : `${header}
let tile = wg % per;
${rows.map((r) => rowState(r, `tile * ${BR}u + lid + ${r * WG}u`, `t${r} < T`)).join('\n')}
${byMask ? scanV(WG) : ''}
var end = S;
${
  causal
    ? `// The tile's last row sees keys up to its index + offset: later tiles of K/V are skipped.
end = u32(clamp(i32(min(tile * ${BR}u + ${BR - 1}u, T - 1u)) + pi(11u) + 1, 0, i32(S)));
for (var c = lid; c < DV; c = c + ${WG}u) { atomicStore(&bad[c], 0u); }`
    : ''
}
for (var j0 = 0u; j0 < end; j0 = j0 + BC) {
  for (var e = lid; e < BC * DH4; e = e + ${WG}u) {
    let j = j0 + e / DH4;
    var x = vec4<f32>(0.0);
    if (j < S) { x = row4K(${kRow}, (e % DH4) * 4u, DH); }
    Ks[e] = x;
  }
  for (var e = lid; e < BC * DV4; e = e + ${WG}u) {
    let j = j0 + e / DV4;
    var x = vec4<f32>(0.0);
    if (j < S) { x = row4V(${vRow}, (e % DV4) * 4u, DV); }
    Vs[e] = x;
  }
  workgroupBarrier();
  // Each K and V element is read once for the invocation's R rows. Rows past T compute
  // on zeros and are not written.
  let n = min(BC, end - j0);
  for (var jj = 0u; jj < n; jj = jj + 1u) {
${indent(
  unroll(DH4, (i) => `let k${i} = Ks[jj * DH4 + ${i}u];`),
  4,
)}
${indent(rows.map((r) => scoreOf(r, (i) => `k${i}`, 'j0 + jj')).join('\n'), 4)}
${indent(
  unroll(DV4, (i) => `let v${i} = Vs[jj * DV4 + ${i}u];`),
  4,
)}
${indent(rows.map((r) => update(r, (i) => `v${i}`)).join('\n'), 4)}
  }
  workgroupBarrier();
}
${
  causal
    ? `// Keys past the stop have p = 0 for every row here; only non-finite values in v matter.
for (var e = lid; e < (S - end) * DV; e = e + ${WG}u) {
  if (!is_finite(V[vb + (end + e / DV) * p(${vs + 2}u) + e % DV])) { atomicStore(&bad[e % DV], 1u); }
}
workgroupBarrier();`
    : ''
}
${rows
  .map(
    (r) => `if (t${r} < T) {
${indent(
  unroll(DV4, (i) => `o${r}_${i} = o${r}_${i} / l${r};`),
  2,
)}
${indent(writeRow(r, causal), 2)}
}`,
  )
  .join('\n')}`;
  const vbadDecl = byMask ? `var<workgroup> vbad: array<atomic<u32>, ${Math.max(1, g.dv)}>;\n` : '';
  const decls = decode
    ? `${consts}\nvar<workgroup> red: array<vec4<f32>, 64>;\n${vbadDecl}${scoreFn}`
    : `${consts}\nvar<workgroup> Ks: array<vec4<f32>, ${bc * DH4}>;\nvar<workgroup> Vs: array<vec4<f32>, ${bc * DV4}>;\n${
        causal ? `var<workgroup> bad: array<atomic<u32>, ${Math.max(1, g.dv)}>;\n` : ''
      }${vbadDecl}${scoreFn}`;
  const wgsl = shader({
    bindings: [
      { name: 'Q', type: 'f32', write: false },
      { name: 'K', type: 'f32', write: false },
      { name: 'V', type: 'f32', write: false },
      ...(maskType ? [{ name: 'msk', type: maskType, write: false }] : []),
      { name: 'Out', type: 'f32', write: true },
    ],
    paramWords: P.words.length,
    workgroupSize: WG,
    decls,
    body,
  });
  const d: Dispatch = {
    wgsl,
    bindings: [{ in: 0 }, { in: 1 }, { in: 2 }, ...(maskType ? [{ in: 3 }] : []), { out: 0 }],
    params: P,
    workgroups: g.nLead * g.Hq * (decode ? g.T : Math.ceil(g.T / BR)),
  };
  return [d];
};
