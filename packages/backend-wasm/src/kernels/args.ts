import type { Code, Local } from '@glimpse/asm';

/** A reader of the argument block at local `args`: arg(w) pushes its i32 word w. */
export const argReader =
  (c: Code, args: Local) =>
  (w: number): Code =>
    c.get(args).i32.load(4 * w);

/**
 * This task's range [r, r1) of a split loop: r := index·per, r1 := min(r + per, limit),
 * each operand pushed by its builder.
 */
export function taskRange(
  c: Code,
  index: () => void,
  per: () => void,
  limit: () => void,
  r: Local,
  r1: Local,
): void {
  index();
  per();
  c.i32.mul().set(r);
  c.get(r);
  per();
  c.i32.add().set(r1);
  c.atMost(r1, limit);
}

/**
 * Write an argument block from the host: `layout` maps names to word indices (its `words`
 * entry, the block's size, is skipped), `values` gives each name's i32.
 */
export function writeArgs<L extends Record<string, number>>(
  i32: Int32Array,
  args: number,
  layout: L,
  values: { readonly [K in Exclude<keyof L, 'words'>]: number },
): void {
  for (const [name, w] of Object.entries(layout))
    if (name !== 'words') i32[(args >> 2) + w] = values[name as Exclude<keyof L, 'words'>];
}

/**
 * For each row r of this task (`taskRange` with rows per task and rows in words 0 and 1),
 * `body` — the loop every row-split kernel runs.
 */
export function forTaskRows(
  c: Code,
  task: Local,
  arg: (w: number) => Code,
  r: Local,
  r1: Local,
  body: (c: Code) => void,
): void {
  taskRange(
    c,
    () => c.get(task),
    () => arg(0),
    () => arg(1),
    r,
    r1,
  );
  c.for(
    r,
    (c) => c.get(r),
    (c) => c.get(r1),
    1,
    body,
  );
}

/** Push the byte address of row `r` of rows of `n` floats (pushed by `n`) at word `w`. */
export function rowAddress(
  c: Code,
  arg: (w: number) => Code,
  w: number,
  r: Local,
  n: () => void,
): void {
  arg(w).get(r);
  n();
  c.i32.mul().i32.const(4).i32.mul().i32.add();
}

/**
 * Over the elements of a row of n floats at `base`: `vec` for each whole vector (address on
 * the stack builder `at`), `one` for each of the last n mod 4 (scalar address).
 */
export function overRow(
  c: Code,
  base: Local,
  n: Local,
  i: Local,
  vec: (at: () => void) => void,
  one: (at: () => void) => void,
) {
  const end4 = c.local('i32');
  c.get(n).i32.const(-4).i32.and().set(end4);
  const at = () => c.get(base).get(i).i32.const(4).i32.mul().i32.add();
  c.for(
    i,
    (c) => c.i32.const(0),
    (c) => c.get(end4),
    4,
    () => vec(at),
  );
  c.for(
    i,
    (c) => c.get(end4),
    (c) => c.get(n),
    1,
    () => one(at),
  );
}

/** Horizontal reduction of a vector's 4 lanes with a binary f32 op, in lane order. */
export function horizontal(c: Code, v: Local, op: (c: Code) => void) {
  c.get(v).f32x4.extract_lane(0);
  for (let l = 1; l < 4; l++) {
    c.get(v).f32x4.extract_lane(l);
    op(c);
  }
}

/**
 * Store vector `v` at the address `at` pushes, whole when `end − from` ≥ 4, else only its
 * first end − from lanes (the tail of a row: the lanes past it were computed and are
 * dropped).
 */
export function storeLanes(c: Code, at: () => void, v: Local, from: Local, end: Local): void {
  c.get(end)
    .get(from)
    .i32.sub()
    .i32.const(4)
    .i32.ge_s()
    .if(
      () => {
        at();
        c.get(v).v128.store(0, 0);
      },
      (c) => {
        for (let l = 0; l < 3; l++)
          c.get(from)
            .i32.const(l)
            .i32.add()
            .get(end)
            .i32.lt_s()
            .if(() => {
              at();
              c.get(v)
                .f32x4.extract_lane(l)
                .f32.store(4 * l);
            });
      },
    );
}
