import type { Code, Local, ModuleBuilder } from '@glimpse/asm';
import { argLayout, argReader, storeLanes } from './args.js';

/**
 * The f32x4 GEMM: C[M×N] (+)= A[M×K]·B[K×N] (+ bias[N]). B is packed in panels of NR = 8
 * columns (zero past N), four side by side (below); A is read in place through strides, one
 * load-and-splat per element, so a transposed A or the P of attention costs nothing to
 * prepare. The MR×8 micro-kernel keeps 2·MR f32x4 accumulators in registers over the depth.
 * Sums run over k in order, one multiply and one add per step (one relaxed multiply-add
 * where the engine has relaxed SIMD): blocking the depth stores and reloads the f32
 * accumulator, which changes nothing.
 */
/**
 * Rows of the micro-kernel: 2·MR f32x4 accumulators, two of B and one splat of A must stay
 * in 16 registers. Measured here: MR = 5 runs the 512×768×768 GEMM at ~56 GFLOP/s per
 * thread against ~47 for 4 and ~32 for 6 (which spills).
 */
export const MR = 5;
export const NR = 8;
/**
 * Packed B's layout: groups of ROW_PANELS panels (32 columns), k-major — a step of a group
 * is GROUP_STEP bytes, its four panels' 8 columns side by side — so a one-row product reads
 * B as one contiguous stream (four streams, one per panel, measured ~40% slower on a
 * decoding step whose weights come from memory). A panel is read 32 bytes into each step.
 */
export const ROW_PANELS = 4;
export const GROUP_STEP = ROW_PANELS * NR * 4;
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

/** `body` for each lane of accumulator half `h` whose column (4h + lane) is below `nr`. */
function forColumns(c: Code, nr: Local, h: number, body: (c: Code, lane: number) => void) {
  for (let lane = 0; lane < 4; lane++)
    c.get(nr)
      .i32.const(4 * h + lane)
      .i32.gt_s()
      .if((c) => body(c, lane));
}

/**
 * mk{mr}{tail}(a, sam, sak, b, sbk, K, c, ldc, mode, nr): the mr×8 tile of C at c (rows ldc
 * bytes apart) (+)= A·B over K steps, B's 8 columns contiguous and sbk bytes between steps
 * (GROUP_STEP for packed B; a row stride to read rows of V in place); mode 1 starts from C, 0
 * from zero. A `tail` variant loads and stores only the first nr columns (the last panel of
 * an N that is not a multiple of 8; the lanes past it compute on whatever follows and are
 * dropped).
 */
