import type { Code, Local, ModuleBuilder } from '@glimpse/asm';
import { normAxis, numel } from '@glimpse/ir';
import {
  argLayout,
  argReader,
  forTaskRows,
  horizontal,
  overRow,
  rowAddress,
  TASK_ROWS,
  writeArgs,
} from './args.js';
import type { WasmKernel } from './types.js';

/** Rows per task: enough work per claim to keep the counter off the hot path. */
const rowsPerTask = (rows: number, n: number, threads: number) =>
  Math.max(1, Math.ceil(rows / (8 * threads)), Math.ceil(4096 / Math.max(1, n)));

/** Words of softmax_rows: rows of n floats from x to y. */
const SOFTMAX = argLayout([...TASK_ROWS, 'n', 'x', 'y']);

/**
 * Words of layernorm_rows: softmax's, then the weight and bias (0: none), eps (an f32) and
 * `centre` (0: rms_norm, the mean taken as 0).
 */
const NORM = argLayout([...SOFTMAX.fields, 'w', 'b', ['eps', 'f32'], 'centre']);

/**
 * softmax_rows(task, args) over the last axis: max (NaN-propagating), e^(x − max) by vexp
 * stored in y and summed in f32, then y·(1/sum). As the formula: a NaN makes its row NaN,
 * a row of only -inf is NaN. args: SOFTMAX.
 */
function emitSoftmax(m: ModuleBuilder, vexp: number): number {
  return m.func('softmax_rows', ['i32', 'i32', 'i32'], [], (c) => {
    const task = c.param(0),
      args = c.param(1);
    const arg = argReader(c, args);
    const r = c.local('i32'),
      r1 = c.local('i32'),
      n = c.local('i32'),
      i = c.local('i32'),
      xb = c.local('i32'),
      yb = c.local('i32');
    const vm = c.local('v128'),
      vs = c.local('v128'),
      e = c.local('v128');
    const sm = c.local('f32'),
      ss = c.local('f32');
    arg(SOFTMAX.n).set(n);
    forTaskRows(c, task, arg, r, r1, (c) => {
      rowAddress(c, arg, SOFTMAX.x, r, () => c.get(n));
      c.set(xb);
      rowAddress(c, arg, SOFTMAX.y, r, () => c.get(n));
      c.set(yb);
      c.f32x4.splatConst(-Infinity).set(vm);
      c.f32.const(-Infinity).set(sm);
      overRow(
        c,
        xb,
        n,
        i,
        (at) => {
          c.get(vm);
          at();
          c.v128.load(0, 0).f32x4.max().set(vm);
        },
        (at) => {
          c.get(sm);
          at();
          c.f32.load().f32.max().set(sm);
        },
      );
      horizontal(c, vm, (c) => c.f32.max());
      c.get(sm).f32.max().set(sm);
      c.get(sm).f32x4.splat().set(vm);
      c.f32x4.splatConst(0).set(vs);
      c.f32.const(0).set(ss);
      const yAt = () => c.get(yb).get(i).i32.const(4).i32.mul().i32.add();
      overRow(
        c,
        xb,
        n,
        i,
        (at) => {
          yAt();
          at();
          c.v128.load(0, 0).get(vm).f32x4.sub().call(vexp).tee(e).v128.store(0, 0);
          c.get(vs).get(e).f32x4.add().set(vs);
        },
        (at) => {
          yAt();
          at();
          c.f32.load().f32x4.splat().get(vm).f32x4.sub().call(vexp).f32x4.extract_lane(0);
          c.f32.store();
          yAt();
          c.f32.load().get(ss).f32.add().set(ss);
        },
      );
      horizontal(c, vs, (c) => c.f32.add());
      c.get(ss).f32.add().set(ss);
      c.f32.const(1).get(ss).f32.div().set(ss);
      c.get(ss).f32x4.splat().set(vs);
      overRow(
        c,
        yb,
        n,
        i,
        (at) => {
          at();
          at();
          c.v128.load(0, 0).get(vs).f32x4.mul().v128.store(0, 0);
        },
        (at) => {
          at();
          at();
          c.f32.load().get(ss).f32.mul().f32.store();
        },
      );
    });
  });
}

