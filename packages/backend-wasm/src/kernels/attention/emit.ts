import type { Code, Local, ModuleBuilder } from '@glimpse/asm';
import type { Attn } from './context.js';
import { argReader } from '../args.js';
import { queryBlock } from './block.js';
import type { Operand, Spec } from './spec.js';
import { ATTN, BC, BR, up8 } from './spec.js';

/**
 * Flash attention in f32x4, generated per node (head sizes, mask kind, causal, softcap as
 * constants). A task is one head's chunk of query rows; for each block of 8 rows, Q is
 * packed once (dh × 8) and the scores of a tile of keys are computed transposed — Sᵀ[key][row]
 * = K·Qᵀ, K read in place — so the online softmax runs across the 8 rows in two vectors:
 * the running max, the sum and the rescale factor of each row are vector lanes, the
 * weights are 2^((s − max)·log2 e) by `vexp2`. P·V accumulates into 8 rows × dv with V read
 * in place. Semantics as the op's (the JS kernel's): a NaN score makes its row NaN; masked
 * keys still multiply their v by 0; a row whose scores are all -inf is NaN, or 0 with
 * masked_rows=zero; keys a causal block never visits are covered by the caller's scan of v
 * for non-finite values. With masked_rows=mask the lanes of rows that saw a visible key are
 * tracked; a row without one is 0 and flagged for that scan. With key splits a task covers
 * one split of the keys and leaves its rows' partial results for the caller to combine.
 *
 * The phases: `taskGeometry` (here), then per block of rows `queryBlock` (block.ts: pack Q,
 * start the running softmax, the block's keys, finish its rows) and per tile of keys
 * `keyTile` (tile.ts: Q·Kᵀ, mask the scores, online softmax update, P·V).
 */
export function emitAttention(
  m: ModuleBuilder,
  name: string,
  s: Spec,
  micro: number[][],
  vexp: number,
  vexp2: number,
): void {
  m.func(name, ['i32', 'i32', 'i32'], [], (c) => {
    const a = attnLocals(c, s, micro, vexp, vexp2);
    taskGeometry(a);
    c.for(
      a.i0,
      (c) => c.get(a.r0),
      (c) => c.get(a.r1),
      BR,
      () => queryBlock(a),
    );
  });
}

/**
 * The context, its locals made in one fixed order (an object literal's initialisers run in
 * order): their indices are in the code, so the order is part of the module's bytes.
 */
function attnLocals(c: Code, s: Spec, micro: number[][], vexp: number, vexp2: number): Attn {
  const [task, args, thread] = [c.param(0), c.param(1), c.param(2)];
  const i32 = () => c.local('i32');
  const v128 = () => c.local('v128');
  return {
    c,
    s,
    arg: argReader(c, args),
    args,
    micro,
    vexp,
    vexp2,
    accRow: up8(s.dv) * 4,
    task,
    thread,
    hh: i32(),
    l: i32(),
    h: i32(),
    hk: i32(),
    r0: i32(),
    r1: i32(),
    i0: i32(),
    nrows: i32(),
    jEnd: i32(),
    j0: i32(),
    bc: i32(),
    jj: i32(),
    mr: i32(),
    t: i32(),
    cc: i32(),
    nr: i32(),
    qb: i32(),
    kb: i32(),
    vb: i32(),
    ob: i32(),
    mb: i32(),
    qp: i32(),
    st: i32(),
    acc: i32(),
    T: i32(),
    S: i32(),
    sp: i32(),
    tk: i32(),
    ks0: i32(),
    empty: i32(),
    rec: i32(),
    ms: [v128(), v128()],
    ll: [v128(), v128()],
    tm: [v128(), v128()],
    al: [v128(), v128()],
    v0: v128(),
    v1: v128(),
    ps: [v128(), v128()],
    scale: v128(),
    vis: v128(),
    open: [v128(), v128()],
    rowIdx: [v128(), v128()],
  };
}

/**
 * Task → (split sp, lead l, head h, kv head hk, rows [r0, r1)), then the bases of this
 * head's operands and this thread's scratch. Tasks are numbered split-fastest, then chunk,
 * then head.
 */
function taskGeometry(a: Attn): void {
  const { c, s, arg, task, thread, sp, tk, hh, l, h, hk, r0, r1, T } = a;
  arg(ATTN.T).set(T);
  arg(ATTN.S).set(a.S);
  c.get(a.args)
    .v128.load32_splat(4 * ATTN.scale)
    .set(a.scale);
  c.get(task);
  arg(ATTN.splits);
  c.i32.rem_u().set(sp);
  c.get(task);
  arg(ATTN.splits);
  c.i32.div_u().set(tk);
  c.get(tk);
  arg(ATTN.chunks);
  c.i32.div_u().set(hh);
  c.get(hh);
  arg(ATTN.Hq);
  c.i32.div_u().set(l);
  c.get(hh);
  arg(ATTN.Hq);
  c.i32.rem_u().set(h);
  c.get(h);
  arg(ATTN.group);
  c.i32.div_u().set(hk);
  c.get(tk);
  arg(ATTN.chunks);
  c.i32.rem_u();
  if (s.causal) {
    // Under a causal mask the last chunks hold the most keys: they are claimed first.
    c.set(r0);
    arg(ATTN.chunks);
    c.i32.const(1).i32.sub().get(r0).i32.sub();
  }
  arg(ATTN.chunkRows);
  c.i32.mul().set(r0);
  c.get(r0);
  arg(ATTN.chunkRows);
  c.i32.add().set(r1);
  c.atMost(r1, (c) => c.get(T));
  // base + l·lead + head·head stride, for q and o by query head, k and v by kv head.
  const base = (p: Operand, head: Local, out: Local) => {
    arg(ATTN[p]);
    c.get(l);
    arg(ATTN[`${p}Lead`]);
    c.i32.mul().i32.add();
    c.get(head);
    arg(ATTN[`${p}Head`]);
    c.i32.mul().i32.add().set(out);
  };
  base('q', h, a.qb);
  base('k', hk, a.kb);
  base('v', hk, a.vb);
  base('o', h, a.ob);
  if (s.mask !== 'none') {
    arg(ATTN.mask);
    arg(ATTN.maskLead);
    c.get(l).i32.const(4).i32.mul().i32.add().i32.load().i32.add();
    c.get(h);
    arg(ATTN.mH);
    c.i32.mul().i32.add().set(a.mb);
  }
  // This thread's scratch: packed Q, the tile, the accumulator.
  arg(ATTN.scratch).get(thread);
  arg(ATTN.scratchPerThread);
  c.i32.mul().i32.add().set(a.qp);
  c.get(a.qp)
    .i32.const(s.dh * 32)
    .i32.add()
    .set(a.st);
  c.get(a.st)
    .i32.const(BC * 32)
    .i32.add()
    .set(a.acc);
}