function microKernel(m: ModuleBuilder, mr: number, tail: boolean, fma: boolean): number {
  return m.func(
    `mk${mr}${tail ? 't' : ''}`,
    ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
    [],
    (c) => {
      const [a, sam, sak, b, sbk, K, cp, ldc, mode, nr] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) =>
        c.param(i),
      ) as Local[];
      const k = c.local('i32');
      const ap = Array.from({ length: mr }, (_, r) => (r === 0 ? a! : c.local('i32')));
      const cr = Array.from({ length: mr }, (_, r) => (r === 0 ? cp! : c.local('i32')));
      const acc = Array.from({ length: 2 * mr }, () => c.local('v128'));
      const [b0, b1, av] = [c.local('v128'), c.local('v128'), c.local('v128')];
      for (let r = 1; r < mr; r++) {
        c.get(ap[r - 1]!)
          .get(sam!)
          .i32.add()
          .set(ap[r]!);
        c.get(cr[r - 1]!)
          .get(ldc!)
          .i32.add()
          .set(cr[r]!);
      }
      const zero = () => acc.forEach((v) => c.f32x4.splatConst(0).set(v));
      c.get(mode!).if(
        (c) => {
          zero();
          acc.forEach((v, i) => {
            const row = cr[i >> 1]!;
            const h = i & 1;
            if (!tail)
              c.get(row)
                .v128.load(16 * h)
                .set(v);
            else
              forColumns(c, nr!, h, (c, lane) =>
                c
                  .get(v)
                  .get(row)
                  .f32.load(4 * (4 * h + lane))
                  .f32x4.replace_lane(lane)
                  .set(v),
              );
          });
        },
        () => zero(),
      );
      c.i32.const(0).set(k);
      c.block((c) =>
        c.loop((c) => {
          c.get(k).get(K!).i32.ge_s().brIf(1);
          c.get(b!).v128.load(0).set(b0);
          c.get(b!).v128.load(16).set(b1);
          for (let r = 0; r < mr; r++) {
            c.get(ap[r]!).v128.load32_splat().set(av);
            for (const [h, bv] of [
              [0, b0],
              [1, b1],
            ] as const) {
              const a = acc[2 * r + h]!;
              // acc + a·b: one relaxed multiply-add where the engine has it, else two ops.
              if (fma) c.get(av).get(bv).get(a).f32x4.relaxed_madd().set(a);
              else c.get(a).get(av).get(bv).f32x4.mul().f32x4.add().set(a);
            }
            c.get(ap[r]!).get(sak!).i32.add().set(ap[r]!);
          }
          c.get(b!).get(sbk!).i32.add().set(b!);
          c.get(k).i32.const(1).i32.add().set(k).br(0);
        }),
      );
      acc.forEach((v, i) => {
        const row = cr[i >> 1]!;
        const h = i & 1;
        if (!tail)
          c.get(row)
            .get(v)
            .v128.store(16 * h);
        else
          forColumns(c, nr!, h, (c, lane) =>
            c
              .get(row)
              .get(v)
              .f32x4.extract_lane(lane)
              .f32.store(4 * (4 * h + lane)),
          );
      });
    },
  );
}

/**
 * The micro-kernels: index of mk{mr}{tail} is micro[tail ? 1 : 0][mr − 1]. With `fma`
 * (relaxed SIMD, feature-detected) each step is one f32x4.relaxed_madd: fused or not as the
 * engine chooses, within the precision contract either way (a fused step rounds once).
 */
export function microKernels(m: ModuleBuilder, fma: boolean): number[][] {
  return [
    ...[false, true].map((tail) =>
      Array.from({ length: MR }, (_, i) => microKernel(m, i + 1, tail, fma)),
    ),
    [rowKernel(m, fma)],
  ];
}

const ROW = 2;

/**
 * mk1x4(a, sak, b, K, c, mode): one row of C over a group of ROW_PANELS full panels (32
 * columns) (+)= a·B, the group's steps GROUP_STEP bytes apart. A matrix–vector product (a
 * decoding step's every projection) streams B once and does little else: one row's two
 * accumulators would chain each step on the last (the add's latency, not memory, would
 * bound it); eight independent ones keep the loads coming, from one contiguous stream. Each
 * column's sum still runs over k in order, as mk1's.
 */
function rowKernel(m: ModuleBuilder, fma: boolean): number {
  return m.func('mk1x4', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (c) => {
    const [a, sak, b, K, cp, mode] = [0, 1, 2, 3, 4, 5].map((i) => c.param(i)) as Local[];
    const k = c.local('i32');
    const acc = Array.from({ length: 2 * ROW_PANELS }, () => c.local('v128'));
    const av = c.local('v128');
    // Accumulator 2j + h: panel j's columns 4h … 4h + 3, at c + 32j + 16h.
    c.get(mode!).if(
      (c) =>
        acc.forEach((v, i) =>
          c
            .get(cp!)
            .v128.load(16 * i)
            .set(v),
        ),
      (c) => acc.forEach((v) => c.f32x4.splatConst(0).set(v)),
    );
    c.i32.const(0).set(k);
    c.block((c) =>
      c.loop((c) => {
        c.get(k).get(K!).i32.ge_s().brIf(1);
        c.get(a!).v128.load32_splat().set(av);
        acc.forEach((v, i) => {
          const load = (c: Code) => c.get(b!).v128.load(16 * i);
          if (fma) {
            c.get(av);
            load(c);
            c.get(v).f32x4.relaxed_madd().set(v);
          } else {
            c.get(v).get(av);
            load(c);
            c.f32x4.mul().f32x4.add().set(v);
          }
        });
        c.get(a!).get(sak!).i32.add().set(a!);
        c.get(b!).i32.const(GROUP_STEP).i32.add().set(b!);
        c.get(k).i32.const(1).i32.add().set(k).br(0);
      }),
    );
    acc.forEach((v, i) =>
      c
        .get(cp!)
        .get(v)
        .v128.store(16 * i),
    );
  });
}

