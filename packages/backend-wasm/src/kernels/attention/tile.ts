import type { Local } from '@glimpse/asm';
import { callMicro, MR } from '../gemm.js';
import { exp2Inline } from '../math.js';
import type { Attn } from './context.js';
import { ATTN, BC, BR } from './spec.js';

/**
 * One tile of up to BC keys from j0 for the block's 8 rows: the scores Sᵀ = K·Qᵀ, masked
 * and their max taken; the online softmax's update (new max, rescale α, weights and their
 * sums); the accumulator rescaled by α, then acc += P·V.
 */
export function keyTile(a: Attn): void {
  const { c, bc, jEnd, j0 } = a;
  c.get(jEnd).get(j0).i32.sub().set(bc);
  c.atMost(bc, (c) => c.i32.const(BC));
  scoresTile(a);
  maskScores(a);
  softmaxUpdate(a);
  rescaleAcc(a);
  accumulatePV(a);
}

/**
 * Sᵀ tile: rows of K (keys, read in place) × the 8 packed query rows, MR keys per
 * micro-kernel call, into st (a key's 8 scores 32 bytes apart).
 */
function scoresTile(a: Attn): void {
  const { c, s, arg, bc, jj, mr, nr } = a;
  c.i32.const(8).set(nr);
  c.for(
    jj,
    (c) => c.i32.const(0),
    (c) => c.get(bc),
    MR,
    (c) => {
      c.get(bc).get(jj).i32.sub().set(mr);
      c.atMost(mr, (c) => c.i32.const(MR));
      callMicro(c, a.micro, mr, nr, (c) => {
        c.get(a.kb).get(a.j0).get(jj).i32.add();
        arg(ATTN.kRow);
        c.i32.mul().i32.add();
        arg(ATTN.kRow);
        c.i32.const(4);
        c.get(a.qp).i32.const(32);
        c.i32.const(s.dh);
        c.get(a.st).get(jj).i32.const(32).i32.mul().i32.add();
        c.i32.const(32).i32.const(0).get(nr);
      });
    },
  );
}

/**
 * Scores: scale, softcap, mask, causal, stored back; the tile's max per row (tm). With
 * masked_rows=mask and a mask, the rows that saw a visible key are gathered into `open`.
 */
function maskScores(a: Attn): void {
  const { c, s, arg, st, jj, tm, ps } = a;
  const ps0 = ps[0];
  const tracked = s.byMask && s.mask !== 'none';
  c.f32x4.splatConst(-Infinity).set(tm[0]);
  c.f32x4.splatConst(-Infinity).set(tm[1]);
  c.for(
    jj,
    (c) => c.i32.const(0),
    (c) => c.get(a.bc),
    1,
    (c) => {
      for (let h2 = 0; h2 < 2; h2++) {
        const sv = h2 === 0 ? a.v0 : a.v1;
        c.get(st)
          .get(jj)
          .i32.const(32)
          .i32.mul()
          .i32.add()
          .v128.load(16 * h2)
          .get(a.scale)
          .f32x4.mul()
          .set(sv);
        if (s.softcap > 0) softcap(a, sv, ps0);
        if (s.causalFill !== undefined) {
          // causal_fill: hidden keys score the fill, before the mask.
          hiddenLanes(a, h2, ps0);
          c.f32x4.splatConst(s.causalFill).get(sv).get(ps0).v128.bitselect().set(sv);
        }
        if (s.mask !== 'none') applyMask(a, sv, h2, ps0);
        if (tracked) {
          // Keys the mask leaves visible: a bias that is not -inf, a true
          // boolean (every boolean when the fill is not -inf).
          if (s.mask === 'additive') c.get(ps0).f32x4.splatConst(-Infinity).f32x4.ne().set(a.vis);
          else if (s.fill === -Infinity) c.get(ps0).f32x4.splatConst(0).f32x4.ne().set(a.vis);
          else c.i32x4.splatConst(-1).set(a.vis);
        }
        if (s.causal) {
          hiddenLanes(a, h2, ps0);
          c.f32x4.splatConst(-Infinity).get(sv).get(ps0).v128.bitselect().set(sv);
          if (tracked) c.get(a.vis).get(ps0).v128.andnot().set(a.vis);
        }
        if (tracked) c.get(a.open[h2]!).get(a.vis).v128.or().set(a.open[h2]!);
        c.get(st)
          .get(jj)
          .i32.const(32)
          .i32.mul()
          .i32.add()
          .get(sv)
          .v128.store(16 * h2);
        c.get(tm[h2]!).get(sv).f32x4.max().set(tm[h2]!);
      }
    },
  );
}

