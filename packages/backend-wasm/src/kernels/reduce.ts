import type { Code, Local, ModuleBuilder } from '@glimpse/asm';
import type { AttrsOf } from '@glimpse/ir';
import { numel, reduceAxes } from '@glimpse/ir';
import { storageOf } from '@glimpse/runtime';
import {
  argLayout,
  argReader,
  forTaskRows,
  horizontal,
  overRow,
  storeLanes,
  TASK_ROWS,
  writeArgs,
} from './args.js';
import type { WasmKernel } from './types.js';

/**
 * reduce_sum, reduce_mean and reduce_max over axes that collapse to [outer, reduced, inner]
 * (any other set of axes takes the CPU kernel), in f32. Over the last axis (inner = 1) a
 * row is reduced four lanes at a time, then across the lanes; otherwise four inner elements
 * are reduced at once down the reduced axis, in the reference's order. max combines as the
 * reference does (x > acc or x is NaN: NaN wins), and a row's max of zero is recomputed in
 * order, so that its sign is the one the reference's first-wins rule gives.
 */
type Kind = 'sum' | 'max';

/**
 * Words of a reduction of x [rows, red, inner] into y: `rows` is the outer extent (the row
 * kernel splits it with `forTaskRows`; the column kernel numbers its tasks itself), `mean`
 * 1 divides by red.
 */
const R = argLayout([...TASK_ROWS, 'red', 'inner', 'x', 'y', 'mean']);

/** acc := combine(acc, x) on f32 scalars. */
function combine1(c: Code, kind: Kind, acc: Local, x: Local) {
  if (kind === 'sum') c.get(acc).get(x).f32.add().set(acc);
  else c.get(x).get(acc).get(x).get(acc).f32.gt().get(x).get(x).f32.ne().i32.or().select().set(acc);
}

/** acc := combine(acc, x) on f32x4 lanes. */
function combine4(c: Code, kind: Kind, acc: Local, x: Local) {
  if (kind === 'sum') c.get(acc).get(x).f32x4.add().set(acc);
  else
    c.get(x)
      .get(acc)
      .get(x)
      .get(acc)
      .f32x4.gt()
      .get(x)
      .get(x)
      .f32x4.ne()
      .v128.or()
      .v128.bitselect()
      .set(acc);
}

const init = (kind: Kind) => (kind === 'sum' ? 0 : -Infinity);

/** reduce_rows_{kind}(task, args): rows of `red` contiguous floats to one each. */
function rowsTask(m: ModuleBuilder, kind: Kind) {
  m.func(`reduce_rows_${kind}`, ['i32', 'i32', 'i32'], [], (c) => {
    const [task, args] = [c.param(0), c.param(1)];
    const arg = argReader(c, args);
    const [r, r1, n, i, xb] = [0, 0, 0, 0, 0].map(() => c.local('i32')) as Local[];
    const [acc, v] = [c.local('v128'), c.local('v128')];
    const [s, t] = [c.local('f32'), c.local('f32')];
    arg(R.red).set(n!);
    forTaskRows(c, task, arg, r!, r1!, (c) => {
      arg(R.x).get(r!).get(n!).i32.mul().i32.const(4).i32.mul().i32.add().set(xb!);
      c.f32x4.splatConst(init(kind)).set(acc);
      c.f32.const(init(kind)).set(s);
      overRow(
        c,
        xb!,
        n!,
        i!,
        (at) => {
          at();
          c.v128.load(0, 0).set(v);
          combine4(c, kind, acc, v);
        },
        (at) => {
          at();
          c.f32.load().set(t);
          combine1(c, kind, s, t);
        },
      );
      // Lanes in order, then the tail.
      horizontal(c, acc, (c) => {
        const [a, x] = [c.local('f32'), c.local('f32')];
        c.set(x).set(a);
        combine1(c, kind, a, x);
        c.get(a);
      });
      c.set(t);
      combine1(c, kind, t, s);
      if (kind === 'max')
        // A max of ±0: in order, for the sign the first zero gives.
        c.get(t)
          .f32.const(0)
          .f32.eq()
          .if((c) => {
            c.f32.const(-Infinity).set(t);
            c.for(
              i!,
              (c) => c.i32.const(0),
              (c) => c.get(n!),
              1,
              (c) => {
                c.get(xb!).get(i!).i32.const(4).i32.mul().i32.add().f32.load().set(s);
                combine1(c, kind, t, s);
              },
            );
          });
      arg(R.mean).if((c) => c.get(t).get(n!).f32.convert_i32_s().f32.div().set(t));
      arg(R.y).get(r!).i32.const(4).i32.mul().i32.add();
      c.get(t);
      c.f32.store();
    });
  });
}

/** Columns per task of a reduction down an axis with inner elements. */
const COLS = 64;