/**
 * layernorm_rows(task, args): mean and biased variance of each row in f32 (four-lane partial
 * sums), then (x − mean)·(1/√(var + eps))·w + b. args: NORM.
 */
function emitLayerNorm(m: ModuleBuilder): number {
  return m.func('layernorm_rows', ['i32', 'i32', 'i32'], [], (c) => {
    const task = c.param(0),
      args = c.param(1);
    const arg = argReader(c, args);
    const r = c.local('i32'),
      r1 = c.local('i32'),
      n = c.local('i32'),
      i = c.local('i32'),
      xb = c.local('i32'),
      yb = c.local('i32'),
      wb = c.local('i32'),
      bb = c.local('i32');
    const va = c.local('v128'),
      vmean = c.local('v128'),
      vr = c.local('v128'),
      d = c.local('v128');
    const sa = c.local('f32'),
      mean = c.local('f32'),
      rstd = c.local('f32'),
      sd = c.local('f32');
    arg(NORM.n).set(n);
    arg(NORM.w).set(wb);
    arg(NORM.b).set(bb);
    forTaskRows(c, task, arg, r, r1, (c) => {
      rowAddress(c, arg, NORM.x, r, () => c.get(n));
      c.set(xb);
      rowAddress(c, arg, NORM.y, r, () => c.get(n));
      c.set(yb);
      const k: NormRow = {
        c,
        arg,
        args,
        n,
        i,
        xb,
        yb,
        wb,
        bb,
        va,
        vmean,
        vr,
        d,
        sa,
        mean,
        rstd,
        sd,
      };
      rowMean(k);
      rowInverseStd(k);
      normaliseRow(k);
    });
  });
}

/** What the phases of layernorm_rows share: the code, its reader, the locals of a row. */
interface NormRow {
  readonly c: Code;
  readonly arg: (w: number) => Code;
  readonly args: Local;
  /** Row length, element index, the row's x and y, the weight and bias (0: none). */
  readonly n: Local;
  readonly i: Local;
  readonly xb: Local;
  readonly yb: Local;
  readonly wb: Local;
  readonly bb: Local;
  /** Partial sums (four lanes, then the tail's scalar), the mean, 1/√(var + eps). */
  readonly va: Local;
  readonly sa: Local;
  readonly vmean: Local;
  readonly mean: Local;
  readonly vr: Local;
  readonly rstd: Local;
  /** A centred element: vector and scalar. */
  readonly d: Local;
  readonly sd: Local;
}

/** The row's mean (f32, four-lane partial sums, then across) — 0 for rms_norm. */
function rowMean(k: NormRow): void {
  const { c, arg, n, i, xb, va, sa, mean, vmean } = k;
  const nf = () => c.get(n).f32.convert_i32_s();
  c.f32x4.splatConst(0).set(va);
  c.f32.const(0).set(sa);
  overRow(
    c,
    xb,
    n,
    i,
    (at) => {
      c.get(va);
      at();
      c.v128.load(0, 0).f32x4.add().set(va);
    },
    (at) => {
      c.get(sa);
      at();
      c.f32.load().f32.add().set(sa);
    },
  );
  horizontal(c, va, (c) => c.f32.add());
  c.get(sa).f32.add();
  nf();
  c.f32.div().set(mean);
  // rms_norm: no centring (x − 0 is x, −0 and NaN included).
  c.get(mean).f32.const(0);
  arg(NORM.centre);
  c.select().set(mean);
  c.get(mean).f32x4.splat().set(vmean);
}

/** 1/√(var + eps): the biased variance about the mean, summed as the mean is. */
function rowInverseStd(k: NormRow): void {
  const { c, args, n, i, xb, va, sa, mean, vmean, d, sd, rstd, vr } = k;
  const nf = () => c.get(n).f32.convert_i32_s();
  c.f32x4.splatConst(0).set(va);
  c.f32.const(0).set(sa);
  overRow(
    c,
    xb,
    n,
    i,
    (at) => {
      at();
      c.v128
        .load(0, 0)
        .get(vmean)
        .f32x4.sub()
        .tee(d)
        .get(d)
        .f32x4.mul()
        .get(va)
        .f32x4.add()
        .set(va);
    },
    (at) => {
      at();
      c.f32.load().get(mean).f32.sub().tee(sd).get(sd).f32.mul().get(sa).f32.add().set(sa);
    },
  );
  horizontal(c, va, (c) => c.f32.add());
  c.get(sa).f32.add();
  nf();
  c.f32.div();
  c.get(args)
    .f32.load(4 * NORM.eps)
    .f32.add()
    .f32.sqrt()
    .set(rstd);
  c.f32.const(1).get(rstd).f32.div().set(rstd);
  c.get(rstd).f32x4.splat().set(vr);
}

