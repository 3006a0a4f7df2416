import type { Code, Local, ModuleBuilder } from '@glimpse/asm';
import { argLayout, argReader, storeLanes } from './args.js';
import { callMicro, GROUP_STEP, MR, NR, ROW, ROW_PANELS } from './gemm-micro.js';

export { callMicro, GROUP_STEP, microKernels, MR, NR, ROW_PANELS } from './gemm-micro.js';

/**
 * The f32x4 GEMM: C[M×N] (+)= A[M×K]·B[K×N] (+ bias[N]). B is packed in panels of NR = 8
 * columns (zero past N), four side by side (below); A is read in place through strides, one
 * load-and-splat per element, so a transposed A or the P of attention costs nothing to
 * prepare. The MR×8 micro-kernel (gemm-micro.ts) keeps 2·MR f32x4 accumulators in
 * registers over the depth. Sums run over k in order, one multiply and one add per step (one
 * relaxed multiply-add where the engine has relaxed SIMD): blocking the depth stores and
 * reloads the f32 accumulator, which changes nothing.
 */

/** Bytes of B [K × N] packed. */
export const packedBytes = (K: number, N: number) =>
  Math.ceil(N / (ROW_PANELS * NR)) * K * GROUP_STEP;

/** Push the byte offset of panel `p` (a local) in packed B of depth `K` (a local). */
function panelAt(c: Code, p: Local, K: Local): void {
  // (p / 4)·K·GROUP_STEP + (p % 4)·32 = (p − p % 4)·K·32 + (p % 4)·32
  c.get(p)
    .i32.const(-ROW_PANELS)
    .i32.and()
    .get(K)
    .i32.mul()
    .i32.const(NR * 4)
    .i32.mul()
    .get(p)
    .i32.const(ROW_PANELS - 1)
    .i32.and()
    .i32.const(NR * 4)
    .i32.mul()
    .i32.add();
}
/** Rows and panels per task: a task's A rows (MC·K floats) stay in L2, a panel in L1. */
export const MC = 64;
export const NC_PANELS = 8;
/** Depth block: a panel's KC steps (32 bytes of each group step) stay in L1 across the MC rows. */
export const KC = 256;

/**
 * Words of a GEMM's argument block (i32, byte offsets and strides): the sizes, A and its row
 * and depth strides (sam, sak), packed B, C and its row stride (ldc), the bias (0: none).
 * An epilogue's operands follow, from word `GEMM_ARGS.words`.
 */
export const GEMM_ARGS = argLayout(['M', 'N', 'K', 'a', 'sam', 'sak', 'b', 'c', 'ldc', 'bias']);

/** Words of a packing job: B(k, n) at src + k·sbk + n·sbn (bytes) into panels at dst. */
export const PACK_ARGS = argLayout(['K', 'N', 'src', 'sbk', 'sbn', 'dst']);

/**
 * An epilogue: the elementwise program a GEMM applies to its tile once the sum is done (an
 * activation, a residual add), as the program's own kernel would apply it to the stored
 * result. `emit` pushes the result vector for the vector of C in `v`, at row `i` and column
 * `col`; the words it reads follow GEMM_ARGS in the argument block.
 */
export type Epilogue = (
  c: Code,
  at: { v: Local; i: Local; col: Local; arg: (w: number) => Code },
) => void;

/** What the phases of a GEMM task share: the code, its argument reader, its locals. */
interface GemmTask {
  readonly c: Code;
  readonly task: Local;
  /** Pushes word `w` of the argument block (GEMM_ARGS, then the epilogue's). */
  readonly arg: (w: number) => Code;
  readonly micro: number[][];
  readonly M: Local;
  readonly N: Local;
  readonly K: Local;
  /** This task's rows [m0, m1) and panels [p0, p1). */
  readonly m0: Local;
  readonly m1: Local;
  readonly p0: Local;
  readonly p1: Local;
  /** The first panel the blocked loop takes (past those the one-row kernel did). */
  readonly pf: Local;
  /** Loop locals: depth block and its length, panel, row, tile rows and columns, column. */
  readonly kb: Local;
  readonly kc: Local;
  readonly p: Local;
  readonly i: Local;
  readonly mr: Local;
  readonly nr: Local;
  readonly n0: Local;
  readonly chunks: Local;
}

/**
 * gemm_task(task, args): one MC-row block × NC_PANELS-panel chunk of C, every depth block,
 * then the bias and the epilogue, if any (a function `name` of its own). Tasks are numbered
 * row block-major; args hold GEMM_ARGS, then the epilogue's words.
 */
