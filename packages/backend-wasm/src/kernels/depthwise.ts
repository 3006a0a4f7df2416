import type { ModuleBuilder } from '@glimpse/asm';
import { checkWindowIndex } from '@glimpse/kernels-cpu';
import { argLayout, argReader, forTaskRows, TASK_ROWS, writeArgs } from './args.js';
import type { WasmKernel } from './types.js';

/**
 * Words of a depthwise task block: output rows N·P (split by `forTaskRows`), the input's
 * rows per image S, a row's bytes, window size K, the operands x, idx, w, b (0: none) and y,
 * the zero row that index −1 reads, and windows per image P.
 */
const DW = argLayout([...TASK_ROWS, 'S', 'rowBytes', 'K', 'x', 'idx', 'w', 'b', 'y', 'zero', 'P']);

/**
 * depthwise_task(task, args): output rows r = n·P + p of C floats, four channels at a time:
 * the row set to +0, then for each k in order y += x[n, idx[p, k]]·w[k] (an idx of −1 reads
 * the zero row), then y += b. The indices were checked by the host.
 */
export function depthwiseTask(m: ModuleBuilder): number {
  return m.func('depthwise_task', ['i32', 'i32', 'i32'], [], (c) => {
    const [task, args] = [c.param(0), c.param(1)];
    const arg = argReader(c, args);
    const L = () => c.local('i32');
    const [r, r1, n, p, k, i, xr, wr, yr, j, cb] = Array.from({ length: 11 }, L);
    arg(DW.rowBytes).set(cb!);
    const at = (base: typeof j) => c.get(base!).get(j!).i32.add();
    const overRow = (body: () => void) =>
      c.for(
        j!,
        (c) => c.i32.const(0),
        (c) => c.get(cb!),
        16,
        body,
      );
    forTaskRows(c, task, arg, r!, r1!, (c) => {
      c.get(r!);
      arg(DW.P);
      c.i32.div_u().set(n!);
      c.get(r!);
      arg(DW.P);
      c.i32.rem_u().set(p!);
      arg(DW.y);
      c.get(r!).get(cb!).i32.mul().i32.add().set(yr!);
      overRow(() => {
        at(yr);
        c.f32x4.splatConst(0).v128.store(0, 0);
      });
      c.for(
        k!,
        (c) => c.i32.const(0),
        (c) => arg(DW.K),
        1,
        (c) => {
          // i = idx[p·K + k]; the row it reads, or the zero row for −1.
          arg(DW.idx);
          c.get(p!);
          arg(DW.K);
          c.i32.mul().get(k!).i32.add().i32.const(4).i32.mul().i32.add().i32.load().set(i!);
          c.get(i!).i32.const(0).i32.lt_s();
          c.if(
            (c) => {
              arg(DW.zero);
              c.set(xr!);
            },
            (c) => {
              arg(DW.x);
              c.get(n!);
              arg(DW.S);
              c.i32.mul().get(i!).i32.add().get(cb!).i32.mul().i32.add().set(xr!);
            },
          );
          arg(DW.w);
          c.get(k!).get(cb!).i32.mul().i32.add().set(wr!);
          overRow(() => {
            at(yr);
            at(yr);
            c.v128.load(0, 0);
            at(xr);
            c.v128.load(0, 0);
            at(wr);
            c.v128.load(0, 0).f32x4.mul().f32x4.add().v128.store(0, 0);
          });
        },
      );
      arg(DW.b);
      c.if((c) => {
        arg(DW.b);
        c.set(wr!);
        overRow(() => {
          at(yr);
          at(yr);
          c.v128.load(0, 0);
          at(wr);
          c.v128.load(0, 0).f32x4.add().v128.store(0, 0);
        });
      });
    });
  });
}

/** depthwise with C a multiple of 4 (else the CPU kernel), split over output rows. */
export const depthwise: WasmKernel<'depthwise'> = {
  bind(_a, ctx) {
    const [N, S, C] = ctx.inShapes[0] as [number, number, number];
    const [P, K] = ctx.inShapes[1] as [number, number];
    if (C % 4 !== 0 || ctx.inTypes[0] !== 'f32') return undefined;
    const rows = N * P;
    const zero = ctx.alloc(4 * Math.max(4, C));
    const args = ctx.alloc(4 * DW.words);
    const perTask = Math.max(
      1,
      Math.ceil(rows / (8 * ctx.threads)),
      Math.ceil(2048 / Math.max(1, C * K)),
    );
    const fn = ctx.fn('depthwise_task');
    // The kernel reads the indices where they are (−1 included): they are only checked,
    // once per binding when constant (a lowered convolution's windows never change).
    const fixed = ctx.fixedOffset(ctx.node.inputs[1]!) !== undefined;
    let checked = false;
    return (r) => {
      if (rows === 0 || C === 0) return;
      if (!checked) {
        const ids = r.i32.subarray(r.ins[1]! >>> 2, (r.ins[1]! >>> 2) + P * K);
        for (let i = 0; i < P * K; i++) checkWindowIndex(ids[i]!, S, i, ctx.node);
        checked = fixed;
      }
      r.f32.fill(0, zero >>> 2, (zero >>> 2) + C);
      writeArgs(r, args, DW, {
        perTask,
        rows,
        S,
        rowBytes: 4 * C,
        K,
        x: r.ins[0]!,
        idx: r.ins[1]!,
        w: r.ins[2]!,
        b: r.ins[3] ?? 0,
        y: r.outs[0]!,
        zero,
        P,
      });
      r.parallel(fn, Math.ceil(rows / perTask), args);
    };
  },
};
