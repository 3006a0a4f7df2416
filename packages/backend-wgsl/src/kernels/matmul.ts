import { broadcastStrides, matrixDims, numel } from '@glimpse/ir';
import { uniforms } from '../uniforms.js';
import { offsetExpr, shader, unravel } from '../wgsl.js';
import type { Dispatch, KernelFactory } from './types.js';

/** Output tile 64×64 per workgroup of 256 invocations, each owning a 4×4 block; K in steps of 16. */
const TM = 64;
const TK = 16;

interface Gemm {
  M: number;
  N: number;
  K: number;
  /** Strides of A(m, k) and B(k, n): transposes and linear's weight layout are only strides. */
  sam: number;
  sak: number;
  sbk: number;
  sbn: number;
  batch: number[];
  aBatch: number[];
  bBatch: number[];
  bias: boolean;
}

/**
 * The gemm's uniforms: sizes, tile counts, A's and B's strides (sam, sak, sbk, sbn), the
 * batch dims and A's and B's strides over them.
 */
function gemmUniforms(rb: number) {
  return uniforms({
    M: 'u32',
    N: 'u32',
    K: 'u32',
    nBatch: 'u32',
    tilesM: 'u32',
    tilesN: 'u32',
    sam: 'u32',
    sak: 'u32',
    sbk: 'u32',
    sbn: 'u32',
    batch: ['u32', rb],
    aBatch: ['u32', rb],
    bBatch: ['u32', rb],
  });
}
type GemmUniforms = ReturnType<typeof gemmUniforms>;

/**
 * The loads of A's 64×16 and B's 16×64 tiles into workgroup memory: one element each (4 per
 * invocation, bounds-checked unless `aligned`), or one vec4 each where the operand is
 * contiguous along the loaded axis and every offset is a multiple of 4 (the buffer is then
 * bound as array<vec4<f32>>).
 */
function tileLoads(g: Gemm, u: GemmUniforms['u'], aligned: boolean) {
  const inA = aligned ? 'true' : 'gm < M && gk < K';
  const inB = aligned ? 'true' : 'gk < K && gn < N';
  const vecA = aligned && g.sak === 1 && g.sam % 4 === 0 && g.aBatch.every((x) => x % 4 === 0);
  const vecB = aligned && g.sbn === 1 && g.sbk % 4 === 0 && g.bBatch.every((x) => x % 4 === 0);
  const loadA = vecA
    ? `{
    let r = lid / 4u;
    let kq = (lid % 4u) * 4u;
    let va = a[(aBase + (row0 + r) * ${u.sam} + k0 + kq) / 4u];
    for (var e = 0u; e < 4u; e = e + 1u) { As[(kq + e) * 16u + r / 4u][r % 4u] = va[e]; }
  }`
    : `for (var i = 0u; i < 4u; i = i + 1u) {
    let idx = lid + i * 256u;
    let r = idx / ${TK}u;
    let gm = row0 + r;
    let gk = k0 + idx % ${TK}u;
    var va = 0.0;
    if (${inA}) { va = a[aBase + gm * ${u.sam} + gk * ${u.sak}]; }
    As[(idx % ${TK}u) * 16u + r / 4u][r % 4u] = va;
  }`;
  const loadB = vecB
    ? `Bs[(lid / 16u) * 16u + lid % 16u] = b[(bBase + (k0 + lid / 16u) * ${u.sbk} + col0 + (lid % 16u) * 4u) / 4u];`
    : `for (var i = 0u; i < 4u; i = i + 1u) {
    let idx = lid + i * 256u;
    let c = idx % ${TM}u;
    let kk = idx / ${TM}u;
    let gn = col0 + c;
    let gk2 = k0 + kk;
    var vb = 0.0;
    if (${inB.replace('gk', 'gk2')}) { vb = b[bBase + gk2 * ${u.sbk} + gn * ${u.sbn}]; }
    Bs[kk * 16u + c / 4u][c % 4u] = vb;
  }`;
  return { vecA, vecB, loadA, loadB };
}