export function gemmTask(
  m: ModuleBuilder,
  micro: number[][],
  name = 'gemm_task',
  epilogue?: Epilogue,
): number {
  return m.func(name, ['i32', 'i32'], [], (c) => {
    const [task, args] = [c.param(0), c.param(1)];
    const i32 = () => c.local('i32');
    // Locals made in this order (an object literal's initialisers run in order): the
    // module's bytes depend on their indices.
    const t: GemmTask = {
      c,
      task,
      arg: argReader(c, args),
      micro,
      M: i32(),
      N: i32(),
      K: i32(),
      chunks: i32(),
      m0: i32(),
      m1: i32(),
      p0: i32(),
      p1: i32(),
      kb: i32(),
      kc: i32(),
      p: i32(),
      i: i32(),
      mr: i32(),
      nr: i32(),
      n0: i32(),
      pf: i32(),
    };
    taskBlock(t);
    oneRowGroups(t);
    depthBlocks(t);
    // Bias after the sum, as the reference adds it (an empty sum with a -0 bias is +0), then
    // the epilogue: with no epilogue, only where there is a bias.
    if (epilogue) biasAndEpilogue(t, epilogue);
    else t.arg(GEMM_ARGS.bias).if(() => biasAndEpilogue(t));
  });
}

/** Push the panels of N: ⌈N / NR⌉. */
const panels = (t: GemmTask) =>
  t.c
    .get(t.N)
    .i32.const(NR - 1)
    .i32.add()
    .i32.const(NR)
    .i32.div_u();

/** The sizes, and the task's rows [m0, m1) and panels [p0, p1): row block-major tasks. */
function taskBlock(t: GemmTask): void {
  const { c, arg, task, chunks, m0, m1, p0, p1 } = t;
  arg(GEMM_ARGS.M).set(t.M);
  arg(GEMM_ARGS.N).set(t.N);
  arg(GEMM_ARGS.K).set(t.K);
  panels(t)
    .i32.const(NC_PANELS - 1)
    .i32.add()
    .i32.const(NC_PANELS)
    .i32.div_u()
    .set(chunks);
  c.get(task).get(chunks).i32.div_u().i32.const(MC).i32.mul().set(m0);
  c.get(m0).i32.const(MC).i32.add().set(m1);
  c.atMost(m1, (c) => c.get(t.M));
  c.get(task).get(chunks).i32.rem_u().i32.const(NC_PANELS).i32.mul().set(p0);
  c.get(p0).i32.const(NC_PANELS).i32.add().set(p1);
  c.atMost(p1, () => panels(t));
}

/**
 * A one-row block: full panels ROW_PANELS at a time (mk1x4) over the whole depth (a depth
 * block only keeps a panel in L1 across rows), from p0 up to pf; `depthBlocks` takes the
 * rest. A decoding step's projections are one-row GEMMs: this is their whole product.
 */
function oneRowGroups(t: GemmTask): void {
  const { c, arg, K, N, m0, m1, p0, p1, pf } = t;
  const A = GEMM_ARGS;
  c.get(p0).set(pf);
  c.get(m1)
    .get(m0)
    .i32.sub()
    .i32.const(1)
    .i32.eq()
    .if((c) =>
      c.block((c) =>
        c.loop((c) => {
          // Stop unless panels pf … pf + 3 are this task's and full: (pf + 4)·8 ≤ N.
          c.get(pf).i32.const(ROW_PANELS).i32.add().get(p1).i32.gt_s().brIf(1);
          c.get(pf)
            .i32.const(ROW_PANELS)
            .i32.add()
            .i32.const(NR)
            .i32.mul()
            .get(N)
            .i32.gt_s()
            .brIf(1);
          // a + m0·sam
          arg(A.a).get(m0);
          arg(A.sam).i32.mul().i32.add();
          arg(A.sak);
          // b + (pf / 4)·K·GROUP_STEP: the group's first step (pf is a multiple of 4)
          arg(A.b).get(pf).get(K).i32.mul().i32.const(32).i32.mul().i32.add();
          c.get(K);
          // c + m0·ldc + pf·32
          arg(A.c).get(m0);
          arg(A.ldc).i32.mul().i32.add().get(pf).i32.const(32).i32.mul().i32.add();
          c.i32.const(0);
          c.call(t.micro[ROW]![0]!);
          c.get(pf).i32.const(ROW_PANELS).i32.add().set(pf).br(0);
        }),
      ),
    );
}

/**
 * The blocked product: for each depth block of KC steps, each panel from pf, each MR rows,
 * one micro-kernel call on the tile (starting from C after the first depth block).
 */
function depthBlocks(t: GemmTask): void {
  const { c, K, N, m0, m1, p1, pf, kb, kc, p, i, mr, nr, n0 } = t;
  c.for(
    kb,
    (c) => c.i32.const(0),
    (c) => c.get(K),
    KC,
    (c) => {
      c.get(K).get(kb).i32.sub().set(kc);
      c.atMost(kc, (c) => c.i32.const(KC));
      c.for(
        p,
        (c) => c.get(pf),
        (c) => c.get(p1),
        1,
        (c) => {
          c.get(p).i32.const(NR).i32.mul().set(n0);
          c.get(N).get(n0).i32.sub().set(nr);
          c.atMost(nr, (c) => c.i32.const(NR));
          c.for(
            i,
            (c) => c.get(m0),
            (c) => c.get(m1),
            MR,
            (c) => {
              c.get(m1).get(i).i32.sub().set(mr);
              c.atMost(mr, (c) => c.i32.const(MR));
              callMicro(c, t.micro, mr, nr, () => microTileArgs(t));
            },
          );
        },
      );
    },
  );
}