/** Lanes (rows i of the h2 half) from which key j0 + jj is causally hidden: j0 + jj > i + offset. */
function hiddenLanes(a: Attn, h2: number, into: Local): void {
  const { c, arg } = a;
  c.get(a.j0).get(a.jj).i32.add();
  arg(ATTN.offset);
  c.i32.sub().i32x4.splat();
  c.get(a.rowIdx[h2]!).i32x4.gt_s();
  c.set(into);
}

/** s := c·tanh(s/c), tanh(y) = 1 − 2/(e^{2y} + 1) (exact at ±inf, NaN stays NaN). */
function softcap(a: Attn, sv: Local, tmp: Local): void {
  const { c } = a;
  const cap = a.s.softcap;
  c.get(sv)
    .f32x4.splatConst(2 / cap)
    .f32x4.mul()
    .call(a.vexp)
    .f32x4.splatConst(1)
    .f32x4.add()
    .set(tmp);
  c.f32x4.splatConst(1).f32x4.splatConst(2).get(tmp).f32x4.div().f32x4.sub();
  c.f32x4.splatConst(cap).f32x4.mul().set(sv);
}

/**
 * The mask of 4 rows (h2 half) at key j0 + jj, gathered lane by lane (its strides vary)
 * into `tmp`, applied to the scores `sv`.
 */
function applyMask(a: Attn, sv: Local, h2: number, tmp: Local): void {
  const { c, s, arg, i0 } = a;
  const bool = s.mask === 'bool';
  c.f32x4.splatConst(0).set(tmp);
  for (let lane = 0; lane < 4; lane++) {
    c.get(tmp);
    // Rows past T (padding lanes) read row T − 1: never past the mask.
    c.get(a.mb);
    c.get(i0)
      .i32.const(4 * h2 + lane)
      .i32.add();
    arg(ATTN.T).i32.const(1).i32.sub();
    c.get(i0)
      .i32.const(4 * h2 + lane)
      .i32.add();
    arg(ATTN.T).i32.lt_s().select();
    arg(ATTN.mT);
    c.i32.mul().i32.add();
    c.get(a.j0).get(a.jj).i32.add();
    arg(ATTN.mS);
    c.i32.mul().i32.add();
    if (bool) c.i32.load8_u().f32.convert_i32_s();
    else c.f32.load();
    c.f32x4.replace_lane(lane).set(tmp);
  }
  if (bool) {
    // s where the mask is true, mask_fill where false.
    c.get(sv)
      .f32x4.splatConst(s.fill)
      .get(tmp)
      .f32x4.splatConst(0)
      .f32x4.ne()
      .v128.bitselect()
      .set(sv);
  } else c.get(sv).get(tmp).f32x4.add().set(sv);
}

/**
 * Online softmax across the 8 rows — m, l and the rescale α are vectors: m_new = max(m,
 * tile max), α = 2^((m − m_use)·log2 e), the weights 2^((s − m_use)·log2 e) in place of the
 * scores (exp2 inline: the hot loop calls nothing), their sums per row, l := l·α + Σ.
 */