/** reduce_cols_{kind}(task, args): y[o, i] = reduce over r of x[o, r, i], four i at once. */
function colsTask(m: ModuleBuilder, kind: Kind) {
  m.func(`reduce_cols_${kind}`, ['i32', 'i32', 'i32'], [], (c) => {
    const [task, args] = [c.param(0), c.param(1)];
    const arg = argReader(c, args);
    const [o, i, i1, r, inner, cpr] = Array.from({ length: 6 }, () => c.local('i32')) as Local[];
    const [acc, v] = [c.local('v128'), c.local('v128')];
    arg(R.inner).set(inner!);
    c.get(inner!)
      .i32.const(COLS - 1)
      .i32.add()
      .i32.const(COLS)
      .i32.div_u()
      .set(cpr!);
    c.get(task).get(cpr!).i32.div_u().set(o!);
    c.get(task).get(cpr!).i32.rem_u().i32.const(COLS).i32.mul().set(i!);
    c.get(i!).i32.const(COLS).i32.add().set(i1!);
    c.atMost(i1!, (c) => c.get(inner!));
    c.for(
      i!,
      (c) => c.get(i!),
      (c) => c.get(i1!),
      4,
      (c) => {
        c.f32x4.splatConst(init(kind)).set(acc);
        c.for(
          r!,
          (c) => c.i32.const(0),
          () => arg(R.red),
          1,
          (c) => {
            // x + ((o·red + r)·inner + i)·4
            c.get(o!);
            arg(R.red);
            c.i32.mul().get(r!).i32.add().get(inner!).i32.mul().get(i!).i32.add();
            c.i32.const(4).i32.mul();
            arg(R.x);
            c.i32.add().v128.load(0, 0).set(v);
            combine4(c, kind, acc, v);
          },
        );
        arg(R.mean).if((c) => {
          c.get(acc);
          arg(R.red);
          c.f32.convert_i32_s().f32x4.splat().f32x4.div().set(acc);
        });
        storeLanes(
          c,
          () => {
            arg(R.y)
              .get(o!)
              .get(inner!)
              .i32.mul()
              .get(i!)
              .i32.add()
              .i32.const(4)
              .i32.mul()
              .i32.add();
          },
          acc,
          i!,
          i1!,
        );
      },
    );
  });
}

/** The reduction functions every module has. */
export function reduceTasks(m: ModuleBuilder): void {
  for (const kind of ['sum', 'max'] as const) {
    rowsTask(m, kind);
    colsTask(m, kind);
  }
}

/** [outer, reduced, inner] of a reduction, or undefined when its axes do not collapse so. */
export function reduceShape(
  shape: readonly number[],
  axes: readonly number[],
): { outer: number; red: number; inner: number } | undefined {
  const runs: { red: boolean; n: number }[] = [];
  shape.forEach((d, a) => {
    if (d === 1) return;
    const red = axes.includes(a);
    const last = runs.at(-1);
    if (last && last.red === red) last.n *= d;
    else runs.push({ red, n: d });
  });
  const kinds = runs.map((r) => (r.red ? 'R' : 'K')).join('');
  const n = (i: number) => runs[i]!.n;
  switch (kinds) {
    case '':
      return { outer: 1, red: 1, inner: 1 };
    case 'R':
      return { outer: 1, red: n(0), inner: 1 };
    case 'K':
      return { outer: n(0), red: 1, inner: 1 };
    case 'KR':
      return { outer: n(0), red: n(1), inner: 1 };
    case 'RK':
      return { outer: 1, red: n(0), inner: n(1) };
    case 'KRK':
      return { outer: n(0), red: n(1), inner: n(2) };
    default:
      return undefined;
  }
}

function reduceKernel<K extends 'reduce_sum' | 'reduce_mean' | 'reduce_max'>(
  kind: Kind,
  mean: boolean,
): WasmKernel<K> {
  return {
    bind(a, ctx) {
      const s = ctx.inShapes[0]!;
      // The three reductions share their attributes (ReduceAttrs).
      const { axes } = a as AttrsOf<'reduce_sum'>;
      const geo = reduceShape(s, reduceAxes([{ dtype: 'f32', shape: s }], axes));
      // Integer sums run on the CPU kernel (the SIMD code is f32; f16 is held as f32).
      if (geo === undefined || storageOf(ctx.inTypes[0]!) !== 'f32') return undefined;
      const { outer, red, inner } = geo;
      const rows = inner === 1;
      const perTask = Math.max(1, Math.ceil(8192 / Math.max(1, red)));
      const tasks = rows ? Math.ceil(outer / perTask) : outer * Math.ceil(inner / COLS);
      const fn = ctx.fn(`reduce_${rows ? 'rows' : 'cols'}_${kind}`);
      const args = ctx.alloc(4 * R.words);
      return (r) => {
        if (numel(ctx.outShapes[0]!) === 0) return;
        writeArgs(r, args, R, {
          rows: outer,
          red,
          inner,
          x: r.ins[0]!,
          y: r.outs[0]!,
          perTask,
          mean: mean ? 1 : 0,
        });
        r.parallel(fn, tasks, args);
      };
    },
  };
}

export const reduce_sum = reduceKernel<'reduce_sum'>('sum', false);
export const reduce_mean = reduceKernel<'reduce_mean'>('sum', true);
export const reduce_max = reduceKernel<'reduce_max'>('max', false);
