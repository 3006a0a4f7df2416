import type { Code, Local } from '@glimpse/asm';

/**
 * How a kernel's argument block is laid out: each field of `argLayout`'s list takes the next
 * words of the block. A name is one i32 word; `[name, n]` is n consecutive i32 words (per
 * axis, or an operand's base and strides), read at `layout.name + i`; `[name, 'f32']` is one
 * f32 word. The emitter reads the words by name (`arg(L.rows)`) and the host writes them by
 * name (`writeArgs`), from the one layout: the code and the block cannot drift apart.
 */
export type ArgField = string | readonly [name: string, words: number | 'f32'];

type FieldName<F> = F extends string
  ? F
  : F extends readonly [infer N extends string, unknown]
    ? N
    : never;

/** A layout: the word of each field, `words` (the block's size), and its fields (for writers). */
export type ArgLayout<F extends readonly ArgField[] = readonly ArgField[]> = {
  readonly [E in F[number] as FieldName<E>]: number;
} & { readonly words: number; readonly fields: F };

/** What the host writes for each field: a number, an array for a run of words. */
export type ArgValues<F extends readonly ArgField[]> = {
  readonly [E in F[number] as FieldName<E>]: E extends readonly [string, number]
    ? readonly number[]
    : number;
};

/** The layout of `fields`, in order from word 0 (`words` and `fields` are not field names). */
export function argLayout<const F extends readonly ArgField[]>(fields: F): ArgLayout<F> {
  const layout: Record<string, unknown> = {};
  let w = 0;
  for (const f of fields) {
    const [name, n] = typeof f === 'string' ? [f, 1] : [f[0], f[1] === 'f32' ? 1 : f[1]];
    if (name === 'words' || name === 'fields' || name in layout)
      throw new Error(`argument field '${name}' is reserved or repeated`);
    layout[name] = w;
    w += n;
  }
  layout.words = w;
  layout.fields = fields;
  return Object.freeze(layout) as ArgLayout<F>;
}

/**
 * The words every kernel split over rows by `forTaskRows` starts with: rows per task, then
 * the rows (its layout begins `argLayout([...TASK_ROWS, …])`).
 */
export const TASK_ROWS = ['perTask', 'rows'] as const;
const ROWS = argLayout(TASK_ROWS);

/** A reader of the argument block at local `args`: arg(w) pushes its i32 word w. */
export const argReader =
  (c: Code, args: Local) =>
  (w: number): Code =>
    c.get(args).i32.load(4 * w);

/**
 * Write an argument block from the host, every field of `layout` by name: numbers as i32
 * (f32 fields as f32), runs of words from arrays (as many words as the run has).
 */
export function writeArgs<F extends readonly ArgField[]>(
  mem: { readonly i32: Int32Array; readonly f32: Float32Array },
  args: number,
  layout: ArgLayout<F>,
  values: ArgValues<F>,
): void {
  const w = args >>> 2;
  const at = layout as unknown as Record<string, number>;
  const vals = values as unknown as Record<string, number | readonly number[]>;
  for (const f of layout.fields) {
    if (typeof f === 'string') mem.i32[w + at[f]!] = vals[f] as number;
    else if (f[1] === 'f32') mem.f32[w + at[f[0]]!] = vals[f[0]] as number;
    else {
      const run = vals[f[0]] as readonly number[];
      if (run.length > f[1]) throw new Error(`argument field '${f[0]}' takes ${f[1]} words`);
      for (let i = 0; i < run.length; i++) mem.i32[w + at[f[0]]! + i] = run[i]!;
    }
  }
}

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
 * For each row r of this task (`taskRange` with rows per task and rows in the block's
 * first words, `TASK_ROWS`), `body` — the loop every row-split kernel runs.
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
    () => arg(ROWS.perTask),
    () => arg(ROWS.rows),
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
