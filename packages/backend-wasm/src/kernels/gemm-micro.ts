import type { Code, Local, ModuleBuilder } from '@glimpse/asm';

/**
 * The GEMM's micro-kernels (gemm.ts drives them over a task's blocks; attention calls them
 * for its Q·Kᵀ and P·V tiles): functions of their own, called with the addresses and
 * strides of one tile, so every caller shares one copy of the hot loop.
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

/** micro[ROW][0]: the one-row kernel over a group of panels (mk1x4). */
export const ROW = 2;

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
