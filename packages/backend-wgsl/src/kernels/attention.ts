import { BSHD_PERM, numel, stridesOf, UnsupportedError } from '@glimpse/ir';
import type { AttentionAttrs } from '@glimpse/ir';
import { indent, Params, shader, unravel } from '../wgsl.js';
import type { Dispatch, KernelCtx, KernelFactory } from './types.js';

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
 * instead of multiplied; a row whose scores are all -inf gives NaN or 0 (`masked_rows`).
 */

const BR = 64;
const DECODE_T = 4;
const WORKGROUP_BYTES = 16384;

interface Geometry {
  nLead: number;
  lead: number[];
  Hq: number;
  Hkv: number;
  T: number;
  S: number;
  dh: number;
  dv: number;
  /** Strides (lead, head, seq) of q, k, v and out; the feature axis is contiguous. */
  q: number[];
  k: number[];
  v: number[];
  o: number[];
  /** Mask strides over the scores [...lead, Hq, T, S], or undefined without a mask. */
  mask?: { lead: number[]; h: number; t: number; s: number };
}

function geometry(a: AttentionAttrs, ctx: KernelCtx): Geometry {
  const bshd = a.layout === 'bshd';
  // bhsd view of each operand's shape and strides.
  const view = (shape: readonly number[]) => {
    const st = stridesOf(shape);
    return bshd
      ? { shape: BSHD_PERM.map((p) => shape[p]!), st: BSHD_PERM.map((p) => st[p]!) }
      : { shape: [...shape], st };
  };
  const [q, k, v] = ctx.inShapes.slice(0, 3).map(view) as [
    ReturnType<typeof view>,
    ReturnType<typeof view>,
    ReturnType<typeof view>,
  ];
  const o = view(ctx.outShapes[0]!);
  const r = q.shape.length;
  const lead = q.shape.slice(0, Math.max(0, r - 3));
  // (lead, head, seq) strides; a rank-2 operand has one head, a rank-3 one no lead axes.
  // Lead axes are contiguous among themselves, so the flat lead index uses the innermost's stride.
  const lhs = (x: typeof q) => [r >= 4 ? x.st[r - 4]! : 0, r >= 3 ? x.st[r - 3]! : 0, x.st[r - 2]!];
  const g: Geometry = {
    nLead: numel(lead),
    lead,
    Hq: r >= 3 ? q.shape[r - 3]! : 1,
    Hkv: r >= 3 ? k.shape[r - 3]! : 1,
    T: q.shape[r - 2]!,
    S: k.shape[r - 2]!,
    dh: q.shape[r - 1]!,
    dv: v.shape[r - 1]!,
    q: lhs(q),
    k: lhs(k),
    v: lhs(v),
    o: lhs(o),
  };
  const m = ctx.inShapes[3];
  if (m) {
    const scores = [...lead, ...(r >= 3 ? [g.Hq] : []), g.T, g.S];
    const ms = stridesOf(m);
    const off = scores.length - m.length;
    const st = scores.map((d, i) => (i < off || m[i - off] === 1 ? 0 : ms[i - off]!));
    g.mask = {
      lead: st.slice(0, lead.length),
      h: r >= 3 ? st[scores.length - 3]! : 0,
      t: st[scores.length - 2]!,
      s: st[scores.length - 1]!,
    };
  }
  return g;
}

/** `n` statements from `f(i)`, one per line (unrolled: private vec4s indexed by constants stay in registers). */
const unroll = (n: number, f: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => f(i)).join('\n');

