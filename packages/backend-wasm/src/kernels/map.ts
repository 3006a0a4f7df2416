import type { Code } from '@glimpse/asm';
import type { Dim, Graph, Node } from '@glimpse/ir';
import type { ProgramOp } from '@glimpse/ir';
import { numel, PROGRAM_OPS, programOfOp } from '@glimpse/ir';
import {
  argLayout,
  argReader,
  forTaskRows,
  rowAddress,
  storeLanes,
  TASK_ROWS,
  writeArgs,
} from './args.js';
import type { Epilogue } from './gemm.js';
import { GEMM_ARGS } from './gemm.js';
import type { WasmKernel, WasmPrepare } from './types.js';

/**
 * How an operand of an elementwise program is read: every element, a trailing row, one
 * value, or one value per row (`outer`: a per-channel factor [N, C, 1, 1] over [N, C, H, W]).
 */
type Access = 'full' | 'row' | 'scalar' | 'outer';
type Program = readonly (number | string)[];

/** Elements per row when no operand broadcasts (rows are the unit of work). */
const CHUNK = 4096;

const sameDims = (a: readonly Dim[], b: readonly Dim[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * How each operand of `n` is read, from the graph's (possibly symbolic) shapes: the
 * output's own shape (`full`), a static suffix of it (`row`, repeated over the leading
 * elements, as a bias [C] over [B, T, C]), one element (`scalar`), or a prefix of it with
 * 1s after (`outer`, constant over static trailing rows; not with `row` operands).
 * Undefined for any other broadcast (the CPU kernel takes those).
 */
function accessOf(n: Node, g: Graph): Access[] | undefined {
  const out = g.typeOf(n.outputs[0]!).shape;
  const kinds: Access[] = [];
  let row: readonly Dim[] | undefined;
  let outer: number | undefined;
  for (const i of n.inputs) {
    const s = g.typeOf(i).shape;
    const tail = outerRow(s, out);
    if (s.every((d) => d === 1)) kinds.push('scalar');
    else if (sameDims(s, out)) kinds.push('full');
    else if (tail !== undefined && (outer === undefined || outer === tail)) {
      outer = tail;
      kinds.push('outer');
    } else {
      const k = s.length - s.findIndex((d) => d !== 1); // the trailing dims that are not 1
      const suffix = s.slice(s.length - k);
      if (
        !suffix.every((d) => typeof d === 'number') ||
        !sameDims(suffix, out.slice(out.length - k))
      )
        return undefined;
      if (row !== undefined && !sameDims(row, suffix)) return undefined;
      row = suffix;
      kinds.push('row');
    }
  }
  return row !== undefined && outer !== undefined ? undefined : kinds;
}

/**
 * For s = out's first j dims then 1s (aligned right), out's trailing dims after j static:
 * their element count, the row over which s is constant; else undefined.
 */
function outerRow(s: readonly Dim[], out: readonly Dim[]): number | undefined {
  if (s.length > out.length) return undefined;
  const full = [...Array<Dim>(out.length - s.length).fill(1), ...s];
  let j = full.length;
  while (j > 0 && full[j - 1] === 1) j--;
  const rest = out.slice(j);
  if (j === 0 || !sameDims(full.slice(0, j), out.slice(0, j))) return undefined;
  if (!rest.every((d) => typeof d === 'number')) return undefined;
  const len = numel(rest as number[]);
  return len > 1 ? len : undefined;
}

/** The shared functions a program's tokens call (vexp, vtanh, vgelu of the module). */
interface ProgramFns {
  readonly exp: number;
  readonly tanh: number;
  readonly gelu: number;
}

/**
 * How a program step is computed on f32x4 lanes: its operands on the stack, its result left
 * there (`t` gives scratch v128 locals) — or `'cpu'`: the op has no SIMD form here yet, and a
 * node or program naming it runs on the CPU kernel. The type checker asks for every op a
 * program may name.
 */
type SimdStep = ((c: Code, fns: ProgramFns, t: () => number) => void) | 'cpu';
const SIMD: { readonly [K in ProgramOp]: SimdStep } = {
  add: (c) => void c.f32x4.add(),
  sub: (c) => void c.f32x4.sub(),
  mul: (c) => void c.f32x4.mul(),
  div: (c) => void c.f32x4.div(),
  sqrt: (c) => void c.f32x4.sqrt(),
  // torch.minimum / maximum: a where a < b (a > b), else b; NaN where either is NaN
  // (a + b). WebAssembly's own f32x4.min orders ±0, which the ops do not.
  min: (c, _f, t) => extremum(c, t, 'min'),
  max: (c, _f, t) => extremum(c, t, 'max'),
  abs: (c) => void c.f32x4.abs(),
  gelu_tanh: (c, fns, t) => {
    // ½x(1 + tanh(z)), z = √(2/π)(x + 0.044715x³), with 1 + tanh(z) as
    // 2 / (1 + e^{−2z}) (no cancellation for z ≪ 0), rounded to a multiple of 2⁻⁵³ as
    // the reference's float64 1 + tanh is (0 below z ≈ −19.1, so ±0 as there).
    const [ra, rb] = [t(), t()];
    c.set(ra);
    c.get(ra).get(ra).f32x4.mul().get(ra).f32x4.mul().f32x4.splatConst(0.044715).f32x4.mul();
    c.get(ra).f32x4.add().f32x4.splatConst(-1.5957691216057308).f32x4.mul().call(fns.exp);
    c.f32x4.splatConst(1).f32x4.add().set(rb);
    c.f32x4.splatConst(2).get(rb).f32x4.div();
    c.f32x4
      .splatConst(2 ** 53)
      .f32x4.mul()
      .f32x4.nearest()
      .f32x4.splatConst(2 ** -53);
    c.f32x4.mul().set(rb);
    c.get(ra).f32x4.splatConst(0.5).f32x4.mul().get(rb).f32x4.mul();
  },
  sigmoid: (c, fns, t) => {
    // 1 / (1 + e^−x): e^−x = +inf gives 0, NaN stays NaN.
    const sig = t();
    c.f32x4.neg().call(fns.exp);
    c.f32x4.splatConst(1).f32x4.add().set(sig);
    c.f32x4.splatConst(1).get(sig).f32x4.div();
  },
  relu: (c, _f, t) => {
    // x < 0 ? 0 : x — NaN and −0 stay as they are.
    const x = t();
    c.set(x).f32x4.splatConst(0).get(x);
    c.get(x).f32x4.splatConst(0).f32x4.lt().v128.bitselect();
  },
  exp: (c, fns) => void c.call(fns.exp),
  tanh: (c, fns) => void c.call(fns.tanh),
  gelu: (c, fns) => void c.call(fns.gelu),
  erf: 'cpu',
  log: 'cpu',
  cos: 'cpu',
  sin: 'cpu',
  sign: 'cpu',
  mod: 'cpu',
  fmod: 'cpu',
  // IEEE roundings: −0 and NaN kept, nearest is ties-to-even (ONNX Round).
  ceil: (c) => void c.f32x4.ceil(),
  floor: (c) => void c.f32x4.floor(),
  round: (c) => void c.f32x4.nearest(),
};

function extremum(c: Code, t: () => number, op: 'min' | 'max') {
  const [ra, rb] = [t(), t()];
  c.set(rb).set(ra);
  c.get(ra).get(rb).get(ra).get(rb);
  if (op === 'min') c.f32x4.lt();
  else c.f32x4.gt();
  c.v128.bitselect();
  c.get(ra).get(rb).f32x4.add();
  c.get(ra).get(ra).f32x4.eq().get(rb).get(rb).f32x4.eq().v128.and();
  c.v128.bitselect();
}

/** The program ops with a SIMD form here. */
export const SIMD_OPS: readonly ProgramOp[] = PROGRAM_OPS.filter((op) => SIMD[op] !== 'cpu');

/** Emit one vector of a program's result from the operand addresses (f32x4 lanes). */
function emitProgram(c: Code, prog: Program, load: (i: number) => void, fns: ProgramFns) {
  // Scratch locals, reused by every step (a step's are dead once it has run).
  const pool: number[] = [];
  let used = 0;
  const t = () => (pool[used++] ??= c.local('v128'));
  for (const tok of prog) {
    if (typeof tok === 'number') c.f32x4.splatConst(tok);
    else if (tok.startsWith('$')) load(Number(tok.slice(1)));
    else {
      used = 0;
      (SIMD[tok as ProgramOp] as Exclude<SimdStep, 'cpu'>)(c, fns, t);
    }
  }
}

interface Prepared {
  readonly name: string;
  readonly access: Access[];
  readonly rowLen: number | undefined;
}

/** The shared functions a program's tokens call. */
const programFns = (p: WasmPrepare): ProgramFns => ({ exp: p.vexp, tanh: p.vtanh, gelu: p.vgelu });

/** Elements of a row operand: its shape from the first dim that is not 1. */
const rowLength = (s: readonly number[]) => numel(s.slice(s.findIndex((d) => d !== 1)));

/**
 * map_{id}(task, args): rows [task·rpt, …) of an elementwise program over f32 operands,
 * four lanes at a time; a row's tail computes a whole vector and stores only its lanes.
 */
/** A map's argument block: the task rows, row length, elements, output, then each operand. */
const mapArgs = (operands: number) =>
  argLayout([...TASK_ROWS, 'len', 'n', 'out', ['ins', operands]]);

function emitMap(p: WasmPrepare, name: string, prog: Program, access: Access[]) {
  const fns = programFns(p);
  const L = mapArgs(access.length);
  p.module.func(name, ['i32', 'i32', 'i32'], [], (c) => {
    const task = c.param(0),
      args = c.param(1);
    const arg = argReader(c, args);
    const row = c.local('i32'),
      r1 = c.local('i32'),
      j = c.local('i32'),
      len = c.local('i32'),
      out = c.local('i32');
    const v = c.local('v128');
    const base = access.map(() => c.local('i32'));
    forTaskRows(c, task, arg, row, r1, (c) => {
      // This row's length (the last may be short when nothing broadcasts).
      arg(L.n);
      c.get(row);
      arg(L.len);
      c.i32.mul().i32.sub().set(len);
      c.atMost(len, () => arg(L.len));
      rowAddress(c, arg, L.out, row, () => arg(L.len));
      c.set(out);
      // A whole operand advances with the rows; a row or scalar operand does not.
      access.forEach((a, i) => {
        if (a === 'full') rowAddress(c, arg, L.ins + i, row, () => arg(L.len));
        else if (a === 'outer') rowAddress(c, arg, L.ins + i, row, () => c.i32.const(1));
        else arg(L.ins + i);
        c.set(base[i]!);
      });
      const load = (i: number) => {
        if (access[i] === 'scalar' || access[i] === 'outer') c.get(base[i]!).v128.load32_splat();
        else c.get(base[i]!).get(j).i32.const(4).i32.mul().i32.add().v128.load(0, 0);
      };
      c.for(
        j,
        (c) => c.i32.const(0),
        (c) => c.get(len),
        4,
        (c) => {
          emitProgram(c, prog, load, fns);
          c.set(v);
          storeLanes(c, () => c.get(out).get(j).i32.const(4).i32.mul().i32.add(), v, j, len);
        },
      );
    });
  });
}

/**
 * The program of the op at `n` (IR's programOfOp), when every step of it has a SIMD form
 * here; a program naming one without (erf, log, …) runs on the CPU kernel.
 */
function programOf(n: Node): Program | undefined {
  const p = programOfOp(n.op, n.attrs);
  return p?.every(
    (t) => typeof t === 'number' || t.startsWith('$') || SIMD[t as ProgramOp] !== 'cpu',
  )
    ? p
    : undefined;
}

/** Elementwise float ops and fused programs as SIMD loops over rows, split over threads. */
export const map: WasmKernel<'add'> = {
  prepare(_a, n, p) {
    const prog = programOf(n);
    if (prog === undefined || !['f32', 'f16'].includes(p.graph.typeOf(n.outputs[0]!).dtype))
      return undefined;
    const access = accessOf(n, p.graph);
    if (access === undefined) return undefined;
    const rowIn = n.inputs.findIndex((_, i) => access[i] === 'row' || access[i] === 'outer');
    const out = p.graph.typeOf(n.outputs[0]!).shape;
    const rowLen =
      rowIn < 0
        ? undefined
        : access[rowIn] === 'outer'
          ? outerRow(p.graph.typeOf(n.inputs[rowIn]!).shape, out)
          : rowLength(p.graph.typeOf(n.inputs[rowIn]!).shape as number[]);
    const name = `map_${p.id}`;
    emitMap(p, name, prog, access);
    return { name, access, rowLen } satisfies Prepared;
  },
  bind(_a, ctx, prepared) {
    if (prepared === undefined) return undefined;
    const { name, access, rowLen } = prepared as Prepared;
    const n = numel(ctx.outShapes[0]!);
    const len = rowLen ?? CHUNK;
    const rows = Math.ceil(n / Math.max(1, len));
    const perTask = Math.max(1, Math.ceil(rows / (8 * ctx.threads)), Math.ceil(16384 / len));
    const fn = ctx.fn(name);
    const L = mapArgs(access.length);
    const args = ctx.alloc(4 * L.words);
    return (r) => {
      if (n === 0) return;
      writeArgs(r, args, L, { perTask, rows, len, n, out: r.outs[0]!, ins: r.ins });
      r.parallel(fn, Math.ceil(rows / perTask), args);
    };
  },
};

/**
 * The program of `u`, the only reader of a GEMM's output `operand` (n columns), as the
 * GEMM's epilogue: `operand` read as the tile's vector, the other operands whole (same
 * shape: a residual), as a row of n (a bias) or as one value; their addresses follow
 * GEMM_ARGS in the order of `others`. `key` names the code: nodes with equal keys can share
 * one task function. Undefined where the program's own kernel would not
 * take it or reads an operand another way.
 */
export function epilogueOf(
  u: Node,
  p: WasmPrepare,
  operand: string,
  n: number,
): { emit: Epilogue; others: string[]; key: string } | undefined {
  const g = p.graph;
  const prog = programOf(u);
  const access = accessOf(u, g);
  if (
    prog === undefined ||
    access === undefined ||
    access.includes('outer') ||
    g.typeOf(u.outputs[0]!).dtype !== 'f32'
  )
    return undefined;
  const others: string[] = [];
  const word: number[] = [];
  for (const [i, v] of u.inputs.entries()) {
    if (v === operand) {
      // Whole (an output of one element reads as a scalar too).
      if (!sameDims(g.typeOf(v).shape, g.typeOf(u.outputs[0]!).shape)) return undefined;
      continue;
    }
    const s = g.typeOf(v).shape;
    if (access[i] === 'row' && rowLength(s as number[]) !== n) return undefined;
    if (g.typeOf(v).dtype !== 'f32') return undefined;
    word[i] = GEMM_ARGS.words + others.length;
    others.push(v);
  }
  const fns = programFns(p);
  const emit: Epilogue = (c, { v, i, col, arg }) =>
    emitProgram(
      c,
      prog,
      (k) => {
        if (u.inputs[k] === operand) return void c.get(v);
        const at = () => c.get(col).i32.const(4).i32.mul().i32.add();
        if (access[k] === 'scalar') arg(word[k]!).v128.load32_splat();
        else if (access[k] === 'row') (arg(word[k]!), at(), c.v128.load());
        else {
          arg(word[k]!).get(i);
          arg(GEMM_ARGS.ldc).i32.mul().i32.add();
          at();
          c.v128.load();
        }
      },
      fns,
    );
  // What the emitted code depends on: equal keys emit equal functions.
  const key = JSON.stringify([prog, u.inputs.map((v, i) => (v === operand ? 'gemm' : access[i]))]);
  return { emit, others, key };
}
