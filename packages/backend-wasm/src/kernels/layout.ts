import type { Code, Local, ModuleBuilder } from '@glimpse/asm';
import { broadcastStrides, normAxis, numel, sliceRange, stridesOf } from '@glimpse/ir';
import { checkIndex, collapse } from '@glimpse/kernels-cpu';
import type { ArgValues } from './args.js';
import {
  argLayout,
  argReader,
  forTaskRows,
  overRow,
  TASK_ROWS,
  taskRange,
  writeArgs,
} from './args.js';
import type { WasmCtx, WasmKernel, WasmRun, WasmStep } from './types.js';

/**
 * Data movement as one strided copy: transpose, expand, slice, split and concat each copy
 * an N-d region between two layouts (element strides on either side), collapsed to at most
 * RANK axes: planes (the leading axes) × rows × a row. A row that is contiguous on both
 * sides moves a vector at a time, else an element at a time; elements move as i32 bits, so
 * every value (NaN payloads, −0) arrives unchanged. Tasks are a plane's chunk of rows.
 */
const RANK = 6;

/**
 * Words of a copy: per axis (word `dims + a` for axis a) the dims and the source and
 * destination strides (bytes); the source and destination addresses; rows per task and
 * the tasks (chunks of rows) of one plane.
 */
const COPY = argLayout([
  ['dims', RANK],
  ['src', RANK],
  ['dst', RANK],
  'from',
  'to',
  'rowsPerTask',
  'chunks',
]);

/** Copy n 4-byte elements from `s` to `d` (both contiguous): vectors, then the tail. */
function copyRun(c: Code, s: Local, d: Local, n: Local, j: Local) {
  const to = () => c.get(d).get(j).i32.const(4).i32.mul().i32.add();
  overRow(
    c,
    s,
    n,
    j,
    (from) => {
      to();
      from();
      c.v128.load(0, 0).v128.store(0, 0);
    },
    (from) => {
      to();
      from();
      c.i32.load().i32.store();
    },
  );
}

/** copy_task(task, args): rows of one plane of a strided copy (COPY words). */
export function copyTask(m: ModuleBuilder): number {
  return m.func('copy_task', ['i32', 'i32', 'i32'], [], (c) => {
    const [task, args] = [c.param(0), c.param(1)];
    const arg = argReader(c, args);
    const L = () => c.local('i32');
    const [plane, s, d, r, r1, sp, dp, n, j, ss, ds] = Array.from({ length: 11 }, L);
    c.get(task);
    arg(COPY.chunks);
    c.i32.div_u().set(plane!);
    arg(COPY.from).set(s!);
    arg(COPY.to).set(d!);
    // The plane's offsets: its index over the leading axes, the last varying fastest.
    for (let a = RANK - 3; a >= 0; a--) {
      const idx = L();
      c.get(plane!);
      arg(COPY.dims + a);
      c.i32.rem_u().set(idx);
      c.get(plane!);
      arg(COPY.dims + a);
      c.i32.div_u().set(plane!);
      c.get(s!).get(idx);
      arg(COPY.src + a);
      c.i32.mul().i32.add().set(s!);
      c.get(d!).get(idx);
      arg(COPY.dst + a);
      c.i32.mul().i32.add().set(d!);
    }
    taskRange(
      c,
      () => {
        c.get(task);
        arg(COPY.chunks);
        c.i32.rem_u();
      },
      () => arg(COPY.rowsPerTask),
      () => arg(COPY.dims + RANK - 2),
      r!,
      r1!,
    );
    arg(COPY.dims + RANK - 1).set(n!);
    arg(COPY.src + RANK - 1).set(ss!);
    arg(COPY.dst + RANK - 1).set(ds!);
    c.for(
      r!,
      (c) => c.get(r!),
      (c) => c.get(r1!),
      1,
      (c) => {
        c.get(s!).get(r!);
        arg(COPY.src + RANK - 2);
        c.i32.mul().i32.add().set(sp!);
        c.get(d!).get(r!);
        arg(COPY.dst + RANK - 2);
        c.i32.mul().i32.add().set(dp!);
        c.get(ss!)
          .i32.const(4)
          .i32.eq()
          .get(ds!)
          .i32.const(4)
          .i32.eq()
          .i32.and()
          .if(
            (c) => copyRun(c, sp!, dp!, n!, j!),
            (c) =>
              c.for(
                j!,
                (c) => c.i32.const(0),
                (c) => c.get(n!),
                1,
                (c) => {
                  c.get(dp!).get(j!).get(ds!).i32.mul().i32.add();
                  c.get(sp!).get(j!).get(ss!).i32.mul().i32.add();
                  c.i32.load().i32.store();
                },
              ),
          );
      },
    );
  });
}

