import type { AttentionAttrs } from '@glimpse/ir';
import { attentionGeometry, UnsupportedError } from '@glimpse/ir';
import { indent, shader, unravel } from '../wgsl.js';
import type { AttentionKernel } from './attention-kernel.js';
import { attentionUniforms } from './attention-kernel.js';
import { rowState, scanV, scoreOf, unroll, update, writeRow } from './attention-rows.js';
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
 * instead of multiplied; a row whose scores are all -inf gives NaN or 0 (`masked_rows`);
 * with masked_rows=mask a row whose keys are all masked gives Σ 0·v — 0, or NaN in the
 * columns where a scan of all of v finds a non-finite value.
 *
 * The kernel is written in named phases, each a function of one `AttentionKernel` (what
 * the node's shapes and attributes decide): the module-scope functions (`scoreFunctions`),
 * the per-row WGSL pieces (attention-rows.ts: `rowState`, `scoreOf`, `update`, `writeRow`),
 * the header common to both paths, then the decode body (`decodeBody`) or the prefill one
 * (`prefillBody`).
 */

const BR = 64;
export const DECODE_T = 4;
const WORKGROUP_BYTES = 16384;

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

/** Sizes of the kernel for a node, or undefined when there is nothing to compute. */
function planAttention(a: AttentionAttrs, ctx: KernelCtx): AttentionKernel | undefined {
  const g = attentionGeometry(ctx.inShapes, ctx.outShapes[0]!, a);
  if (g.nLead * g.Hq * g.T === 0 || g.dv === 0) return undefined;
  const maskType = ctx.inShapes[3] ? (ctx.inTypes[3] === 'bool' ? 'u32' : 'f32') : undefined;
  const decode = g.T <= DECODE_T;
  const byMask = a.masked_rows === 'mask';
  // Rows of q, k, v and o live in vec4s (zero-padded past dh, dv): unrolled, they are
  // registers; a dynamically indexed private array would be memory on every access.
  const DH4 = Math.ceil(g.dh / 4);
  const DV4 = Math.ceil(g.dv / 4);
  const R = decode ? 1 : rowsPerInvocation(DH4, DV4);
  // K and V tiles (and the causal scan flags) within the default workgroup memory.
  const tileBytes = (bc: number) => bc * (DH4 + DV4) * 16 + g.dv * 4 * (byMask ? 2 : 1);
  let bc = 64;
  while (bc > 1 && tileBytes(bc) > WORKGROUP_BYTES) bc /= 2;
  if (!decode && tileBytes(bc) > WORKGROUP_BYTES)
    throw new UnsupportedError(
      `attention head sizes dh=${g.dh}, dv=${g.dv} exceed the wgsl kernel's workgroup memory (dh + dv ≤ ~${WORKGROUP_BYTES / 4 - 8}); compile at -O0 to run it unfused`,
      { node: ctx.node.outputs[0]!, op: 'attention' },
    );
  const layout = attentionUniforms(g.lead.length, g.mask !== undefined);
  return {
    g,
    a,
    maskType,
    decode,
    byMask,
    causal: g.causalOffset !== undefined,
    causalFill: g.causalFill !== undefined,
    DH4,
    DV4,
    R,
    WG: decode ? 64 : BR / R,
    bc,
    layout,
    u: layout.u,
  };
}

/** The uniform values of a node (the layout's fields, by name). */
function fillUniforms(k: AttentionKernel): Uint32Array<ArrayBuffer> {
  const { g, a } = k;
  return k.layout.fill({
    nLead: g.nLead,
    Hq: g.Hq,
    Hkv: g.Hkv,
    T: g.T,
    S: g.S,
    dh: g.dh,
    dv: g.dv,
    qTiles: Math.ceil(g.T / BR),
    scale: g.scale,
    softcap: a.softcap,
    maskFill: a.mask_fill,
    causalOffset: g.causalOffset ?? g.causalFill?.offset ?? 0,
    causalFill: g.causalFill?.value ?? 0,
    q: g.q,
    k: g.k,
    v: g.v,
    o: g.o,
    lead: g.lead,
    ...(g.mask ? { maskLead: g.mask.lead, maskH: g.mask.h, maskT: g.mask.t, maskS: g.mask.s } : {}),
  });
}

/** The mask's element offset of key j from a row's mask base. */
const maskAt = (k: AttentionKernel) => `mbase + j * ${k.u.maskS!}`;

/**
 * Module-scope functions: `score` (scale, softcap, mask, causal), `opens` (masked_rows=mask:
 * whether key j is hidden from row t) and the padded vec4 row reads `row4Q/K/V`.
 */
function scoreFunctions(k: AttentionKernel): string {
  const { u, maskType, causal } = k;
  // masked_rows=mask: 1 when the key is not hidden by the causal mask or the mask itself.
  const openFn = `fn opens(t: u32, j: u32, mbase: u32) -> u32 {
${
  maskType === 'u32'
    ? `  if (msk[${maskAt(k)}] == 0u && ${u.maskFill} == neg_inf()) { return 0u; }\n`
    : maskType === 'f32'
      ? `  if (msk[${maskAt(k)}] == neg_inf()) { return 0u; }\n`
      : ''
}${causal ? `  if (i32(j) > i32(t) + ${u.causalOffset}) { return 0u; }\n` : ''}  return 1u;
}`;
  // The score of query row t against key j, from the dot product: scale, softcap, causal
  // fill (causal_fill other than -inf), mask, causal (-inf).
  const scoreFn = `fn score(dot: f32, t: u32, j: u32, mbase: u32) -> f32 {
  var s = dot * ${u.scale};
${k.a.softcap > 0 ? `  s = ${u.softcap} * tanh_f32(s / ${u.softcap});\n` : ''}${
    k.causalFill ? `  if (i32(j) > i32(t) + ${u.causalOffset}) { s = ${u.causalFill}; }\n` : ''
  }${
    maskType === 'u32'
      ? `  if (msk[${maskAt(k)}] == 0u) { s = ${u.maskFill}; }\n`
      : maskType === 'f32'
        ? `  s = s + msk[${maskAt(k)}];\n`
        : ''
  }${causal ? `  if (i32(j) > i32(t) + ${u.causalOffset}) { s = neg_inf(); }\n` : ''}  return s;
}`;
  const row4 = (
    b: string,
  ) => `// Four consecutive elements of a row of ${b} as a vec4, 0 past its length (the padding).
fn row4${b}(base: u32, c: u32, n: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i = i + 1u) { if (c + i < n) { r[i] = ${b}[base + c + i]; } }
  return r;
}`;
  return [scoreFn, k.byMask ? openFn : '', ['Q', 'K', 'V'].map(row4).join('\n')].join('\n');
}

/** Module-scope declarations: constants, workgroup memory of the path, the functions. */
function declarations(k: AttentionKernel): string {
  const { g, DH4, DV4, bc } = k;
  const consts = `const DH = ${g.dh}u;\nconst DV = ${g.dv}u;\nconst DH4 = ${DH4}u;\nconst DV4 = ${DV4}u;\nconst BC = ${bc}u;`;
  const flags = (name: string) =>
    `var<workgroup> ${name}: array<atomic<u32>, ${Math.max(1, g.dv)}>;\n`;
  const vbadDecl = k.byMask ? flags('vbad') : '';
  return k.decode
    ? `${consts}\nvar<workgroup> red: array<vec4<f32>, 64>;\n${vbadDecl}${scoreFunctions(k)}`
    : `${consts}\nvar<workgroup> Ks: array<vec4<f32>, ${bc * DH4}>;\nvar<workgroup> Vs: array<vec4<f32>, ${bc * DV4}>;\n${
        k.causal ? flags('bad') : ''
      }${vbadDecl}${scoreFunctions(k)}`;
}

/**
 * Both paths: the workgroup's (lead, head) and its rows — `per` workgroups per (lead,
 * head): one per query row (decode) or per tile of BR rows (prefill) — and K's and V's
 * bases (GQA: kv head ⌊h / (Hq/Hkv)⌋).
 */
function header(k: AttentionKernel): string {
  const { u } = k;
  const per = k.decode ? u.T : u.qTiles;
  return `let nRows = ${u.nLead} * ${u.Hq} * ${per};
if (wg >= nRows) { return; }
let T = ${u.T}; let S = ${u.S};
let per = ${per};
let h = (wg / per) % ${u.Hq};
let lf = wg / per / ${u.Hq};
let hk = h / (${u.Hq} / ${u.Hkv});
${unravel('lf', u.lead, 'ld')}
let kb = lf * ${u.k[0]} + hk * ${u.k[1]};
let vb = lf * ${u.v[0]} + hk * ${u.v[1]};`;
}

const kRow = (k: AttentionKernel) => `kb + j * ${k.u.k[2]}`;
const vRow = (k: AttentionKernel) => `vb + j * ${k.u.v[2]}`;

/**
 * Decode (split-K): one query row per workgroup; invocation `lid` takes keys lid, lid + 64,
 * ..., then the 64 partial softmaxes merge through workgroup memory.
 */
function decodeBody(k: AttentionKernel): string {
  return `${header(k)}
${rowState(k, 0, 'wg % per', 'true')}
${k.byMask ? scanV(k, 64) : ''}
for (var j = lid; j < S; j = j + 64u) {
${indent(
  scoreOf(k, 0, (i) => `row4K(${kRow(k)}, ${4 * i}u, DH)`, 'j'),
  2,
)}
${indent(
  update(k, 0, (i) => `row4V(${vRow(k)}, ${4 * i}u, DV)`),
  2,
)}
}
${decodeMerge(k)}
if (lid == 0u) {
${indent(writeRow(k, 0, false), 2)}
}`;
}

/** Merge the 64 partial softmaxes: common max, rescale, sum l, real and open, then o. */
function decodeMerge(k: AttentionKernel): string {
  return `// Merge the 64 partial softmaxes: common max, rescale, sum l, real and o.
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
  k.DV4,
  (i) => `red[lid] = o0_${i} * f;
workgroupBarrier();
for (var w = 32u; w > 0u; w = w / 2u) {
  if (lid < w) { red[lid] = red[lid] + red[lid + w]; }
  workgroupBarrier();
}
if (lid == 0u) { o0_${i} = red[0] / total; }
workgroupBarrier();`,
)}`;
}

/**
 * Prefill: a tile of BR query rows per workgroup, R per invocation; K and V pass through
 * workgroup memory BC keys at a time (`prefillKeys`), then each row is normalised and
 * written.
 */
function prefillBody(k: AttentionKernel): string {
  const { WG, causal } = k;
  const rows = Array.from({ length: k.R }, (_, r) => r);
  return `${header(k)}
let tile = wg % per;
${rows.map((r) => rowState(k, r, `tile * ${BR}u + lid + ${r * WG}u`, `t${r} < T`)).join('\n')}
${k.byMask ? scanV(k, WG) : ''}
var end = S;
${
  causal
    ? `// The tile's last row sees keys up to its index + offset: later tiles of K/V are skipped.
end = u32(clamp(i32(min(tile * ${BR}u + ${BR - 1}u, T - 1u)) + ${k.u.causalOffset} + 1, 0, i32(S)));
for (var c = lid; c < DV; c = c + ${WG}u) { atomicStore(&bad[c], 0u); }`
    : ''
}
${prefillKeys(k, rows)}
${
  causal
    ? `// Keys past the stop have p = 0 for every row here; only non-finite values in v matter.
for (var e = lid; e < (S - end) * DV; e = e + ${WG}u) {
  if (!is_finite(V[vb + (end + e / DV) * ${k.u.v[2]} + e % DV])) { atomicStore(&bad[e % DV], 1u); }
}
workgroupBarrier();`
    : ''
}
${rows
  .map(
    (r) => `if (t${r} < T) {
${indent(
  unroll(k.DV4, (i) => `o${r}_${i} = o${r}_${i} / l${r};`),
  2,
)}
${indent(writeRow(k, r, causal), 2)}
}`,
  )
  .join('\n')}`;
}

/** The prefill loop over keys up to `end`: stage a K and V tile, then score and update every row. */
function prefillKeys(k: AttentionKernel, rows: readonly number[]): string {
  const { WG, DH4, DV4 } = k;
  return `for (var j0 = 0u; j0 < end; j0 = j0 + BC) {
  for (var e = lid; e < BC * DH4; e = e + ${WG}u) {
    let j = j0 + e / DH4;
    var x = vec4<f32>(0.0);
    if (j < S) { x = row4K(${kRow(k)}, (e % DH4) * 4u, DH); }
    Ks[e] = x;
  }
  for (var e = lid; e < BC * DV4; e = e + ${WG}u) {
    let j = j0 + e / DV4;
    var x = vec4<f32>(0.0);
    if (j < S) { x = row4V(${vRow(k)}, (e % DV4) * 4u, DV); }
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
${indent(rows.map((r) => scoreOf(k, r, (i) => `k${i}`, 'j0 + jj')).join('\n'), 4)}
${indent(
  unroll(DV4, (i) => `let v${i} = Vs[jj * DV4 + ${i}u];`),
  4,
)}
${indent(rows.map((r) => update(k, r, (i) => `v${i}`)).join('\n'), 4)}
  }
  workgroupBarrier();
}`;
}

export const attention: KernelFactory<'attention'> = (a, ctx) => {
  const k = planAttention(a, ctx);
  if (!k) return [];
  const { g, maskType } = k;
  const wgsl = shader({
    bindings: [
      { name: 'Q', type: 'f32', write: false },
      { name: 'K', type: 'f32', write: false },
      { name: 'V', type: 'f32', write: false },
      ...(maskType ? [{ name: 'msk', type: maskType, write: false }] : []),
      { name: 'Out', type: 'f32', write: true },
    ],
    uniforms: k.layout,
    workgroupSize: k.WG,
    decls: declarations(k),
    body: k.decode ? decodeBody(k) : prefillBody(k),
  });
  const d: Dispatch = {
    wgsl,
    bindings: [{ in: 0 }, { in: 1 }, { in: 2 }, ...(maskType ? [{ in: 3 }] : []), { out: 0 }],
    uniforms: fillUniforms(k),
    workgroups: g.nLead * g.Hq * (k.decode ? g.T : Math.ceil(g.T / BR)),
  };
  return [d];
};