/** The micro-kernel's arguments for the tile at rows i…, panel p, depth block kb. */
function microTileArgs(t: GemmTask): void {
  const { c, arg, K, kb, kc, p, i, nr, n0 } = t;
  const A = GEMM_ARGS;
  // a + i·sam + kb·sak
  arg(A.a).get(i);
  arg(A.sam).i32.mul().i32.add().get(kb);
  arg(A.sak).i32.mul().i32.add();
  arg(A.sam);
  arg(A.sak);
  // b + panelAt(p) + kb·GROUP_STEP
  arg(A.b);
  panelAt(c, p, K);
  c.i32.add().get(kb).i32.const(GROUP_STEP).i32.mul().i32.add();
  c.i32.const(GROUP_STEP).get(kc);
  // c + i·ldc + n0·4
  arg(A.c).get(i);
  arg(A.ldc).i32.mul().i32.add().get(n0).i32.const(4).i32.mul().i32.add();
  arg(A.ldc);
  c.get(kb).i32.const(0).i32.ne();
  c.get(nr);
}

/**
 * The task's tile of C once summed: + bias (where there is one), then the epilogue, a
 * vector at a time (the lanes past N computed and dropped).
 */
function biasAndEpilogue(t: GemmTask, epilogue?: Epilogue): void {
  const { c, arg, N, m0, m1, p0, p1, i } = t;
  const A = GEMM_ARGS;
  const [row, col, end, at] = [c.local('i32'), c.local('i32'), c.local('i32'), c.local('i32')];
  const v = c.local('v128');
  c.get(p1).i32.const(NR).i32.mul().set(end);
  c.atMost(end, (c) => c.get(N));
  c.for(
    i,
    (c) => c.get(m0),
    (c) => c.get(m1),
    1,
    (c) => {
      arg(A.c).get(i);
      arg(A.ldc).i32.mul().i32.add().set(row);
      c.for(
        col,
        (c) => c.get(p0).i32.const(NR).i32.mul(),
        (c) => c.get(end),
        4,
        (c) => {
          c.get(row).get(col).i32.const(4).i32.mul().i32.add().set(at);
          c.get(at).v128.load().set(v);
          arg(A.bias).if((c) => {
            c.get(v);
            arg(A.bias).get(col).i32.const(4).i32.mul().i32.add();
            c.v128.load().f32x4.add().set(v);
          });
          if (epilogue) {
            epilogue(c, { v, i, col, arg });
            c.set(v);
          }
          storeLanes(c, () => c.get(at), v, col, end);
        },
      );
    },
  );
}

/** Tasks of a GEMM: row blocks × panel chunks. */
export function gemmTasks(M: number, N: number): number {
  return Math.ceil(M / MC) * Math.ceil(Math.ceil(N / NR) / NC_PANELS);
}

/** pack_task(task, args): panel `task` of B (PACK_ARGS) into its place, zero past N. */
export function packTask(m: ModuleBuilder): number {
  return m.func('pack_task', ['i32', 'i32'], [], (c) => {
    const [task, args] = [c.param(0), c.param(1)];
    const P = PACK_ARGS;
    const [k, j, n, dst] = [c.local('i32'), c.local('i32'), c.local('i32'), c.local('i32')];
    const K = c.local('i32');
    const arg = argReader(c, args);
    arg(P.K).set(K);
    arg(P.dst);
    panelAt(c, task, K);
    c.i32.add().set(dst);
    c.for(
      k,
      (c) => c.i32.const(0),
      (c) => c.get(K),
      1,
      (c) => {
        c.for(
          j,
          (c) => c.i32.const(0),
          (c) => c.i32.const(NR),
          1,
          (c) => {
            c.get(task).i32.const(NR).i32.mul().get(j).i32.add().set(n);
            c.get(dst);
            c.get(n);
            arg(P.N)
              .i32.lt_s()
              .if(
                (c) => {
                  arg(P.src).get(k);
                  arg(P.sbk).i32.mul().i32.add().get(n);
                  arg(P.sbn).i32.mul().i32.add().f32.load();
                },
                (c) => c.f32.const(0),
                'f32',
              );
            c.f32.store();
            c.get(dst).i32.const(4).i32.add().set(dst);
          },
        );
        // The panel's next step: a group step on from this one's start.
        c.get(dst)
          .i32.const(GROUP_STEP - 4 * NR)
          .i32.add()
          .set(dst);
      },
    );
  });
}