/** Emit a call of the right micro-kernel for `mr` rows (a local) and `nr` columns. */
export function callMicro(
  c: Code,
  micro: number[][],
  mr: Local,
  nr: Local,
  args: (c: Code) => void,
): void {
  // Full panel, then tail: a chain of ifs on mr (1..MR).
  for (const [tail, cond] of [
    [0, (c: Code) => c.get(nr).i32.const(NR).i32.eq()],
    [1, (c: Code) => c.get(nr).i32.const(NR).i32.ne()],
  ] as const) {
    cond(c);
    c.if((c) => {
      for (let r = 1; r <= MR; r++)
        c.get(mr)
          .i32.const(r)
          .i32.eq()
          .if((c) => {
            args(c);
            c.call(micro[tail]![r - 1]!);
          });
    });
  }
}

/** Load word `w` of the argument block at `args` onto the stack. */
const arg = (c: Code, args: Local, w: number) => argReader(c, args)(w);

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
    const A = GEMM_ARGS;
    const [M, N, K, chunks, m0, m1, p0, p1, kb, kc, p, i, mr, nr, n0, pf] = Array.from(
      { length: 16 },
      () => c.local('i32'),
    ) as Local[];
    arg(c, args, A.M).set(M!);
    arg(c, args, A.N).set(N!);
    arg(c, args, A.K).set(K!);
    // This task's rows [m0, m1) and panels [p0, p1).
    const panels = (c: Code) =>
      c
        .get(N!)
        .i32.const(NR - 1)
        .i32.add()
        .i32.const(NR)
        .i32.div_u();
    panels(c)
      .i32.const(NC_PANELS - 1)
      .i32.add()
      .i32.const(NC_PANELS)
      .i32.div_u()
      .set(chunks!);
    c.get(task).get(chunks!).i32.div_u().i32.const(MC).i32.mul().set(m0!);
    c.get(m0!).i32.const(MC).i32.add().set(m1!);
    c.atMost(m1!, (c) => c.get(M!));
    c.get(task).get(chunks!).i32.rem_u().i32.const(NC_PANELS).i32.mul().set(p0!);
    c.get(p0!).i32.const(NC_PANELS).i32.add().set(p1!);
    c.atMost(p1!, panels);
    // A one-row block: full panels ROW_PANELS at a time (mk1x4) over the whole depth (a
    // depth block only keeps a panel in L1 across rows), from p0 up to pf; the loop below
    // takes the rest.
    c.get(p0!).set(pf!);
    c.get(m1!)
      .get(m0!)
      .i32.sub()
      .i32.const(1)
      .i32.eq()
      .if((c) =>
        c.block((c) =>
          c.loop((c) => {
            // Stop unless panels pf … pf + 3 are this task's and full: (pf + 4)·8 ≤ N.
            c.get(pf!).i32.const(ROW_PANELS).i32.add().get(p1!).i32.gt_s().brIf(1);
            c.get(pf!)
              .i32.const(ROW_PANELS)
              .i32.add()
              .i32.const(NR)
              .i32.mul()
              .get(N!)
              .i32.gt_s()
              .brIf(1);
            // a + m0·sam
            arg(c, args, A.a).get(m0!);
            arg(c, args, A.sam).i32.mul().i32.add();
            arg(c, args, A.sak);
            // b + (pf / 4)·K·GROUP_STEP: the group's first step (pf is a multiple of 4)
            arg(c, args, A.b).get(pf!).get(K!).i32.mul().i32.const(32).i32.mul().i32.add();
            c.get(K!);
            // c + m0·ldc + pf·32
            arg(c, args, A.c).get(m0!);
            arg(c, args, A.ldc).i32.mul().i32.add().get(pf!).i32.const(32).i32.mul().i32.add();
            c.i32.const(0);
            c.call(micro[ROW]![0]!);
            c.get(pf!).i32.const(ROW_PANELS).i32.add().set(pf!).br(0);
          }),
        ),
      );
    c.for(
      kb!,
      (c) => c.i32.const(0),
      (c) => c.get(K!),
      KC,
      (c) => {
        c.get(K!).get(kb!).i32.sub().set(kc!);
        c.atMost(kc!, (c) => c.i32.const(KC));
        c.for(
          p!,
          (c) => c.get(pf!),
          (c) => c.get(p1!),
          1,
          (c) => {
            c.get(p!).i32.const(NR).i32.mul().set(n0!);
            c.get(N!).get(n0!).i32.sub().set(nr!);
            c.atMost(nr!, (c) => c.i32.const(NR));
            c.for(
              i!,
              (c) => c.get(m0!),
              (c) => c.get(m1!),
              MR,
              (c) => {
                c.get(m1!).get(i!).i32.sub().set(mr!);
                c.atMost(mr!, (c) => c.i32.const(MR));
                callMicro(c, micro, mr!, nr!, (c) => {
                  // a + i·sam + kb·sak
                  arg(c, args, A.a).get(i!);
                  arg(c, args, A.sam).i32.mul().i32.add().get(kb!);
                  arg(c, args, A.sak).i32.mul().i32.add();
                  arg(c, args, A.sam);
                  arg(c, args, A.sak);
                  // b + panelAt(p) + kb·GROUP_STEP
                  arg(c, args, A.b);
                  panelAt(c, p!, K!);
                  c.i32.add().get(kb!).i32.const(GROUP_STEP).i32.mul().i32.add();
                  c.i32.const(GROUP_STEP).get(kc!);
                  // c + i·ldc + n0·4
                  arg(c, args, A.c).get(i!);
                  arg(c, args, A.ldc).i32.mul().i32.add().get(n0!).i32.const(4).i32.mul().i32.add();
                  arg(c, args, A.ldc);
                  c.get(kb!).i32.const(0).i32.ne();
                  c.get(nr!);
                });
              },
            );
          },
        );
      },
    );
    // Bias after the sum, as the reference adds it (an empty sum with a -0 bias is +0), then
    // the epilogue; a vector at a time (the lanes past N computed and dropped).
    const tile = (c: Code) => {
      const [row, col, end, at] = [c.local('i32'), c.local('i32'), c.local('i32'), c.local('i32')];
      const v = c.local('v128');
      c.get(p1!).i32.const(NR).i32.mul().set(end);
      c.atMost(end, (c) => c.get(N!));
      c.for(
        i!,
        (c) => c.get(m0!),
        (c) => c.get(m1!),
        1,
        (c) => {
          arg(c, args, A.c).get(i!);
          arg(c, args, A.ldc).i32.mul().i32.add().set(row);
          c.for(
            col,
            (c) => c.get(p0!).i32.const(NR).i32.mul(),
            (c) => c.get(end),
            4,
            (c) => {
              c.get(row).get(col).i32.const(4).i32.mul().i32.add().set(at);
              c.get(at).v128.load().set(v);
              arg(c, args, A.bias).if((c) => {
                c.get(v);
                arg(c, args, A.bias).get(col).i32.const(4).i32.mul().i32.add();
                c.v128.load().f32x4.add().set(v);
              });
              if (epilogue) {
                epilogue(c, { v, i: i!, col, arg: (w) => arg(c, args, w) });
                c.set(v);
              }
              storeLanes(c, () => c.get(at), v, col, end);
            },
          );
        },
      );
    };
    if (epilogue) tile(c);
    else arg(c, args, A.bias).if(tile);
  });
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
    arg(c, args, P.K).set(K);
    arg(c, args, P.dst);
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
            arg(c, args, P.N)
              .i32.lt_s()
              .if(
                (c) => {
                  arg(c, args, P.src).get(k);
                  arg(c, args, P.sbk).i32.mul().i32.add().get(n);
                  arg(c, args, P.sbn).i32.mul().i32.add().f32.load();
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
