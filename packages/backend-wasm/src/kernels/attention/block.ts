import type { Code } from '@glimpse/asm';
import type { Attn } from './context.js';
import { ATTN, BC, BR, partFloats } from './spec.js';
import { keyTile } from './tile.js';

/**
 * One block of up to BR query rows from i0: Q packed, the running softmax started, then
 * every tile of the keys the block sees (its split of them), then its rows finished.
 */
export function queryBlock(a: Attn): void {
  const { c, r1, i0, nrows } = a;
  c.get(r1).get(i0).i32.sub().set(nrows);
  c.atMost(nrows, (c) => c.i32.const(BR));
  packQ(a);
  startRows(a);
  blockKeys(a);
  c.for(
    a.j0,
    (c) => c.get(a.ks0),
    (c) => c.get(a.jEnd),
    BC,
    () => keyTile(a),
  );
  finishRows(a);
}

/**
 * Pack Q: qp[d][r] = q[i0 + r][d], zero for rows past the block — the 8 rows side by side,
 * as the micro-kernel reads a panel of B, so Sᵀ = K·Qᵀ is one GEMM tile per 5 keys.
 */
function packQ(a: Attn): void {
  const { c, s, arg, qp, qb, i0, t, cc, nrows } = a;
  c.for(
    t,
    (c) => c.i32.const(0),
    (c) => c.i32.const(BR),
    1,
    (c) => {
      c.for(
        cc,
        (c) => c.i32.const(0),
        (c) => c.i32.const(s.dh),
        1,
        (c) => {
          c.get(qp)
            .get(cc)
            .i32.const(32)
            .i32.mul()
            .i32.add()
            .get(t)
            .i32.const(4)
            .i32.mul()
            .i32.add();
          c.get(t)
            .get(nrows)
            .i32.lt_s()
            .if(
              (c) => {
                c.get(qb).get(i0).get(t).i32.add();
                arg(ATTN.qRow);
                c.i32.mul().i32.add().get(cc).i32.const(4).i32.mul().i32.add().f32.load();
              },
              (c) => c.f32.const(0),
              'f32',
            );
          c.f32.store();
        },
      );
    },
  );
}

/**
 * The block's lanes: their row indices (for the causal test) and, with masked_rows=mask,
 * which rows already see a key; the running max -inf and sum 0 of every row; the
 * accumulator zeroed.
 */
function startRows(a: Attn): void {
  const { c, s, arg, i0, rowIdx, open, ms, ll, t } = a;
  for (let h2 = 0; h2 < 2; h2++) {
    c.get(i0).i32x4.splat();
    c.v128.const(
      [0, 1, 2, 3].flatMap((k) => [...new Uint8Array(new Int32Array([4 * h2 + k]).buffer)]),
    );
    c.i32x4.add().set(rowIdx[h2]!);
    if (s.byMask) {
      // With a mask, none yet (its keys will tell); causal alone: the rows with a key in
      // range; neither: every row.
      if (s.mask !== 'none') c.i32x4.splatConst(0).set(open[h2]!);
      else if (s.causal) {
        // Row i sees a key when i + offset + 1 > 0.
        c.get(rowIdx[h2]!);
        arg(ATTN.offset);
        c.i32.const(1).i32.add().i32x4.splat().i32x4.add();
        c.i32x4.splatConst(0).i32x4.gt_s().set(open[h2]!);
      } else c.i32x4.splatConst(-1).set(open[h2]!);
    }
  }
  c.f32x4.splatConst(-Infinity).set(ms[0]);
  c.f32x4.splatConst(-Infinity).set(ms[1]);
  c.f32x4.splatConst(0).set(ll[0]);
  c.f32x4.splatConst(0).set(ll[1]);
  c.for(
    t,
    (c) => c.i32.const(0),
    (c) => c.i32.const(BR * a.accRow),
    16,
    (c) => c.get(a.acc).get(t).i32.add().f32x4.splatConst(0).v128.store(),
  );
}

/**
 * The keys this block sees, [ks0, jEnd): all S, or under a causal mask up to its last row's
 * end (i0 + nrows + offset, within [0, S]); then only this task's split of them.
 */
function blockKeys(a: Attn): void {
  const { c, s, arg, S, jEnd, i0, nrows, t, ks0 } = a;
  c.get(S).set(jEnd);
  if (s.causal) {
    c.get(i0).get(nrows).i32.add();
    arg(ATTN.offset);
    c.i32.add().set(t);
    c.get(t)
      .get(jEnd)
      .i32.lt_s()
      .if((c) => c.get(t).set(jEnd));
    c.get(jEnd)
      .i32.const(0)
      .i32.lt_s()
      .if((c) => c.i32.const(0).set(jEnd));
  }
  c.get(a.sp);
  arg(ATTN.splitKeys);
  c.i32.mul().set(ks0);
  c.atMost(jEnd, (c) => {
    c.get(ks0);
    arg(ATTN.splitKeys);
    c.i32.add();
  });
}

