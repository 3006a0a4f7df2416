import type { AttentionGeometry } from '@glimpse/ir';
import { attentionGeometry, maskLeadOffset } from '@glimpse/ir';
import type { KernelCtx, KernelFactory } from './types.js';

/** Query rows per block and keys per tile (multiples of 4): the score tile is BR×BC, never T×S. */
const BR = 32;
const BC = 64;
const up4 = (n: number) => (n + 3) & ~3;

/**
 * Flash attention (FlashAttention-2 order): for a block of BR query rows, walk the keys in
 * tiles of BC, computing the BR×BC scores with the SIMD 4×4 micro-kernel, keeping a running
 * max and sum per row in float64 and rescaling the float64 output accumulator when the max
 * grows (online softmax); P·V for the tile goes through the same micro-kernel. K and V are
 * packed into the micro-kernel's panel layout once per kv head (and reused by every query
 * block and, with GQA, every query head of the group); Q once per block. Causal blocks stop
 * at the last key any of their rows can see (with a causal_fill other than -inf every key
 * counts: hidden ones score the fill). Memory: O(BR·(BC + dv)) plus the packed K, V.
 *
 * Results equal the unfused softmax(s)·v exactly in their special values: a NaN score makes
 * its row NaN, a row whose scores are all -inf is NaN (or 0 with masked_rows=zero), masked
 * keys still multiply their v row by 0 (so NaN/Inf there gives NaN, as 0·NaN does
 * unfused) — for keys skipped by the causal early stop this is done by a per-column scan
 * of v for non-finite values. With masked_rows=mask a row whose keys are all masked is
 * Σ 0·v: NaN in the columns of v that hold a non-finite value (scanned per kv head), else 0.
 */