function softmaxUpdate(a: Attn): void {
  const { c, st, jj, ms, tm, al, ps, ll, v0, v1 } = a;
  for (let h2 = 0; h2 < 2; h2++) {
    c.get(ms[h2]!).get(tm[h2]!).f32x4.max().set(tm[h2]!); // m_new
    // m_use: 0 where m_new = -inf (e^(s − 0) = 0 for those -inf scores, not NaN).
    c.f32x4
      .splatConst(0)
      .get(tm[h2]!)
      .get(tm[h2]!)
      .f32x4.splatConst(-Infinity)
      .f32x4.eq()
      .v128.bitselect()
      .set(v0);
    c.get(ms[h2]!)
      .get(v0)
      .f32x4.sub()
      .f32x4.splatConst(Math.LOG2E)
      .f32x4.mul()
      .call(a.vexp2)
      .set(al[h2]!);
    c.get(tm[h2]!).set(ms[h2]!);
    c.get(v0).set(tm[h2]!); // tm := m_use
    c.f32x4.splatConst(0).set(ps[h2]!);
  }
  c.for(
    jj,
    (c) => c.i32.const(0),
    (c) => c.get(a.bc),
    1,
    (c) => {
      for (let h2 = 0; h2 < 2; h2++) {
        c.get(st).get(jj).i32.const(32).i32.mul().i32.add();
        c.get(st)
          .get(jj)
          .i32.const(32)
          .i32.mul()
          .i32.add()
          .v128.load(16 * h2)
          .get(tm[h2]!)
          .f32x4.sub()
          .f32x4.splatConst(Math.LOG2E)
          .f32x4.mul()
          .set(v1);
        exp2Inline(c, v1, v0);
        c.tee(v1);
        c.v128.store(16 * h2);
        c.get(ps[h2]!).get(v1).f32x4.add().set(ps[h2]!);
      }
    },
  );
  for (let h2 = 0; h2 < 2; h2++)
    c.get(ll[h2]!).get(al[h2]!).f32x4.mul().get(ps[h2]!).f32x4.add().set(ll[h2]!);
}

/** Rescale the accumulator's rows by their α (the max moved: old terms shrink). */
function rescaleAcc(a: Attn): void {
  const { c, t, acc, accRow, v0 } = a;
  for (let r = 0; r < BR; r++) {
    c.get(a.al[r >> 2]!)
      .f32x4.extract_lane(r & 3)
      .f32x4.splat()
      .set(v0);
    c.for(
      t,
      (c) => c.i32.const(0),
      (c) => c.i32.const(accRow),
      16,
      (c) => {
        c.get(acc)
          .i32.const(r * accRow)
          .i32.add()
          .get(t)
          .i32.add();
        c.get(acc)
          .i32.const(r * accRow)
          .i32.add()
          .get(t)
          .i32.add()
          .v128.load()
          .get(v0)
          .f32x4.mul();
        c.v128.store();
      },
    );
  }
}

/**
 * acc += P·V over the tile's keys: A = P (row r at +4r, key at +32), B = rows of V read in
 * place; 4 rows (one half of the block) × 8 columns of dv per micro-kernel call.
 */
function accumulatePV(a: Attn): void {
  const { c, s, arg, cc, nr, mr, accRow } = a;
  for (let half = 0; half < 2; half++)
    c.for(
      cc,
      (c) => c.i32.const(0),
      (c) => c.i32.const(s.dv),
      8,
      (c) => {
        c.i32.const(s.dv).get(cc).i32.sub().set(nr);
        c.atMost(nr, (c) => c.i32.const(8));
        c.i32.const(4).set(mr);
        callMicro(c, a.micro, mr, nr, (c) => {
          c.get(a.st)
            .i32.const(16 * half)
            .i32.add();
          c.i32.const(4).i32.const(32);
          c.get(a.vb).get(a.j0);
          arg(ATTN.vRow);
          c.i32.mul().i32.add().get(cc).i32.const(4).i32.mul().i32.add();
          arg(ATTN.vRow);
          c.get(a.bc);
          c.get(a.acc)
            .i32.const(4 * half * accRow)
            .i32.add()
            .get(cc)
            .i32.const(4)
            .i32.mul()
            .i32.add();
          c.i32.const(accRow).i32.const(1).get(nr);
        });
      },
    );
}