/** One region to copy: its shape, element strides and element offsets on either side. */
interface Region {
  shape: readonly number[];
  src: readonly number[];
  dst: readonly number[];
  /** Operand (input index) and element offset read from; output index and offset written. */
  input: number;
  from: number;
  output: number;
  to: number;
}

/**
 * Bind copies of regions: each collapsed to RANK axes (else undefined: the CPU kernel
 * runs), its words found once but the run's addresses (`from`, `to`), written every run.
 */
function bindCopies(ctx: WasmCtx, regions: Region[]): WasmStep | undefined {
  if ([...ctx.inTypes, ...ctx.outTypes].includes('bool')) return undefined;
  type Fixed = Omit<ArgValues<typeof COPY.fields>, 'from' | 'to'>;
  const plans: { args: number; tasks: number; fixed: Fixed; r: Region }[] = [];
  for (const r of regions) {
    if (numel(r.shape) === 0) continue;
    const [dims, [src, dst]] = collapse(r.shape, [r.src, r.dst]);
    if (dims.length > RANK) return undefined;
    // Leading axes of one element, stride 0, up to RANK.
    const pad = (xs: readonly number[], fill: number) => [
      ...new Array<number>(RANK - xs.length).fill(fill),
      ...xs,
    ];
    const [rows, row] = pad(dims, 1).slice(-2) as [number, number];
    const rowsPerTask = Math.max(1, Math.ceil(8192 / row));
    const chunks = Math.ceil(rows / rowsPerTask);
    const fixed: Fixed = {
      dims: pad(dims, 1),
      src: pad(src!, 0).map((x) => 4 * x),
      dst: pad(dst!, 0).map((x) => 4 * x),
      rowsPerTask,
      chunks,
    };
    const planes = numel(dims) / (rows * row);
    plans.push({ args: ctx.alloc(4 * COPY.words), tasks: planes * chunks, fixed, r });
  }
  const fn = ctx.fn('copy_task');
  return (run: WasmRun) =>
    plans.forEach(({ args, tasks, fixed, r }) => {
      writeArgs(run, args, COPY, {
        ...fixed,
        from: run.ins[r.input]! + 4 * r.from,
        to: run.outs[r.output]! + 4 * r.to,
      });
      run.parallel(fn, tasks, args);
    });
}

const whole = (shape: readonly number[], input = 0, output = 0): Omit<Region, 'src'> => ({
  shape,
  dst: stridesOf(shape),
  input,
  from: 0,
  output,
  to: 0,
});

export const transpose: WasmKernel<'transpose'> = {
  bind(a, ctx) {
    const st = stridesOf(ctx.inShapes[0]!);
    return bindCopies(ctx, [{ ...whole(ctx.outShapes[0]!), src: a.perm.map((p) => st[p]!) }]);
  },
};

export const expand: WasmKernel<'expand'> = {
  bind(_a, ctx) {
    const out = ctx.outShapes[0]!;
    return bindCopies(ctx, [{ ...whole(out), src: broadcastStrides(ctx.inShapes[0]!, out) }]);
  },
};

/** Output `output` of a slice [start, end) of input 0 along `ax`. */
const sliceRegion = (ctx: WasmCtx, ax: number, start: number, output: number): Region => {
  const st = stridesOf(ctx.inShapes[0]!);
  return { ...whole(ctx.outShapes[output]!, 0, output), src: st, from: start * st[ax]! };
};

export const slice: WasmKernel<'slice'> = {
  bind(a, ctx) {
    const s = ctx.inShapes[0]!;
    const ax = normAxis(a.axis, s.length)!;
    return bindCopies(ctx, [sliceRegion(ctx, ax, sliceRange(s[ax]!, a.start, a.end)[0], 0)]);
  },
};

export const split: WasmKernel<'split'> = {
  bind(a, ctx) {
    const ax = normAxis(a.axis, ctx.inShapes[0]!.length)!;
    let start = 0;
    return bindCopies(
      ctx,
      a.sizes.map((n, i) => {
        const r = sliceRegion(ctx, ax, start, i);
        start += n;
        return r;
      }),
    );
  },
};

export const concat: WasmKernel<'concat'> = {
  bind(a, ctx) {
    const out = ctx.outShapes[0]!;
    const ax = normAxis(a.axis, out.length)!;
    const st = stridesOf(out);
    let pos = 0;
    return bindCopies(
      ctx,
      ctx.inShapes.map((s, i) => {
        const r: Region = {
          shape: s,
          src: stridesOf(s),
          dst: st,
          input: i,
          from: 0,
          output: 0,
          to: pos * st[ax]!,
        };
        pos += s[ax]!;
        return r;
      }),
    );
  },
};