export const attention: KernelFactory<'attention'> = (a, ctx) => {
  const g = attentionGeometry(ctx.inShapes, ctx.outShapes[0]!, a);
  const { nLead, Hq, Hkv, group, T, S, dh, dv } = g;
  const causal = g.causalOffset !== undefined;
  const offset = g.causalOffset ?? 0;
  const hasMask = g.mask !== undefined;
  const boolMask = hasMask && ctx.inTypes[3] === 'bool';
  const fill = a.mask_fill;
  const shape: Shape = {
    g,
    Sp: up4(S),
    DVp: up4(dv),
    softcap: a.softcap,
    causal,
    hasMask,
    boolMask,
    fill,
    emptyRow: a.masked_rows === 'zero' ? 0 : NaN,
    byMask: a.masked_rows === 'mask',
    // A key the mask alone hides (masked_rows=mask): -inf bias, or false with fill -inf.
    hides: (mv: number) => (boolMask ? !mv && fill === -Infinity : mv === -Infinity),
    mT: g.mask?.t ?? 0,
    mS: g.mask?.s ?? 0,
    rowEnd: (i: number) => (causal ? Math.min(S, Math.max(0, i + offset + 1)) : S),
  };

  const sc = ctx.scratch;
  // In the micro-kernel's memory: packed Q (per block), K and V (per kv head), P (per tile),
  // the score tile S and the output accumulator (rows DVp apart, whole 4×4 tiles).
  sc.needSimd('attn.q', BR * dh);
  sc.needSimd('attn.k', shape.Sp * dh);
  sc.needSimd('attn.v', shape.DVp * shape.Sp);
  sc.needSimd('attn.p', BR * BC);
  sc.needSimd('attn.s', BR * BC);
  sc.needSimd('attn.acc', BR * shape.DVp);
  sc.need('attn.m', BR);
  sc.need('attn.l', BR);
  sc.need('attn.bad', dv);
  sc.need('attn.open', BR);
  sc.need('attn.badCol', dv);

  return ([qb, kb, vb, mb], [yb]) => {
    const [q, k, v, y] = [qb, kb, vb, yb] as Float32Array[];
    if (S === 0) {
      y!.fill(0); // an empty softmax·v is an empty sum
      return;
    }
    const simd = sc.simd();
    const at = (x: string) => simd.at(`attn.${x}`);
    const cx: Run = {
      ...shape,
      simd,
      mem: simd.mem,
      at: { q: at('q'), k: at('k'), v: at('v'), p: at('p'), s: at('s'), acc: at('acc') },
      mRow: sc.f64('attn.m'),
      lRow: sc.f64('attn.l'),
      lastBad: sc.f64('attn.bad'),
      open: sc.f64('attn.open'),
      badCol: sc.f64('attn.badCol'),
      mask: mb as Float32Array | Uint8Array | undefined,
    };
    let packed = -1;
    for (let l = 0; l < nLead * Hq; l++) {
      const h = l % Hq;
      const b = Math.floor(l / Hq);
      const hk = Math.floor(h / group);
      const kvHead = b * Hkv + hk;
      if (kvHead !== packed) {
        const vBase = b * g.v[0] + hk * g.v[1];
        packKV(
          k!,
          b * g.k[0] + hk * g.k[1],
          g.k[2],
          v!,
          vBase,
          g.v[2],
          S,
          dh,
          dv,
          cx.mem,
          cx.at.k,
          cx.at.v,
        );
        scanV(cx, v!, vBase);
        packed = kvHead;
      }
      const mBase = hasMask ? maskLeadOffset(g, b) + h * g.mask!.h : 0;
      for (let i0 = 0; i0 < T; i0 += BR) {
        const br = Math.min(BR, T - i0);
        const jEnd = shape.rowEnd(i0 + br - 1);
        packQ(q!, b * g.q[0] + h * g.q[1] + i0 * g.q[2], g.q[2], br, dh, cx.mem, cx.at.q);
        cx.mRow.fill(-Infinity, 0, br);
        for (let rr = 0; rr < br; rr++) cx.open[rr] = !hasMask && shape.rowEnd(i0 + rr) > 0 ? 1 : 0;
        cx.lRow.fill(0, 0, br);
        cx.mem.fill(0, cx.at.acc, cx.at.acc + BR * shape.DVp);
        for (let j0 = 0; j0 < jEnd; j0 += BC) {
          const bc = Math.min(BC, jEnd - j0);
          scoresTile(cx, br, j0, bc);
          for (let rr = 0; rr < br; rr++) softmaxRow(cx, rr, i0 + rr, j0, bc, mBase);
          accumulatePV(cx, br, j0, bc);
        }
        finishRows(cx, y!, b * g.o[0] + h * g.o[1] + i0 * g.o[2], br, jEnd);
      }
    }
  };
};

/** What the kernel fixes from the node's shapes and attributes. */
interface Shape {
  readonly g: AttentionGeometry;
  /** S and dv rounded up to whole 4-wide panels. */
  readonly Sp: number;
  readonly DVp: number;
  readonly softcap: number;
  readonly causal: boolean;
  readonly hasMask: boolean;
  readonly boolMask: boolean;
  readonly fill: number;
  /** What a row with no visible key gives: NaN, or 0 with masked_rows=zero. */
  readonly emptyRow: number;
  readonly byMask: boolean;
  readonly hides: (mv: number) => boolean;
  readonly mT: number;
  readonly mS: number;
  /** One past the last key query row i sees. */
  readonly rowEnd: (i: number) => number;
}

/** A run's view of its scratch: the micro-kernel's memory, its regions, the row state. */
interface Run extends Shape {
  readonly simd: ReturnType<KernelCtx['scratch']['simd']>;
  readonly mem: Float64Array;
  readonly at: { q: number; k: number; v: number; p: number; s: number; acc: number };
  /** Per query row of the block: running max, running sum, whether any key is open. */
  readonly mRow: Float64Array;
  readonly lRow: Float64Array;
  readonly open: Float64Array;
  /** Per column of v: the last key holding a non-finite value (-1: none), any such key. */
  readonly lastBad: Float64Array;
  readonly badCol: Float64Array;
  readonly mask: Float32Array | Uint8Array | undefined;
}

