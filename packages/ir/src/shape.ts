import { ShapeError } from './errors.js';
import { own, setOwn } from './own.js';

/** A dimension: a known size or a symbol bound at run time (`'B'`, `'T'`). */
export type Dim = number | string;
export type Shape = readonly Dim[];
/** Values for symbols. */
export type Binding = Readonly<Record<string, number>>;

export const SYMBOL_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isSymbol(d: Dim): d is string {
  return typeof d === 'string';
}

export function shapeToString(s: Shape): string {
  return `[${s.join(',')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Normalise a possibly negative axis for a tensor of rank `rank`; undefined when out of range. */
export function normAxis(axis: number, rank: number): number | undefined {
  const a = axis < 0 ? axis + rank : axis;
  return Number.isInteger(a) && a >= 0 && a < rank ? a : undefined;
}

/**
 * Numpy broadcasting over symbolic dims. Two dims combine when equal or when one is 1; a
 * symbol against a number other than 1 is rejected (we cannot prove they agree).
 */
export function broadcastShapes(shapes: readonly Shape[]): Shape | string {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const e = s[s.length - rank + i] ?? 1;
      if (e === 1 || e === d) continue;
      if (d === 1) d = e;
      else return `dims ${String(d)} and ${String(e)} do not broadcast (axis ${i - rank})`;
    }
    out.push(d);
  }
  return out;
}

/**
 * `base`, or `base` + sep + the first counter that `taken` does not hold. A Set records the
 * name; a Map (the builder's types) is filled by the caller when it defines the value.
 */
export function uniqueName(
  base: string,
  taken: { has(n: string): boolean; add?(n: string): unknown },
  sep = '',
): string {
  let n = base;
  for (let i = 1; taken.has(n); i++) n = `${base}${sep}${i}`;
  taken.add?.(n);
  return n;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides. */
export function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i]!;
  }
  return st;
}

/** Strides to read a tensor of `shape` as if broadcast to `outShape` (0 on broadcast axes). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const st = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : st[i - off]!));
}

/** Largest tensor we agree to allocate (elements). Guards allocations sized by data. */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/** Resolve a symbolic shape under a binding; throws a ShapeError naming the unbound symbol. */
export function concreteShape(s: Shape, binding: Binding, what = 'value'): number[] {
  const out = s.map((d) => {
    if (typeof d === 'number') return d;
    const v = own(binding, d);
    if (v === undefined) throw new ShapeError(`symbol ${d} of ${what} is not bound`);
    return v;
  });
  if (numel(out) > MAX_ELEMENTS)
    throw new ShapeError(`${what} of shape ${shapeToString(out)} is too large`);
  return out;
}

/**
 * Match a concrete shape against a symbolic one, extending `binding` with the symbols it
 * fixes. Returns an error message, or undefined when the shapes agree.
 */
export function bindShape(sym: Shape, got: readonly number[], binding: Record<string, number>) {
  if (sym.length !== got.length)
    return `expected rank ${sym.length} ${shapeToString(sym)}, got ${shapeToString(got)}`;
  for (let i = 0; i < sym.length; i++) {
    const d = sym[i]!;
    const g = got[i]!;
    if (typeof d === 'number') {
      if (d !== g) return `expected ${shapeToString(sym)}, got ${shapeToString(got)} (axis ${i})`;
    } else if (own(binding, d) === undefined) {
      setOwn(binding, d, g);
    } else if (binding[d] !== g) {
      return `symbol ${d} is ${binding[d]} elsewhere but ${g} here: expected ${shapeToString(sym)}, got ${shapeToString(got)}`;
    }
  }
  return undefined;
}

/**
 * The most bytes one compiled graph may ask for (params plus planned buffers), so that a
 * file declaring huge shapes gets an error instead of exhausting memory. 8 GiB by default;
 * GLIMPSE_MAX_MEMORY (bytes) changes it.
 */
export function memoryLimit(): number {
  const env = typeof process !== 'undefined' ? process.env?.GLIMPSE_MAX_MEMORY : undefined;
  const n = env !== undefined ? Number(env) : NaN;
  return Number.isFinite(n) && n > 0 ? n : 8 * 2 ** 30;
}

export function checkAllocation(bytes: number, what: string): void {
  const limit = memoryLimit();
  if (bytes > limit)
    throw new ShapeError(
      `${what} needs ${(bytes / 2 ** 30).toFixed(2)} GiB, above the limit of ${(limit / 2 ** 30).toFixed(2)} GiB (GLIMPSE_MAX_MEMORY)`,
    );
}