/**
 * Words of a row gather: output rows (`rows`, the (o, i) pairs) of `row` bytes picked by
 * an index list of k entries from groups of n rows of x, into y.
 */
const GATHER = argLayout([...TASK_ROWS, 'n', 'k', 'row', 'x', 'idx', 'y']);

/**
 * gather_task(task, args): output rows p = o·k + i (o over the leading axes, i over the
 * indices) of `row` bytes each, from row o·n + idx[i] of x; the indices were checked and
 * made non-negative by the host.
 */
export function gatherTask(m: ModuleBuilder): number {
  return m.func('gather_task', ['i32', 'i32', 'i32'], [], (c) => {
    const [task, args] = [c.param(0), c.param(1)];
    const arg = argReader(c, args);
    const L = () => c.local('i32');
    const [p, p1, o, i, s, d, n, j] = Array.from({ length: 8 }, L);
    arg(GATHER.row).i32.const(2).i32.shr_u().set(n!);
    forTaskRows(c, task, arg, p!, p1!, (c) => {
      c.get(p!);
      arg(GATHER.k);
      c.i32.div_u().set(o!);
      c.get(p!);
      arg(GATHER.k);
      c.i32.rem_u().set(i!);
      // s = x + (o·n + idx[i])·row, d = y + p·row
      c.get(o!);
      arg(GATHER.n);
      c.i32.mul();
      arg(GATHER.idx).get(i!).i32.const(4).i32.mul().i32.add().i32.load();
      c.i32.add();
      arg(GATHER.row);
      c.i32.mul();
      arg(GATHER.x);
      c.i32.add().set(s!);
      c.get(p!);
      arg(GATHER.row);
      c.i32.mul();
      arg(GATHER.y);
      c.i32.add().set(d!);
      copyRun(c, s!, d!, n!, j!);
    });
  });
}

/** Bind a row gather: indices (operand `ids`) checked and normalised into the binding region. */
function bindGather(
  ctx: WasmCtx,
  op: 'gather' | 'embedding',
  g: { x: number; ids: number; outer: number; n: number; inner: number; negative: boolean },
): WasmStep | undefined {
  if (ctx.outTypes[0] === 'bool') return undefined;
  const k = numel(ctx.inShapes[g.ids]!);
  const idx = ctx.alloc(4 * Math.max(1, k));
  const args = ctx.alloc(4 * GATHER.words);
  const pairs = g.outer * k;
  const perTask = Math.max(1, Math.ceil(8192 / Math.max(1, g.inner)));
  const fn = ctx.fn('gather_task');
  // Constant indices (a lowered convolution's windows, a resize's sources) never change:
  // once checked and found non-negative, the kernel reads them where they are. Others are
  // checked and normalised into the binding region every run (which every binding reuses).
  const fixed = ctx.fixedOffset(ctx.node.inputs[g.ids]!) !== undefined;
  let direct = false;
  return (r) => {
    if (pairs === 0 || g.inner === 0) return;
    if (!direct) {
      const ids = r.i32.subarray(r.ins[g.ids]! >>> 2, (r.ins[g.ids]! >>> 2) + k);
      const out = r.i32.subarray(idx >>> 2, (idx >>> 2) + k);
      let negative = false;
      for (let i = 0; i < k; i++) {
        out[i] = checkIndex(ids[i]!, g.n, i, g.negative, op, ctx.node);
        negative ||= out[i] !== ids[i];
      }
      direct = fixed && !negative;
    }
    writeArgs(r, args, GATHER, {
      rows: pairs,
      n: g.n,
      k,
      row: 4 * g.inner,
      x: r.ins[g.x]!,
      idx: direct ? r.ins[g.ids]! : idx,
      y: r.outs[0]!,
      perTask,
    });
    r.parallel(fn, Math.ceil(pairs / perTask), args);
  };
}

export const gather: WasmKernel<'gather'> = {
  bind(a, ctx) {
    const s = ctx.inShapes[0]!;
    const ax = a.axis < 0 ? a.axis + s.length : a.axis;
    return bindGather(ctx, 'gather', {
      x: 0,
      ids: 1,
      outer: numel(s.slice(0, ax)),
      n: s[ax]!,
      inner: numel(s.slice(ax + 1)),
      negative: true,
    });
  },
};

export const embedding: WasmKernel<'embedding'> = {
  bind(_a, ctx) {
    const [num, dim] = ctx.inShapes[1] as [number, number];
    return bindGather(ctx, 'embedding', {
      x: 1,
      ids: 0,
      outer: 1,
      n: num,
      inner: dim,
      negative: false,
    });
  },
};