/**
 * What v's non-finite values do where no weight reaches them: the last key whose v column
 * holds one (the causal early stop never visits keys past a block's last visible one, whose
 * 0 weights would still give NaN there), and the columns holding any (what a row of weights
 * 0 gives with masked_rows=mask).
 */
function scanV(cx: Run, v: Float32Array, vBase: number) {
  const { S, dv } = cx.g;
  const vRow = cx.g.v[2];
  if (cx.causal) {
    cx.lastBad.fill(-1);
    for (let j = S - 1; j >= 0; j--)
      for (let c = 0, o = vBase + j * vRow; c < dv; c++)
        if (cx.lastBad[c]! < 0 && !Number.isFinite(v[o + c]!)) cx.lastBad[c] = j;
  }
  if (cx.byMask) {
    cx.badCol.fill(0);
    for (let j = 0; j < S; j++)
      for (let c = 0, o = vBase + j * vRow; c < dv; c++)
        if (!Number.isFinite(v[o + c]!)) cx.badCol[c] = 1;
  }
}

/** Scores of the tile: Q slivers × K panels, written by the micro-kernel into S (row stride BC). */
function scoresTile(cx: Run, br: number, j0: number, bc: number) {
  const dh = cx.g.dh;
  for (let s4 = 0; s4 < br; s4 += 4)
    for (let j4 = 0; j4 < bc; j4 += 4)
      cx.simd.micro(
        dh,
        (cx.at.q + s4 * dh) * 8,
        (cx.at.k + (j0 + j4) * dh) * 8,
        (cx.at.s + s4 * BC + j4) * 8,
        BC * 8,
        0,
      );
}

/**
 * One query row of the tile: its scores scaled, capped, masked and cut by the causal limit,
 * then the online softmax — the running max, the weights p (straight into the micro-kernel's
 * A layout: sliver rr>>2, lane rr&3), the running sum, and the accumulator rescaled when the
 * max grew.
 */
function softmaxRow(cx: Run, rr: number, i: number, j0: number, bc: number, mBase: number) {
  const { mem, mask, fill } = cx;
  const lim = cx.rowEnd(i) - j0;
  // causal_fill other than -inf: keys from `filled` on score its value before the mask.
  const cf = cx.g.causalFill;
  const filled = cf ? i + cf.offset + 1 - j0 : bc;
  const so = cx.at.s + rr * BC;
  let tileMax = -Infinity;
  for (let j = 0; j < bc; j++) {
    let x = mem[so + j]! * cx.g.scale;
    if (cx.softcap > 0) x = cx.softcap * Math.tanh(x / cx.softcap);
    if (j >= filled) x = cf!.value;
    if (cx.hasMask) {
      const mv = mask![mBase + i * cx.mT + (j0 + j) * cx.mS]!;
      if (cx.boolMask) x = mv ? x : fill;
      else x += mv;
      if (cx.byMask && j < lim && !cx.hides(mv)) cx.open[rr] = 1;
    }
    if (j >= lim) x = -Infinity; // causal: replaces, as where(tril, s, -inf) does
    mem[so + j] = x;
    tileMax = x > tileMax || x !== x ? x : tileMax;
  }
  const mOld = cx.mRow[rr]!;
  const mNew = mOld > tileMax || mOld !== mOld ? mOld : tileMax;
  const alpha = mOld === mNew ? 1 : Math.exp(mOld - mNew);
  const pr = cx.at.p + (rr >> 2) * BC * 4 + (rr & 3);
  let sum = 0;
  for (let j = 0; j < bc; j++) {
    const p = mNew === -Infinity ? 0 : Math.exp(mem[so + j]! - mNew);
    mem[pr + j * 4] = p;
    sum += p;
  }
  cx.mRow[rr] = mNew;
  cx.lRow[rr] = cx.lRow[rr]! * alpha + sum;
  if (alpha !== 1)
    for (let c = 0, o = cx.at.acc + rr * cx.DVp; c < cx.g.dv; c++) mem[o + c]! *= alpha;
}

