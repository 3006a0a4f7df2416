import type { Code, Local } from '@glimpse/asm';

/** A reader of the argument block at local `args`: arg(w) pushes its i32 word w. */
export const argReader =
  (c: Code, args: Local) =>
  (w: number): Code =>
    c.get(args).i32.load(4 * w);

/**
 * The rows of task `task` of a row-split kernel: r := task·per, r1 := min(r + per, rows),
 * where per and rows are words `perWord` and `rowsWord` of the argument block.
 */
export function taskRows(
  c: Code,
  task: Local,
  arg: (w: number) => Code,
  perWord: number,
  rowsWord: number,
  r: Local,
  r1: Local,
): void {
  c.get(task);
  arg(perWord);
  c.i32.mul().set(r);
  c.get(r);
  arg(perWord);
  c.i32.add().set(r1);
  c.atMost(r1, () => arg(rowsWord));
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
 * For each row r of this task (`taskRows` with rows per task and rows in words 0 and 1),
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
  taskRows(c, task, arg, 0, 1, r, r1);
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