/**
 * Out rows: acc / l; a row whose scores were all -inf is 0/0 = NaN, or 0 (zero); a row
 * with every key masked is 0 (mask) before the caller's scan of v. With key splits, each
 * row's max, sum, open flag and accumulator go to the partials instead.
 */
function finishRows(a: Attn): void {
  const { c, arg, t, cc, nrows } = a;
  c.for(
    t,
    (c) => c.i32.const(0),
    (c) => c.get(nrows),
    1,
    (c) => {
      rowStats(a);
      const accAt = (c: Code) =>
        c
          .get(a.acc)
          .get(t)
          .i32.const(a.accRow)
          .i32.mul()
          .i32.add()
          .get(cc)
          .i32.const(4)
          .i32.mul()
          .i32.add();
      arg(ATTN.splits);
      c.i32
        .const(1)
        .i32.gt_s()
        .if(
          () => storePartial(a, accAt),
          () => storeRow(a, accAt),
        );
    },
  );
}

/**
 * Row t's sum (v0, splat) and max (v1, splat) from the lanes of the running vectors, and
 * whether it is empty: no visible key (masked_rows=mask) or all scores -inf (zero).
 */
function rowStats(a: Attn): void {
  const { c, s, t } = a;
  for (let r = 0; r < BR; r++)
    c.get(t)
      .i32.const(r)
      .i32.eq()
      .if((c) => {
        c.get(a.ll[r >> 2]!)
          .f32x4.extract_lane(r & 3)
          .f32x4.splat()
          .set(a.v0);
        c.get(a.ms[r >> 2]!)
          .f32x4.extract_lane(r & 3)
          .f32x4.splat()
          .set(a.v1);
        if (s.byMask)
          c.get(a.open[r >> 2]!)
            .i32x4.extract_lane(r & 3)
            .i32.eqz()
            .set(a.empty);
        else if (s.zeroRows)
          c.get(a.v1).f32x4.extract_lane(0).f32.const(-Infinity).f32.eq().set(a.empty);
      });
}

/** With key splits: row t's partial — max, sum, open (1/0), acc[dv] — for the caller. */
function storePartial(a: Attn, accAt: (c: Code) => Code): void {
  const { c, s, arg, hh, T, i0, t, cc, rec } = a;
  // part + ((hh·T + i)·splits + sp)·rec
  c.get(hh).get(T).i32.mul().get(i0).i32.add().get(t).i32.add();
  arg(ATTN.splits);
  c.i32
    .mul()
    .get(a.sp)
    .i32.add()
    .i32.const(4 * partFloats(s.dv))
    .i32.mul();
  arg(ATTN.part);
  c.i32.add().set(rec);
  c.get(rec).get(a.v1).f32x4.extract_lane(0).f32.store(0);
  c.get(rec).get(a.v0).f32x4.extract_lane(0).f32.store(4);
  c.get(rec);
  if (s.byMask) c.get(a.empty).i32.eqz().f32.convert_i32_s();
  else c.f32.const(1);
  c.f32.store(8);
  c.for(
    cc,
    (c) => c.i32.const(0),
    (c) => c.i32.const(s.dv),
    1,
    (c) => {
      c.get(rec).get(cc).i32.const(4).i32.mul().i32.add();
      accAt(c).f32.load();
      c.f32.store(12);
    },
  );
}

/** Row t of the output: acc / l, 0 where the row is empty (its flag set for the caller). */
function storeRow(a: Attn, accAt: (c: Code) => Code): void {
  const { c, s, arg, hh, T, i0, t, cc, empty } = a;
  const needEmpty = s.zeroRows || s.byMask;
  if (needEmpty) {
    arg(ATTN.flags);
    c.get(hh).get(T).i32.mul().get(i0).i32.add().get(t).i32.add();
    c.i32.const(4).i32.mul().i32.add().get(empty).i32.store();
  }
  c.for(
    cc,
    (c) => c.i32.const(0),
    (c) => c.i32.const(s.dv),
    1,
    (c) => {
      c.get(a.ob).get(i0).get(t).i32.add();
      arg(ATTN.oRow);
      c.i32.mul().i32.add().get(cc).i32.const(4).i32.mul().i32.add();
      accAt(c).f32.load();
      c.get(a.v0).f32x4.extract_lane(0).f32.div();
      if (needEmpty) c.f32.const(0).get(empty).i32.eqz().select();
      c.f32.store();
    },
  );
}