/** acc += P·V: P slivers × V panels (column panel c4 holds Sp keys × 4 columns). */
function accumulatePV(cx: Run, br: number, j0: number, bc: number) {
  for (let s4 = 0; s4 < br; s4 += 4)
    for (let c4 = 0; c4 < cx.g.dv; c4 += 4)
      cx.simd.micro(
        bc,
        (cx.at.p + s4 * BC) * 8,
        (cx.at.v + c4 * cx.Sp + j0 * 4) * 8,
        (cx.at.acc + s4 * cx.DVp + c4) * 8,
        cx.DVp * 8,
        1,
      );
}

/**
 * The block's rows of y from the accumulator over the sum: a row the mask closed is Σ 0·v
 * (NaN in v's non-finite columns), a row with no visible key the empty row, and a column
 * whose non-finite v lies past the causal stop NaN.
 */
function finishRows(cx: Run, y: Float32Array, y0: number, br: number, jEnd: number) {
  const { dv } = cx.g;
  const yRow = cx.g.o[2];
  for (let rr = 0; rr < br; rr++) {
    const yo = y0 + rr * yRow;
    if (cx.byMask && !cx.open[rr]) {
      for (let c = 0; c < dv; c++) y[yo + c] = cx.badCol[c] ? NaN : 0;
      continue;
    }
    if (cx.mRow[rr]! === -Infinity) {
      y.fill(cx.emptyRow, yo, yo + dv);
      continue;
    }
    const sum = cx.lRow[rr]!;
    for (let c = 0, o = cx.at.acc + rr * cx.DVp; c < dv; c++)
      y[yo + c] = cx.causal && cx.lastBad[c]! >= jEnd ? NaN : cx.mem[o + c]! / sum;
  }
}

/** Q rows [row0, row0+br) (row stride `row`) → slivers of 4 rows, dh×4 each (zero-padded). */
function packQ(
  q: Float32Array,
  off: number,
  rowStride: number,
  br: number,
  dh: number,
  mem: Float64Array,
  qo: number,
) {
  for (let s4 = 0; s4 < br; s4 += 4)
    for (let lane = 0; lane < 4; lane++) {
      const row = s4 + lane;
      const dst = qo + s4 * dh + lane;
      if (row >= br) for (let c = 0; c < dh; c++) mem[dst + c * 4] = 0;
      else for (let c = 0, src = off + row * rowStride; c < dh; c++) mem[dst + c * 4] = q[src + c]!;
    }
}

/**
 * K of one kv head as Kᵀ panels (4 keys each, dh×4: key j's element c at (j&~3)·dh + 4c + (j&3))
 * and V as column panels (4 columns each, Sp×4: element (j, c) at (c&~3)·Sp + 4j + (c&3)).
 */
function packKV(
  k: Float32Array,
  kBase: number,
  kRow: number,
  v: Float32Array,
  vBase: number,
  vRow: number,
  S: number,
  dh: number,
  dv: number,
  mem: Float64Array,
  ko: number,
  vo: number,
) {
  const Sp = up4(S);
  mem.fill(0, ko, ko + Sp * dh);
  mem.fill(0, vo, vo + up4(dv) * Sp);
  for (let j = 0; j < S; j++)
    for (let c = 0, src = kBase + j * kRow, dst = ko + (j & ~3) * dh + (j & 3); c < dh; c++)
      mem[dst + c * 4] = k[src + c]!;
  for (let j = 0; j < S; j++)
    for (let c = 0, src = vBase + j * vRow; c < dv; c++)
      mem[vo + (c & ~3) * Sp + j * 4 + (c & 3)] = v[src + c]!;
}
