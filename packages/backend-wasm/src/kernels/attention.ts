import type { Code, Local, ModuleBuilder } from '@glimpse/asm';
import type { AttentionAttrs } from '@glimpse/ir';
import { attentionGeometry, maskLeadOffset } from '@glimpse/ir';
import { argReader } from './args.js';
import { callMicro, MR } from './gemm.js';
import { exp2Inline } from './math.js';
import type { WasmKernel, WasmRun } from './types.js';

/** Query rows per block (one packed Q panel) and keys per tile. */
const BR = 8;
const BC = 128;

/** Argument words of an attention call (byte offsets and strides, i32). */
const W = {
  T: 0,
  S: 1,
  Hq: 2,
  group: 3,
  chunks: 4,
  chunkRows: 5,
  q: 6, // base, lead, head, row: 6..9
  k: 10,
  v: 14,
  o: 18,
  mask: 22,
  maskLead: 23,
  mH: 24,
  mT: 25,
  mS: 26,
  offset: 27,
  scratch: 28,
  scratchPerThread: 29,
  scale: 30,
  /** Key splits (split-K), keys per split, their partial results, the empty-row flags. */
  splits: 31,
  splitKeys: 32,
  part: 33,
  flags: 34,
  words: 36,
} as const;

interface Spec {
  dh: number;
  dv: number;
  mask: 'none' | 'bool' | 'additive';
  causal: boolean;
  softcap: number;
  fill: number;
  zeroRows: boolean;
  /** masked_rows=mask: a row whose every key is masked has weights 0. */
  byMask: boolean;
}

/** Floats of one split's partial result of a row: its max, its sum, open (1/0), acc[dv]. */
const partFloats = (dv: number) => dv + 3;

const up8 = (n: number) => Math.ceil(n / 8) * 8;

/** Scratch bytes one thread needs: packed Q, the scores/weights tile, the accumulator. */
function scratchBytes(s: Spec): number {
  return s.dh * 32 + BC * 32 + BR * up8(s.dv) * 4;
}

/**
 * Flash attention in f32x4, generated per node (head sizes, mask kind, causal, softcap as
 * constants). A task is one head's chunk of query rows; for each block of 8 rows, Q is
 * packed once (dh × 8) and the scores of a tile of keys are computed transposed — Sᵀ[key][row]
 * = K·Qᵀ, K read in place — so the online softmax runs across the 8 rows in two vectors:
 * the running max, the sum and the rescale factor of each row are vector lanes, the
 * weights are 2^((s − max)·log2 e) by `vexp2`. P·V accumulates into 8 rows × dv with V read in place. Semantics as the op's
 * (the JS kernel's): a NaN score makes its row NaN; masked keys still multiply their v by
 * 0; a row whose scores are all -inf is NaN, or 0 with masked_rows=zero; keys a causal
 * block never visits are covered by the caller's scan of v for non-finite values. With
 * masked_rows=mask the lanes of rows that saw a visible key are tracked; a row without one
 * is 0 and flagged for that scan. With key splits a task covers one split of the keys and
 * leaves its rows' partial results for the caller to combine.
 */
