/**
 * Records keyed by names from files or command lines (value names, symbols, attributes,
 * options): `__proto__` must be a key like any other, and `constructor` or `toString` must
 * not find Object's members. Read such a record with `own`; make one with `dict`, which has
 * no prototype (so assigning `__proto__` stores it).
 */

/** `rec[k]` when `k` is `rec`'s own key, else undefined. */
export function own<T>(rec: Readonly<Record<string, T>> | undefined, k: string): T | undefined {
  return rec !== undefined && Object.hasOwn(rec, k) ? rec[k] : undefined;
}

/** A record without a prototype, filled from `entries`. */
export function dict<T>(entries: Iterable<readonly [string, T]> = []): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  for (const [k, v] of entries) out[k] = v;
  return out;
}

/** `rec[k] = v` as an own property, even for `k` = `__proto__` on an ordinary object. */
export function setOwn<T>(rec: Record<string, T>, k: string, v: T) {
  Object.defineProperty(rec, k, { value: v, writable: true, enumerable: true, configurable: true });
}