/** y = (x − mean)·(1/√(var + eps))·w + b, w and b where given. */
function normaliseRow(k: NormRow): void {
  const { c, n, i, xb, yb, wb, bb, vmean, vr, d, mean, rstd, sd } = k;
  const yAt = () => c.get(yb).get(i).i32.const(4).i32.mul().i32.add();
  const pAt = (p: Local) => c.get(p).get(i).i32.const(4).i32.mul().i32.add();
  overRow(
    c,
    xb,
    n,
    i,
    (at) => {
      at();
      c.v128.load(0, 0).get(vmean).f32x4.sub().get(vr).f32x4.mul().set(d);
      c.get(wb).if((c) => {
        c.get(d);
        pAt(wb);
        c.v128.load(0, 0).f32x4.mul().set(d);
      });
      c.get(bb).if((c) => {
        c.get(d);
        pAt(bb);
        c.v128.load(0, 0).f32x4.add().set(d);
      });
      yAt();
      c.get(d).v128.store(0, 0);
    },
    (at) => {
      at();
      c.f32.load().get(mean).f32.sub().get(rstd).f32.mul().set(sd);
      c.get(wb).if((c) => {
        c.get(sd);
        pAt(wb);
        c.f32.load().f32.mul().set(sd);
      });
      c.get(bb).if((c) => {
        c.get(sd);
        pAt(bb);
        c.f32.load().f32.add().set(sd);
      });
      yAt();
      c.get(sd).f32.store();
    },
  );
}

/** The row kernels, added once per module. */
export function rowKernels(m: ModuleBuilder, vexp: number): { softmax: number; layerNorm: number } {
  return { softmax: emitSoftmax(m, vexp), layerNorm: emitLayerNorm(m) };
}

/** softmax over the last axis (other axes: the CPU kernel). */
export const softmax: WasmKernel<'softmax'> = {
  bind(a, ctx) {
    const s = ctx.inShapes[0]!;
    if (normAxis(a.axis, s.length) !== s.length - 1 || ctx.inTypes[0] === 'bool') return undefined;
    const n = s.at(-1) ?? 1;
    const rows = n === 0 ? 0 : numel(s) / n;
    const perTask = rowsPerTask(rows, n, ctx.threads);
    const args = ctx.alloc(4 * SOFTMAX.words);
    const fn = ctx.fn('softmax_rows');
    return (r) => {
      if (rows === 0) return;
      writeArgs(r, args, SOFTMAX, { perTask, rows, n, x: r.ins[0]!, y: r.outs[0]! });
      r.parallel(fn, Math.ceil(rows / perTask), args);
    };
  },
};

/** layer_norm (`centre`) and rms_norm over their trailing axes (one contiguous row each). */
const norm = <K extends 'layer_norm' | 'rms_norm'>(centre: boolean): WasmKernel<K> => ({
  bind(attrs, ctx) {
    const a = attrs as { axis: number; eps: number };
    const s = ctx.inShapes[0]!;
    const n = numel(s.slice(normAxis(a.axis, s.length)));
    const rows = n === 0 ? 0 : numel(s) / n;
    const perTask = rowsPerTask(rows, n, ctx.threads);
    const args = ctx.alloc(4 * NORM.words);
    const fn = ctx.fn('layernorm_rows');
    return (r) => {
      if (rows === 0) return;
      writeArgs(r, args, NORM, {
        perTask,
        rows,
        n,
        x: r.ins[0]!,
        y: r.outs[0]!,
        w: r.ins[1] ?? 0,
        b: r.ins[2] ?? 0,
        eps: a.eps,
        centre: centre ? 1 : 0,
      });
      r.parallel(fn, Math.ceil(rows / perTask), args);
    };
  },
});
export const layer_norm = norm<'layer_norm'>(true);
export const rms_norm = norm<'rms_norm'>(false);