function emitAttention(
  m: ModuleBuilder,
  name: string,
  s: Spec,
  micro: number[][],
  vexp: number,
  vexp2: number,
) {
  const DVP = up8(s.dv);
  const accRow = DVP * 4;
  m.func(name, ['i32', 'i32', 'i32'], [], (c) => {
    const task = c.param(0),
      args = c.param(1),
      thread = c.param(2);
    const arg = argReader(c, args);
    const L = () => c.local('i32');
    const hh = L(),
      l = L(),
      h = L(),
      hk = L(),
      r0 = L(),
      r1 = L(),
      i0 = L(),
      nrows = L(),
      jEnd = L(),
      j0 = L(),
      bc = L(),
      jj = L(),
      mr = L(),
      t = L(),
      cc = L(),
      nr = L();
    const qb = L(),
      kb = L(),
      vb = L(),
      ob = L(),
      mb = L(),
      qp = L(),
      st = L(),
      acc = L(),
      T = L(),
      S = L(),
      sp = L(),
      tk = L(),
      ks0 = L(),
      empty = L(),
      rec = L();
    const ms0 = c.local('v128'),
      ms1 = c.local('v128'),
      ll0 = c.local('v128'),
      ll1 = c.local('v128'),
      tm0 = c.local('v128'),
      tm1 = c.local('v128'),
      al0 = c.local('v128'),
      al1 = c.local('v128'),
      v0 = c.local('v128'),
      v1 = c.local('v128'),
      ps0 = c.local('v128'),
      ps1 = c.local('v128'),
      scale = c.local('v128'),
      vis = c.local('v128');
    // Rows of the block with a key the masks leave visible (masked_rows=mask), as lanes.
    const open = [c.local('v128'), c.local('v128')];
    const rowIdx = [c.local('v128'), c.local('v128')];
    arg(W.T).set(T);
    arg(W.S).set(S);
    c.get(args)
      .v128.load32_splat(4 * W.scale)
      .set(scale);
    // Task → (split sp, lead l, head h, rows [r0, r1)).
    c.get(task);
    arg(W.splits);
    c.i32.rem_u().set(sp);
    c.get(task);
    arg(W.splits);
    c.i32.div_u().set(tk);
    c.get(tk);
    arg(W.chunks);
    c.i32.div_u().set(hh);
    c.get(hh);
    arg(W.Hq);
    c.i32.div_u().set(l);
    c.get(hh);
    arg(W.Hq);
    c.i32.rem_u().set(h);
    c.get(h);
    arg(W.group);
    c.i32.div_u().set(hk);
    c.get(tk);
    arg(W.chunks);
    c.i32.rem_u();
    if (s.causal) {
      // Under a causal mask the last chunks hold the most keys: they are claimed first.
      c.set(r0);
      arg(W.chunks);
      c.i32.const(1).i32.sub().get(r0).i32.sub();
    }
    arg(W.chunkRows);
    c.i32.mul().set(r0);
    c.get(r0);
    arg(W.chunkRows);
    c.i32.add().set(r1);
    c.atMost(r1, (c) => c.get(T));
    const base = (w: number, head: Local, out: Local) => {
      arg(w);
      c.get(l);
      arg(w + 1);
      c.i32.mul().i32.add();
      c.get(head);
      arg(w + 2);
      c.i32.mul().i32.add().set(out);
    };
    base(W.q, h, qb);
    base(W.k, hk, kb);
    base(W.v, hk, vb);
    base(W.o, h, ob);
    if (s.mask !== 'none') {
      arg(W.mask);
      arg(W.maskLead);
      c.get(l).i32.const(4).i32.mul().i32.add().i32.load().i32.add();
      c.get(h);
      arg(W.mH);
      c.i32.mul().i32.add().set(mb);
    }
    // This thread's scratch: packed Q, the tile, the accumulator.
    arg(W.scratch).get(thread);
    arg(W.scratchPerThread);
    c.i32.mul().i32.add().set(qp);
    c.get(qp)
      .i32.const(s.dh * 32)
      .i32.add()
      .set(st);
    c.get(st)
      .i32.const(BC * 32)
      .i32.add()
      .set(acc);
    c.for(
      i0,
      (c) => c.get(r0),
      (c) => c.get(r1),
      BR,
      (c) => {
        c.get(r1).get(i0).i32.sub().set(nrows);
        c.atMost(nrows, (c) => c.i32.const(BR));
        // Pack Q: qp[d][r] = q[i0 + r][d], zero for rows past the block.
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
                      arg(W.q + 3);
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
        // Row indices of the block's lanes, for the causal test.
        for (let h2 = 0; h2 < 2; h2++) {
          c.get(i0).i32x4.splat();
          c.v128.const(
            [0, 1, 2, 3].flatMap((k) => [...new Uint8Array(new Int32Array([4 * h2 + k]).buffer)]),
          );
          c.i32x4.add().set(rowIdx[h2]!);
          if (s.byMask) {
            if (s.mask !== 'none') c.i32x4.splatConst(0).set(open[h2]!);
            else if (s.causal) {
              // Row i sees a key when i + offset + 1 > 0.
              c.get(rowIdx[h2]!);
              arg(W.offset);
              c.i32.const(1).i32.add().i32x4.splat().i32x4.add();
              c.i32x4.splatConst(0).i32x4.gt_s().set(open[h2]!);
            } else c.i32x4.splatConst(-1).set(open[h2]!);
          }
        }
        c.f32x4.splatConst(-Infinity).set(ms0);
        c.f32x4.splatConst(-Infinity).set(ms1);
        c.f32x4.splatConst(0).set(ll0);
        c.f32x4.splatConst(0).set(ll1);
        c.for(
          t,
          (c) => c.i32.const(0),
          (c) => c.i32.const(BR * accRow),
          16,
          (c) => c.get(acc).get(t).i32.add().f32x4.splatConst(0).v128.store(),
        );
        // The keys this block sees.
        c.get(S).set(jEnd);
        if (s.causal) {
          c.get(i0).get(nrows).i32.add();
          arg(W.offset);
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
        // This task's split of them.
        c.get(sp);
        arg(W.splitKeys);
        c.i32.mul().set(ks0);
        c.atMost(jEnd, (c) => {
          c.get(ks0);
          arg(W.splitKeys);
          c.i32.add();
        });
        c.for(
          j0,
          (c) => c.get(ks0),
          (c) => c.get(jEnd),
          BC,
          (c) => {
            c.get(jEnd).get(j0).i32.sub().set(bc);
            c.atMost(bc, (c) => c.i32.const(BC));
            // Sᵀ tile: rows of K (keys) × the 8 packed query rows.
            c.i32.const(8).set(nr);
            c.for(
              jj,
              (c) => c.i32.const(0),
              (c) => c.get(bc),
              MR,
              (c) => {
                c.get(bc).get(jj).i32.sub().set(mr);
                c.atMost(mr, (c) => c.i32.const(MR));
                callMicro(c, micro, mr, nr, (c) => {
                  c.get(kb).get(j0).get(jj).i32.add();
                  arg(W.k + 3);
                  c.i32.mul().i32.add();
                  arg(W.k + 3);
                  c.i32.const(4);
                  c.get(qp).i32.const(32);
                  c.i32.const(s.dh);
                  c.get(st).get(jj).i32.const(32).i32.mul().i32.add();
                  c.i32.const(32).i32.const(0).get(nr);
                });
              },
            );
            // Scores: scale, softcap, mask, causal; the tile's max per row.
            c.f32x4.splatConst(-Infinity).set(tm0);
            c.f32x4.splatConst(-Infinity).set(tm1);
            c.for(
              jj,
              (c) => c.i32.const(0),
              (c) => c.get(bc),
              1,
              (c) => {
                for (let h2 = 0; h2 < 2; h2++) {
                  const sv = h2 === 0 ? v0 : v1;
                  c.get(st)
                    .get(jj)
                    .i32.const(32)
                    .i32.mul()
                    .i32.add()
                    .v128.load(16 * h2)
                    .get(scale)
                    .f32x4.mul()
                    .set(sv);
                  if (s.softcap > 0) softcap(c, sv, s.softcap, vexp, ps0);
                  if (s.mask !== 'none') applyMask(c, s, sv, h2, mb, i0, j0, jj, arg, ps0);
                  if (s.byMask && s.mask !== 'none') {
                    // Keys the mask leaves visible: a bias that is not -inf, a true
                    // boolean (every boolean when the fill is not -inf).
                    if (s.mask === 'additive')
                      c.get(ps0).f32x4.splatConst(-Infinity).f32x4.ne().set(vis);
                    else if (s.fill === -Infinity)
                      c.get(ps0).f32x4.splatConst(0).f32x4.ne().set(vis);
                    else c.i32x4.splatConst(-1).set(vis);
                  }
                  if (s.causal) {
                    // key j0+jj hidden from row i when j0 + jj > i + offset.
                    c.get(j0).get(jj).i32.add();
                    arg(W.offset);
                    c.i32.sub().i32x4.splat();
                    c.get(rowIdx[h2]!).i32x4.gt_s();
                    c.set(ps0);
                    c.f32x4.splatConst(-Infinity).get(sv).get(ps0).v128.bitselect().set(sv);
                    if (s.byMask && s.mask !== 'none') c.get(vis).get(ps0).v128.andnot().set(vis);
                  }
                  if (s.byMask && s.mask !== 'none')
                    c.get(open[h2]!).get(vis).v128.or().set(open[h2]!);
                  c.get(st)
                    .get(jj)
                    .i32.const(32)
                    .i32.mul()
                    .i32.add()
                    .get(sv)
                    .v128.store(16 * h2);
                  const tm = h2 === 0 ? tm0 : tm1;
                  c.get(tm).get(sv).f32x4.max().set(tm);
                }
              },
            );
            // Online softmax across the 8 rows: m, l and the rescale α are vectors.
            for (let h2 = 0; h2 < 2; h2++) {
              const [msv, tm, al, ps] = h2 === 0 ? [ms0, tm0, al0, ps0] : [ms1, tm1, al1, ps1];
              c.get(msv).get(tm).f32x4.max().set(tm); // m_new
              // m_use: 0 where m_new = -inf (e^(s − 0) = 0 for those -inf scores, not NaN).
              c.f32x4
                .splatConst(0)
                .get(tm)
                .get(tm)
                .f32x4.splatConst(-Infinity)
                .f32x4.eq()
                .v128.bitselect()
                .set(v0);
              c.get(msv)
                .get(v0)
                .f32x4.sub()
                .f32x4.splatConst(Math.LOG2E)
                .f32x4.mul()
                .call(vexp2)
                .set(al);
              c.get(tm).set(msv);
              c.get(v0).set(tm); // tm := m_use
              c.f32x4.splatConst(0).set(ps);
            }
            c.for(
              jj,
              (c) => c.i32.const(0),
              (c) => c.get(bc),
              1,
              (c) => {
                for (let h2 = 0; h2 < 2; h2++) {
                  const [tm, ps] = h2 === 0 ? [tm0, ps0] : [tm1, ps1];
                  c.get(st).get(jj).i32.const(32).i32.mul().i32.add();
                  c.get(st)
                    .get(jj)
                    .i32.const(32)
                    .i32.mul()
                    .i32.add()
                    .v128.load(16 * h2)
                    .get(tm)
                    .f32x4.sub()
                    .f32x4.splatConst(Math.LOG2E)
                    .f32x4.mul()
                    .set(v1);
                  exp2Inline(c, v1, v0);
                  c.tee(v1);
                  c.v128.store(16 * h2);
                  c.get(ps).get(v1).f32x4.add().set(ps);
                }
              },
            );
            c.get(ll0).get(al0).f32x4.mul().get(ps0).f32x4.add().set(ll0);
            c.get(ll1).get(al1).f32x4.mul().get(ps1).f32x4.add().set(ll1);
            // Rescale the accumulator's rows by their α.
            for (let r = 0; r < BR; r++) {
              c.get(r < 4 ? al0 : al1)
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
            // acc += P·V over the tile's keys: A = P (row r at +4r, key at +32), B = rows of V.
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
                  callMicro(c, micro, mr, nr, (c) => {
                    c.get(st)
                      .i32.const(16 * half)
                      .i32.add();
                    c.i32.const(4).i32.const(32);
                    c.get(vb).get(j0);
                    arg(W.v + 3);
                    c.i32.mul().i32.add().get(cc).i32.const(4).i32.mul().i32.add();
                    arg(W.v + 3);
                    c.get(bc);
                    c.get(acc)
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
          },
        );
        // Out rows: acc / l; a row whose scores were all -inf is 0/0 = NaN, or 0 (zero); a
        // row with every key masked is 0 (mask) before the caller's scan of v. With key
        // splits, each row's max, sum, open flag and accumulator go to the partials instead.
        const needEmpty = s.zeroRows || s.byMask;
        const recBytes = 4 * partFloats(s.dv);
        c.for(
          t,
          (c) => c.i32.const(0),
          (c) => c.get(nrows),
          1,
          (c) => {
            for (let r = 0; r < BR; r++)
              c.get(t)
                .i32.const(r)
                .i32.eq()
                .if((c) => {
                  c.get(r < 4 ? ll0 : ll1)
                    .f32x4.extract_lane(r & 3)
                    .f32x4.splat()
                    .set(v0);
                  c.get(r < 4 ? ms0 : ms1)
                    .f32x4.extract_lane(r & 3)
                    .f32x4.splat()
                    .set(v1);
                  if (s.byMask)
                    c.get(open[r >> 2]!)
                      .i32x4.extract_lane(r & 3)
                      .i32.eqz()
                      .set(empty);
                  else if (s.zeroRows)
                    c.get(v1).f32x4.extract_lane(0).f32.const(-Infinity).f32.eq().set(empty);
                });
            const accAt = (c: Code) =>
              c
                .get(acc)
                .get(t)
                .i32.const(accRow)
                .i32.mul()
                .i32.add()
                .get(cc)
                .i32.const(4)
                .i32.mul()
                .i32.add();
            arg(W.splits);
            c.i32
              .const(1)
              .i32.gt_s()
              .if(
                (c) => {
                  // part + ((hh·T + i)·splits + sp)·rec
                  c.get(hh).get(T).i32.mul().get(i0).i32.add().get(t).i32.add();
                  arg(W.splits);
                  c.i32.mul().get(sp).i32.add().i32.const(recBytes).i32.mul();
                  arg(W.part);
                  c.i32.add().set(rec);
                  c.get(rec).get(v1).f32x4.extract_lane(0).f32.store(0);
                  c.get(rec).get(v0).f32x4.extract_lane(0).f32.store(4);
                  c.get(rec);
                  if (s.byMask) c.get(empty).i32.eqz().f32.convert_i32_s();
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
                },
                (c) => {
                  if (needEmpty) {
                    arg(W.flags);
                    c.get(hh).get(T).i32.mul().get(i0).i32.add().get(t).i32.add();
                    c.i32.const(4).i32.mul().i32.add().get(empty).i32.store();
                  }
                  c.for(
                    cc,
                    (c) => c.i32.const(0),
                    (c) => c.i32.const(s.dv),
                    1,
                    (c) => {
                      c.get(ob).get(i0).get(t).i32.add();
                      arg(W.o + 3);
                      c.i32.mul().i32.add().get(cc).i32.const(4).i32.mul().i32.add();
                      accAt(c).f32.load();
                      c.get(v0).f32x4.extract_lane(0).f32.div();
                      if (needEmpty) c.f32.const(0).get(empty).i32.eqz().select();
                      c.f32.store();
                    },
                  );
                },
              );
          },
        );
      },
    );
  });
}

/** s := c·tanh(s/c), tanh(y) = 1 − 2/(e^{2y} + 1) (exact at ±inf, NaN stays NaN). */
function softcap(c: Code, sv: Local, cap: number, vexp: number, tmp: Local) {
  c.get(sv)
    .f32x4.splatConst(2 / cap)
    .f32x4.mul()
    .call(vexp)
    .f32x4.splatConst(1)
    .f32x4.add()
    .set(tmp);
  c.f32x4.splatConst(1).f32x4.splatConst(2).get(tmp).f32x4.div().f32x4.sub();
  c.f32x4.splatConst(cap).f32x4.mul().set(sv);
}

/** The mask of 4 rows (h2 half) at key j0 + jj, gathered lane by lane (its strides vary). */
function applyMask(
  c: Code,
  s: Spec,
  sv: Local,
  h2: number,
  mb: Local,
  i0: Local,
  j0: Local,
  jj: Local,
  arg: (w: number) => Code,
  tmp: Local,
) {
  const bool = s.mask === 'bool';
  c.f32x4.splatConst(0).set(tmp);
  for (let lane = 0; lane < 4; lane++) {
    c.get(tmp);
    // Rows past T (padding lanes) read row T − 1: never past the mask.
    c.get(mb);
    c.get(i0)
      .i32.const(4 * h2 + lane)
      .i32.add();
    arg(W.T).i32.const(1).i32.sub();
    c.get(i0)
      .i32.const(4 * h2 + lane)
      .i32.add();
    arg(W.T).i32.lt_s().select();
    arg(W.mT);
    c.i32.mul().i32.add();
    c.get(j0).get(jj).i32.add();
    arg(W.mS);
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

interface Prepared {
  readonly name: string;
  readonly spec: Spec;
}

export const attention: WasmKernel<'attention'> = {
  prepare(a, node, p) {
    const q = p.graph.typeOf(node.inputs[0]!);
    const v = p.graph.typeOf(node.inputs[2]!);
    const dh = q.shape.at(-1);
    const dv = v.shape.at(-1);
    const m = node.inputs[3];
    if (typeof dh !== 'number' || typeof dv !== 'number') return undefined;
    const spec: Spec = {
      dh,
      dv,
      mask: m === undefined ? 'none' : p.graph.typeOf(m).dtype === 'bool' ? 'bool' : 'additive',
      causal: a.causal !== 'none',
      softcap: a.softcap,
      fill: a.mask_fill,
      zeroRows: a.masked_rows === 'zero',
      byMask: a.masked_rows === 'mask',
    };
    const name = `attn_${p.id}`;
    emitAttention(p.module, name, spec, p.micro, p.vexp, p.vexp2);
    return { name, spec } satisfies Prepared;
  },
  bind(a, ctx, prepared) {
    if (prepared === undefined) return undefined;
    const { name, spec } = prepared as Prepared;
    const g = attentionGeometry(ctx.inShapes, ctx.outShapes[0]!, a as AttentionAttrs);
    const fn = ctx.fn(name);
    const heads = g.nLead * g.Hq;
    // Enough tasks to balance the threads: chunks of rows, each at least one block.
    // Causal rows differ in work (row i sees i + 1 keys): more, smaller chunks balance them.
    const want = (spec.causal ? 16 : 4) * ctx.threads;
    const chunks = Math.max(1, Math.min(Math.ceil(g.T / BR), Math.ceil(want / Math.max(1, heads))));
    const chunkRows = Math.ceil(Math.ceil(g.T / chunks) / BR) * BR;
    const { splits, splitKeys } = keySplits(heads, g.T, g.S);
    const per = scratchBytes(spec);
    const scratch = ctx.alloc(per * ctx.threads);
    const args = ctx.alloc(W.words * 4);
    const part = splits > 1 ? ctx.alloc(heads * g.T * splits * partFloats(g.dv) * 4) : 0;
    const flags = spec.zeroRows || spec.byMask ? ctx.alloc(heads * g.T * 4) : 0;
    const elem = spec.mask === 'bool' ? 1 : 4;
    const leadTable = ctx.alloc(4 * Math.max(1, g.nLead));
    const lastBad = new Int32Array(g.dv);
    const weights = new Float64Array(splits);
    return (r) => {
      if (heads === 0 || g.T === 0 || g.dv === 0) return;
      const w = args >> 2;
      const set = (k: number, x: number) => (r.i32[w + k] = x);
      set(W.T, g.T);
      set(W.S, g.S);
      set(W.Hq, g.Hq);
      set(W.group, g.group);
      set(W.chunks, chunks);
      set(W.chunkRows, chunkRows);
      const strides = (k: number, base: number, st: readonly number[]) => {
        set(k, base);
        st.forEach((x, i) => set(k + 1 + i, 4 * x));
      };
      strides(W.q, r.ins[0]!, g.q);
      strides(W.k, r.ins[1]!, g.k);
      strides(W.v, r.ins[2]!, g.v);
      strides(W.o, r.outs[0]!, g.o);
      if (g.mask) {
        set(W.mask, r.ins[3]!);
        set(W.maskLead, leadTable);
        for (let l = 0; l < g.nLead; l++) r.i32[(leadTable >> 2) + l] = maskLeadOffset(g, l) * elem;
        set(W.mH, g.mask.h * elem);
        set(W.mT, g.mask.t * elem);
        set(W.mS, g.mask.s * elem);
      }
      set(W.offset, g.causalOffset ?? 0);
      set(W.scratch, scratch);
      set(W.scratchPerThread, per);
      set(W.splits, splits);
      set(W.splitKeys, splitKeys);
      set(W.part, part);
      set(W.flags, flags);
      r.f32[w + W.scale] = g.scale;
      if (g.S === 0) {
        // An empty softmax·v is an empty sum: 0 (masked_rows=zero gives 0 too).
        for (let l = 0; l < g.nLead; l++)
          for (let h = 0; h < g.Hq; h++)
            for (let i = 0; i < g.T; i++) {
              const o = (r.outs[0]! >> 2) + l * g.o[0] + h * g.o[1] + i * g.o[2];
              r.f32.fill(0, o, o + g.dv);
            }
        return;
      }
      r.parallel(fn, heads * chunks * splits, args);
      if (splits > 1) combineSplits(r, g, spec, weights, part, flags);
      if (spec.causal || spec.byMask) fixKeysNotVisited(r, g, spec, lastBad, flags);
    };
  },
};

/**
 * Key splits (split-K) for short queries: when heads × row blocks are too few to keep
 * threads busy over a long key axis, each row's keys are cut into splits computed as
 * separate tasks and combined after. Chosen from the shapes alone (never the thread
 * count), so that every thread count gives the same result to the bit.
 */
export function keySplits(
  heads: number,
  T: number,
  S: number,
): { splits: number; splitKeys: number } {
  const units = heads * Math.ceil(T / BR);
  if (units >= 16 || S < 4 * BC) return { splits: 1, splitKeys: Math.max(1, S) };
  const want = Math.min(Math.ceil(16 / units), Math.floor(S / (2 * BC)));
  const splitKeys = Math.ceil(Math.ceil(S / want) / BC) * BC;
  return { splits: Math.ceil(S / splitKeys), splitKeys };
}

/**
 * Combine the key splits of every row (in float64): m = max mᵢ, weights wᵢ = e^(mᵢ − m),
 * out = Σ accᵢ·wᵢ / Σ lᵢ·wᵢ — the online softmax's own rescaling, across splits. A split
 * that saw only -inf scores has weight 0 (its acc, Σ 0·v, still carries a NaN of v); a row
 * empty by masked_rows (zero: m = -inf; mask: no split saw a visible key) is 0 and flagged.
 */
function combineSplits(
  r: WasmRun,
  g: ReturnType<typeof attentionGeometry>,
  spec: Spec,
  /** One weight per split (its length is the number of splits), reused across runs. */
  wts: Float64Array,
  part: number,
  flags: number,
) {
  const splits = wts.length;
  const rec = partFloats(g.dv);
  for (let hh = 0; hh < g.nLead * g.Hq; hh++) {
    const [l, h] = [Math.floor(hh / g.Hq), hh % g.Hq];
    for (let i = 0; i < g.T; i++) {
      const base = (part >> 2) + (hh * g.T + i) * splits * rec;
      let m = -Infinity;
      let open = false;
      for (let k = 0; k < splits; k++) {
        const mk = r.f32[base + k * rec]!;
        if (Number.isNaN(mk) || Number.isNaN(m)) m = NaN;
        else if (mk > m) m = mk;
        open ||= r.f32[base + k * rec + 2] !== 0;
      }
      const empty = spec.byMask ? !open : spec.zeroRows && m === -Infinity;
      if (flags) r.i32[(flags >> 2) + hh * g.T + i] = empty ? 1 : 0;
      const o = (r.outs[0]! >> 2) + l * g.o[0] + h * g.o[1] + i * g.o[2];
      if (empty) {
        r.f32.fill(0, o, o + g.dv);
        continue;
      }
      const mUse = m === -Infinity ? 0 : m;
      let sum = 0;
      for (let k = 0; k < splits; k++) {
        wts[k] = Math.exp(r.f32[base + k * rec]! - mUse);
        sum += r.f32[base + k * rec + 1]! * wts[k]!;
      }
      for (let c = 0; c < g.dv; c++) {
        let acc = 0;
        for (let k = 0; k < splits; k++) acc += r.f32[base + k * rec + 3 + c]! * wts[k]!;
        r.f32[o + c] = acc / sum;
      }
    }
  }
}

/** Whether a row of kv head hk's query heads (in lead l) was flagged empty. */
function someFlagged(
  r: WasmRun,
  g: ReturnType<typeof attentionGeometry>,
  flags: number,
  l: number,
  hk: number,
): boolean {
  if (flags === 0) return false;
  const at = (flags >> 2) + (l * g.Hq + hk * g.group) * g.T;
  for (let i = 0; i < g.group * g.T; i++) if (r.i32[at + i] !== 0) return true;
  return false;
}

/**
 * Keys the kernel never visits still multiply their v row by 0 in the unfused graph: a
 * non-finite v there makes the output column NaN. Under a causal mask a row stops early
 * (NaN where the last key holding a non-finite value in a column lies past the row's end);
 * a row empty by masked_rows=mask is Σ 0·v over every key (NaN in any column of v with a
 * non-finite value). Rows empty by masked_rows=zero stay 0. Scans v per kv head — and only
 * for a head with a row to fix: without a causal mask, a flagged one (a decoding step's
 * masked attention would otherwise scan the whole cache every step).
 */
function fixKeysNotVisited(
  r: WasmRun,
  g: ReturnType<typeof attentionGeometry>,
  spec: Spec,
  lastBad: Int32Array,
  flags: number,
) {
  const off = g.causalOffset ?? 0;
  const vb = r.ins[2]! >> 2;
  const ob = r.outs[0]! >> 2;
  for (let l = 0; l < g.nLead; l++)
    for (let hk = 0; hk < g.Hkv; hk++) {
      if (!spec.causal && !someFlagged(r, g, flags, l, hk)) continue;
      lastBad.fill(-1);
      let any = false;
      for (let j = 0; j < g.S; j++) {
        const row = vb + l * g.v[0] + hk * g.v[1] + j * g.v[2];
        for (let c = 0; c < g.dv; c++)
          if (!Number.isFinite(r.f32[row + c]!)) {
            lastBad[c] = j;
            any = true;
          }
      }
      if (!any) continue;
      for (let h = hk * g.group; h < (hk + 1) * g.group; h++)
        for (let i = 0; i < g.T; i++) {
          const flagged = flags !== 0 && r.i32[(flags >> 2) + (l * g.Hq + h) * g.T + i] !== 0;
          if (flagged && spec.zeroRows) continue;
          // Empty by mask: every key counts; else the keys past the row's causal end.
          const end = flagged || !spec.causal ? 0 : Math.min(g.S, Math.max(0, i + off + 1));
          if (!flagged && !spec.causal) continue;
          const o = ob + l * g.o[0] + h * g.o[1] + i * g.o[2];
          for (let c = 0; c < g.dv; c++) if (lastBad[c]! >= end) r.f32[o + c] = NaN;
        }
    }
}