function gemm(g: Gemm): Dispatch[] {
  const { M, N, K } = g;
  const nBatch = numel(g.batch);
  if (M === 0 || N === 0 || nBatch === 0) return [];
  const tilesM = Math.ceil(M / TM);
  const tilesN = Math.ceil(N / TM);
  // Bounds checks only where the shapes do not divide the tiles (a separate pipeline).
  const aligned = M % TM === 0 && N % TM === 0 && K % TK === 0;
  const layout = gemmUniforms(g.batch.length);
  const { u } = layout;
  const { vecA, vecB, loadA, loadB } = tileLoads(g, u, aligned);
  const body = `let M = ${u.M}; let N = ${u.N}; let K = ${u.K};
let t = wg;
let perBatch = ${u.tilesM} * ${u.tilesN};
if (t >= ${u.nBatch} * perBatch) { return; }
let bi = t / perBatch;
let row0 = ((t % perBatch) / ${u.tilesN}) * ${TM}u;
let col0 = ((t % perBatch) % ${u.tilesN}) * ${TM}u;
${unravel('bi', u.batch, 'b')}
let aBase = ${offsetExpr('0u', u.aBatch, 'b')};
let bBase = ${offsetExpr('0u', u.bBatch, 'b')};
let tx = lid % 16u;
let ty = lid / 16u;
var acc: array<vec4<f32>, 4>;
for (var k0 = 0u; k0 < K; k0 = k0 + ${TK}u) {
  ${loadA}
  ${loadB}
  workgroupBarrier();
  for (var kk = 0u; kk < ${TK}u; kk = kk + 1u) {
    let a4 = As[kk * 16u + ty];
    let b4 = Bs[kk * 16u + tx];
    acc[0] = acc[0] + a4.x * b4;
    acc[1] = acc[1] + a4.y * b4;
    acc[2] = acc[2] + a4.z * b4;
    acc[3] = acc[3] + a4.w * b4;
  }
  workgroupBarrier();
}
for (var i = 0u; i < 4u; i = i + 1u) {
  let gm = row0 + ty * 4u + i;
  for (var j = 0u; j < 4u; j = j + 1u) {
    let gn = col0 + tx * 4u + j;
    if (gm < M && gn < N) { y[bi * M * N + gm * N + gn] = acc[i][j]${g.bias ? ' + bias[gn]' : ''}; }
  }
}`;
  const wgsl = shader({
    bindings: [
      { name: 'a', type: vecA ? 'vec4<f32>' : 'f32', write: false },
      { name: 'b', type: vecB ? 'vec4<f32>' : 'f32', write: false },
      ...(g.bias ? [{ name: 'bias', type: 'f32' as const, write: false }] : []),
      { name: 'y', type: 'f32', write: true },
    ],
    uniforms: layout,
    workgroupSize: 256,
    decls: `var<workgroup> As: array<vec4<f32>, ${(TK * TM) / 4}>;\nvar<workgroup> Bs: array<vec4<f32>, ${(TK * TM) / 4}>;`,
    body,
  });
  return [
    {
      wgsl,
      bindings: [{ in: 0 }, { in: 1 }, ...(g.bias ? [{ in: 2 }] : []), { out: 0 }],
      uniforms: layout.fill({
        M,
        N,
        K,
        nBatch,
        tilesM,
        tilesN,
        sam: g.sam,
        sak: g.sak,
        sbk: g.sbk,
        sbn: g.sbn,
        batch: g.batch,
        aBatch: g.aBatch,
        bBatch: g.bBatch,
      }),
      workgroups: nBatch * tilesM * tilesN,
    },
  ];
}

export const bmm: KernelFactory<'bmm'> = (a, ctx) => {
  const [sa, sb] = ctx.inShapes as [number[], number[]];
  const out = ctx.outShapes[0]!;
  const [ra, ca] = [sa[sa.length - 2]!, sa[sa.length - 1]!];
  const [rb, cb] = [sb[sb.length - 2]!, sb[sb.length - 1]!];
  const [M, K] = matrixDims(sa, a.transpose_a);
  const N = matrixDims(sb, a.transpose_b)[1];
  const batch = out.slice(0, -2);
  const aBatch = broadcastStrides(sa.slice(0, -2), batch).map((s) => s * ra * ca);
  const bBatch = broadcastStrides(sb.slice(0, -2), batch).map((s) => s * rb * cb);
  return gemm({
    M,
    N,
    K,
    sam: a.transpose_a ? 1 : ca,
    sak: a.transpose_a ? ca : 1,
    sbk: a.transpose_b ? 1 : cb,
    sbn: a.transpose_b ? cb : 1,
    batch,
    aBatch,
    bBatch,
    bias: false,
  });
};

export const linear: KernelFactory<'linear'> = (_a, ctx) => {
  const x = ctx.inShapes[0]!;
  const [N, K] = ctx.inShapes[1] as [number, number];
  return gemm({
    M: numel(x.slice(0, -1)),
    N,
    K,
    sam: K,
    sak: 1,
    sbk: 1,
    sbn: K,
    batch: [],
    aBatch: [],
    bBatch: [],
    bias: ctx.inShapes.length > 2,
  });
};
