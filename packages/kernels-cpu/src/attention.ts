import { attentionGeometry, maskLeadOffset } from '@glimpse/ir';
import type { KernelFactory } from './types.js';

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
 * at the last key any of their rows can see. Memory: O(BR·(BC + dv)) plus the packed K, V.
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
  const { nLead, Hq, Hkv, group, T, S, dh, dv, scale } = g;
  const Sp = up4(S);
  const [qRow, kRow, vRow, yRow] = [g.q[2], g.k[2], g.v[2], g.o[2]];
  const softcap = a.softcap;
  const causal = g.causalOffset !== undefined;
  const offset = g.causalOffset ?? 0;
  const hasMask = g.mask !== undefined;
  const boolMask = hasMask && ctx.inTypes[3] === 'bool';
  const fill = a.mask_fill;
  const emptyRow = a.masked_rows === 'zero' ? 0 : NaN;
  const byMask = a.masked_rows === 'mask';
  // A key the mask alone hides (masked_rows=mask): -inf bias, or false with fill -inf.
  const hides = (mv: number) => (boolMask ? !mv && fill === -Infinity : mv === -Infinity);
  const mT = g.mask?.t ?? 0;
  const mS = g.mask?.s ?? 0;
  const rowEnd = (i: number) => (causal ? Math.min(S, Math.max(0, i + offset + 1)) : S);

  const sc = ctx.scratch;
  // In the micro-kernel's memory: packed Q (per block), K and V (per kv head), P (per tile),
  // the score tile S and the output accumulator (rows DVp apart, whole 4×4 tiles).
  const DVp = up4(dv);
  sc.needSimd('attn.q', BR * dh);
  sc.needSimd('attn.k', Sp * dh);
  sc.needSimd('attn.v', DVp * Sp);
  sc.needSimd('attn.p', BR * BC);
  sc.needSimd('attn.s', BR * BC);
  sc.needSimd('attn.acc', BR * DVp);
  sc.need('attn.m', BR);
  sc.need('attn.l', BR);
  sc.need('attn.bad', dv);
  sc.need('attn.open', BR);
  sc.need('attn.badCol', dv);

  return ([qb, kb, vb, mb], [yb]) => {
    const q = qb as Float32Array;
    const k = kb as Float32Array;
    const v = vb as Float32Array;
    const y = yb as Float32Array;
    const [mRow, lRow, lastBad] = [sc.f64('attn.m'), sc.f64('attn.l'), sc.f64('attn.bad')];
    const [open, badCol] = [sc.f64('attn.open'), sc.f64('attn.badCol')];
    const simd = sc.simd();
    const mem = simd.mem;
    const [qo, ko, vo, po, so0, ao] = [
      'attn.q',
      'attn.k',
      'attn.v',
      'attn.p',
      'attn.s',
      'attn.acc',
    ].map((x) => simd.at(x)) as [number, number, number, number, number, number];
    if (S === 0) {
      y.fill(0); // an empty softmax·v is an empty sum
      return;
    }
    let packed = -1;
    for (let l = 0; l < nLead * Hq; l++) {
      const h = l % Hq;
      const b = Math.floor(l / Hq);
      const hk = Math.floor(h / group);
      const kvHead = b * Hkv + hk;
      const vBase = b * g.v[0] + hk * g.v[1];
      if (kvHead !== packed) {
        packKV(k, b * g.k[0] + hk * g.k[1], kRow, v, vBase, vRow, S, dh, dv, mem, ko, vo);
        // Last key whose v column holds a non-finite value, for keys the causal early
        // stop never visits (-1: none).
        if (causal) {
          lastBad.fill(-1);
          for (let j = S - 1; j >= 0; j--)
            for (let c = 0, o = vBase + j * vRow; c < dv; c++)
              if (lastBad[c]! < 0 && !Number.isFinite(v[o + c]!)) lastBad[c] = j;
        }
        // Columns of v with a non-finite value: what a row of weights 0 gives there.
        if (byMask) {
          badCol.fill(0);
          for (let j = 0; j < S; j++)
            for (let c = 0, o = vBase + j * vRow; c < dv; c++)
              if (!Number.isFinite(v[o + c]!)) badCol[c] = 1;
        }
        packed = kvHead;
      }
      const mBase = hasMask ? maskLeadOffset(g, b) + h * g.mask!.h : 0;
      for (let i0 = 0; i0 < T; i0 += BR) {
        const br = Math.min(BR, T - i0);
        const jEnd = rowEnd(i0 + br - 1);
        packQ(q, b * g.q[0] + h * g.q[1] + i0 * qRow, qRow, br, dh, mem, qo);
        mRow.fill(-Infinity, 0, br);
        for (let rr = 0; rr < br; rr++) open[rr] = !hasMask && rowEnd(i0 + rr) > 0 ? 1 : 0;
        lRow.fill(0, 0, br);
        mem.fill(0, ao, ao + BR * DVp);
        for (let j0 = 0; j0 < jEnd; j0 += BC) {
          const bc = Math.min(BC, jEnd - j0);
          // Scores: Q slivers × K panels, written by the micro-kernel into S (row stride BC).
          for (let s4 = 0; s4 < br; s4 += 4)
            for (let j4 = 0; j4 < bc; j4 += 4)
              simd.micro(
                dh,
                (qo + s4 * dh) * 8,
                (ko + (j0 + j4) * dh) * 8,
                (so0 + s4 * BC + j4) * 8,
                BC * 8,
                0,
              );
          for (let rr = 0; rr < br; rr++) {
            const i = i0 + rr;
            const lim = rowEnd(i) - j0;
            const so = so0 + rr * BC;
            let tileMax = -Infinity;
            for (let j = 0; j < bc; j++) {
              let x = mem[so + j]! * scale;
              if (softcap > 0) x = softcap * Math.tanh(x / softcap);
              if (hasMask) {
                const mv = mb![mBase + i * mT + (j0 + j) * mS]!;
                if (boolMask) x = mv ? x : fill;
                else x += mv;
                if (byMask && j < lim && !hides(mv)) open[rr] = 1;
              }
              if (j >= lim) x = -Infinity; // causal: replaces, as where(tril, s, -inf) does
              mem[so + j] = x;
              tileMax = x > tileMax || x !== x ? x : tileMax;
            }
            const mOld = mRow[rr]!;
            const mNew = mOld > tileMax || mOld !== mOld ? mOld : tileMax;
            const alpha = mOld === mNew ? 1 : Math.exp(mOld - mNew);
            // p goes straight into the micro-kernel's A layout: sliver rr>>2, lane rr&3.
            const pr = po + (rr >> 2) * BC * 4 + (rr & 3);
            let sum = 0;
            for (let j = 0; j < bc; j++) {
              const p = mNew === -Infinity ? 0 : Math.exp(mem[so + j]! - mNew);
              mem[pr + j * 4] = p;
              sum += p;
            }
            mRow[rr] = mNew;
            lRow[rr] = lRow[rr]! * alpha + sum;
            if (alpha !== 1) for (let c = 0, o = ao + rr * DVp; c < dv; c++) mem[o + c]! *= alpha;
          }
          // acc += P·V: P slivers × V panels (column panel c4 holds Sp keys × 4 columns).
          for (let s4 = 0; s4 < br; s4 += 4)
            for (let c4 = 0; c4 < dv; c4 += 4)
              simd.micro(
                bc,
                (po + s4 * BC) * 8,
                (vo + c4 * Sp + j0 * 4) * 8,
                (ao + s4 * DVp + c4) * 8,
                DVp * 8,
                1,
              );
        }
        for (let rr = 0; rr < br; rr++) {
          const yo = b * g.o[0] + h * g.o[1] + (i0 + rr) * yRow;
          if (byMask && !open[rr]) {
            for (let c = 0; c < dv; c++) y[yo + c] = badCol[c] ? NaN : 0;
            continue;
          }
          if (mRow[rr]! === -Infinity) {
            y.fill(emptyRow, yo, yo + dv);
            continue;
          }
          const sum = lRow[rr]!;
          for (let c = 0, o = ao + rr * DVp; c < dv; c++)
            y[yo + c] = causal && lastBad[c]! >= jEnd ? NaN : mem[o + c]! / sum;
        }
      }
    }
  };
};

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