export const attention: KernelFactory<'attention'> = (a, ctx) => {
  const g = geometry(a, ctx);
  if (g.nLead * g.Hq * g.T === 0 || g.dv === 0) return [];
  const maskType: 'u32' | 'f32' | undefined = ctx.inShapes[3]
    ? ctx.inTypes[3] === 'bool'
      ? 'u32'
      : 'f32'
    : undefined;
  const decode = g.T <= DECODE_T;
  // Rows of q, k, v and o live in vec4s (zero-padded past dh, dv): unrolled, they are
  // registers; a dynamically indexed private array would be memory on every access.
  const DH4 = Math.ceil(g.dh / 4);
  const DV4 = Math.ceil(g.dv / 4);
  // K and V tiles (and the causal scan flags) within the default workgroup memory.
  const tileBytes = (bc: number) => bc * (DH4 + DV4) * 16 + g.dv * 4;
  let bc = 64;
  while (bc > 1 && tileBytes(bc) > WORKGROUP_BYTES) bc /= 2;
  if (!decode && tileBytes(bc) > WORKGROUP_BYTES)
    throw new UnsupportedError(
      `attention head sizes dh=${g.dh}, dv=${g.dv} exceed the wgsl kernel's workgroup memory (dh + dv ≤ ~${WORKGROUP_BYTES / 4 - 8}); compile at -O0 to run it unfused`,
      { node: ctx.node.outputs[0]!, op: 'attention' },
    );
  const P = new Params();
  P.u32(g.nLead, g.Hq, g.Hkv, g.T, g.S, g.dh, g.dv, Math.ceil(g.T / BR));
  P.f32(a.scale ?? 1 / Math.sqrt(g.dh));
  P.f32(a.softcap);
  P.f32(a.mask_fill);
  P.i32(a.causal === 'bottom_right' ? g.S - g.T : 0);
  const qs = P.u32(...g.q);
  const ks = P.u32(...g.k);
  const vs = P.u32(...g.v);
  const os = P.u32(...g.o);
  const leadDims = P.u32(...g.lead);
  const ms = g.mask ? P.u32(...g.mask.lead, g.mask.h, g.mask.t, g.mask.s) : 0;
  const nl = g.lead.length;
  const causal = a.causal !== 'none';
  const maskBase = g.mask
    ? [
        '0u',
        ...g.lead.map((_, i) => `l${i} * p(${ms + i}u)`),
        `h * p(${ms + nl}u)`,
        `t * p(${ms + nl + 1}u)`,
      ].join(' + ')
    : '0u';
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
// Four consecutive elements of a row as a vec4, 0 past its length (the zero padding).
fn row4(buf: u32, base: u32, c: u32, n: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i = i + 1u) {
    if (c + i < n) { r[i] = select(V[base + c + i], select(K[base + c + i], Q[base + c + i], buf == 0u), buf < 2u); }
  }
  return r;
}`;
  // The dot product of q with a key row read through `k4(i)`, in four partial sums.
  const dot = (k4: (i: number) => string) =>
    `let d = ${Array.from({ length: DH4 }, (_, i) => `dot(q${i}, ${k4(i)})`).join(' + ')};`;
  // Online softmax update with one score and its value row (vec4 i through `v4(i)`),
  // branch-free: alpha = 1 while the max is still -inf, so no -inf - -inf NaN appears, and
  // a score of -inf weighs exactly 0. `real` records a score that is not -inf (NaN counts:
  // `s == -inf` is false for NaN, where SwiftShader's ordered `!=` would also be false).
  const update = (v4: (i: number) => string) => `real = real | select(1u, 0u, s == neg_inf());
let mn = select(m, s, s > m);
let alpha = select(exp_f32(m - mn), 1.0, mn == neg_inf());
let pj = select(exp_f32(s - mn), 0.0, s == neg_inf());
m = mn;
l = l * alpha + pj;
${unroll(DV4, (i) => `o${i} = o${i} * alpha + pj * ${v4(i)};`)}`;
  const fallback = a.masked_rows === 'zero' ? '0.0' : 'select(nan_f32(), 0.0, S == 0u)';
  // Write column c of the row from `val` (already divided by l), with the op's rules.
  const write = (c: string, val: string, badScan: boolean) =>
    `Out[ob + ${c}] = select(${fallback}, ${val}, real != 0u${badScan ? ` && atomicLoad(&bad[${c}]) == 0u` : ''});`;
  const writeRow = (vec: (i: number) => string, badScan: boolean) =>
    unroll(DV4, (i) =>
      unroll(Math.min(4, g.dv - 4 * i), (e) => write(`${4 * i + e}u`, `${vec(i)}[${e}]`, badScan)),
    );
  const header = `let nRows = p(0u) * p(1u) * ${decode ? 'p(3u)' : 'p(7u)'};
if (wg >= nRows) { return; }
let T = p(3u); let S = p(4u);
let per = ${decode ? 'p(3u)' : 'p(7u)'};
let h = (wg / per) % p(1u);
let lf = wg / per / p(1u);
let hk = h / (p(1u) / p(2u));
${unravel('lf', nl, leadDims, 'l')}`;
  const bases = `let qb = lf * p(${qs}u) + h * p(${qs + 1}u) + t * p(${qs + 2}u);
let kb = lf * p(${ks}u) + hk * p(${ks + 1}u);
let vb = lf * p(${vs}u) + hk * p(${vs + 1}u);
let ob = lf * p(${os}u) + h * p(${os + 1}u) + t * p(${os + 2}u);
let mbase = ${maskBase};`;
  const state = `${unroll(DV4, (i) => `var o${i} = vec4<f32>(0.0);`)}
var m = neg_inf();
var l = 0.0;
var real = 0u;`;
  const loadQ = (guard: string) =>
    unroll(DH4, (i) => `var q${i} = vec4<f32>(0.0);`) +
    `\nif (${guard}) {\n${indent(
      unroll(DH4, (i) => `q${i} = row4(0u, qb, ${4 * i}u, DH);`),
      2,
    )}\n}`;
  const consts = `const DH = ${g.dh}u;\nconst DV = ${g.dv}u;\nconst DH4 = ${DH4}u;\nconst DV4 = ${DV4}u;\nconst BC = ${bc}u;`;
  const kRow = `kb + j * p(${ks + 2}u)`;
  const vRow = `vb + j * p(${vs + 2}u)`;
  const body = decode
    ? `${header}
let t = wg % per;
${bases}
${loadQ('true')}
${state}
for (var j = lid; j < S; j = j + 64u) {
${indent(
  dot((i) => `row4(1u, ${kRow}, ${4 * i}u, DH)`),
  2,
)}
  let s = score(d, t, j, mbase);
${indent(
  update((i) => `row4(2u, ${vRow}, ${4 * i}u, DV)`),
  2,
)}
}
// Merge the 64 partial softmaxes: common max, rescale, sum l, real and o.
red[lid] = vec4<f32>(m);
workgroupBarrier();
for (var w = 32u; w > 0u; w = w / 2u) {
  if (lid < w) { red[lid] = select(red[lid], red[lid + w], red[lid + w].x > red[lid].x); }
  workgroupBarrier();
}
let mx = red[0].x;
workgroupBarrier();
let f = select(exp_f32(m - mx), 1.0, m == neg_inf());
red[lid] = vec4<f32>(l * f, f32(real), 0.0, 0.0);
workgroupBarrier();
for (var w = 32u; w > 0u; w = w / 2u) {
  if (lid < w) { red[lid] = vec4<f32>(red[lid].x + red[lid + w].x, max(red[lid].y, red[lid + w].y), 0.0, 0.0); }
  workgroupBarrier();
}
let total = red[0].x;
real = select(0u, 1u, red[0].y > 0.0);
workgroupBarrier();
${unroll(
  DV4,
  (i) => `red[lid] = o${i} * f;
workgroupBarrier();
for (var w = 32u; w > 0u; w = w / 2u) {
  if (lid < w) { red[lid] = red[lid] + red[lid + w]; }
  workgroupBarrier();
}
if (lid == 0u) { o${i} = red[0] / total; }
workgroupBarrier();`,
)}
if (lid == 0u) {
${indent(
  writeRow((i) => `o${i}`, false),
  2,
)}
}`
    : `${header}
let tile = wg % per;
let t = tile * ${BR}u + lid;
let valid = t < T;
${bases}
${loadQ('valid')}
${state}
var end = S;
${
  causal
    ? `// The tile's last row sees keys up to its index + offset: later tiles of K/V are skipped.
end = u32(clamp(i32(min(tile * ${BR}u + ${BR - 1}u, T - 1u)) + pi(11u) + 1, 0, i32(S)));
for (var c = lid; c < DV; c = c + ${BR}u) { atomicStore(&bad[c], 0u); }`
    : ''
}
for (var j0 = 0u; j0 < end; j0 = j0 + BC) {
  for (var e = lid; e < BC * DH4; e = e + ${BR}u) {
    let j = j0 + e / DH4;
    var x = vec4<f32>(0.0);
    if (j < S) { x = row4(1u, ${kRow}, (e % DH4) * 4u, DH); }
    Ks[e] = x;
  }
  for (var e = lid; e < BC * DV4; e = e + ${BR}u) {
    let j = j0 + e / DV4;
    var x = vec4<f32>(0.0);
    if (j < S) { x = row4(2u, ${vRow}, (e % DV4) * 4u, DV); }
    Vs[e] = x;
  }
  workgroupBarrier();
  if (valid) {
    let n = min(BC, end - j0);
    for (var jj = 0u; jj < n; jj = jj + 1u) {
${indent(
  dot((i) => `Ks[jj * DH4 + ${i}u]`),
  6,
)}
      let s = score(d, t, j0 + jj, mbase);
${indent(
  update((i) => `Vs[jj * DV4 + ${i}u]`),
  6,
)}
    }
  }
  workgroupBarrier();
}
${
  causal
    ? `// Keys past the stop have p = 0 for every row here; only non-finite values in v matter.
for (var e = lid; e < (S - end) * DV; e = e + ${BR}u) {
  if (!is_finite(V[vb + (end + e / DV) * p(${vs + 2}u) + e % DV])) { atomicStore(&bad[e % DV], 1u); }
}
workgroupBarrier();`
    : ''
}
if (valid) {
${indent(
  unroll(DV4, (i) => `o${i} = o${i} / l;`),
  2,
)}
${indent(
  writeRow((i) => `o${i}`, causal),
  2,
)}
}`;
  const decls = decode
    ? `${consts}\nvar<workgroup> red: array<vec4<f32>, 64>;\n${scoreFn}`
    : `${consts}\nvar<workgroup> Ks: array<vec4<f32>, ${bc * DH4}>;\nvar<workgroup> Vs: array<vec4<f32>, ${bc * DV4}>;\n${
        causal ? `var<workgroup> bad: array<atomic<u32>, ${Math.max(1, g.dv)}>;\n` : ''
      }${scoreFn}`;
  const wgsl = shader({
    bindings: [
      { name: 'Q', type: 'f32', write: false },
      { name: 'K', type: 'f32', write: false },
      { name: 'V', type: 'f32', write: false },
      ...(maskType ? [{ name: 'msk', type: maskType, write: false }] : []),
      { name: 'Out', type: 'f32', write: true },
    ],
    paramWords: P.words.length,
    workgroupSize: decode ? 64 : BR,
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
