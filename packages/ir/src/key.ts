/**
 * One canonical key for attribute and constant values, with `Object.is` semantics: NaN ≡
 * NaN, −0 ≢ 0, inf ≢ −inf, and a number never equals its string. `JSON.stringify` is not
 * one: it writes ±Infinity and NaN as `null` and −0 as `0`, so two constants that differ
 * only there would look the same (and CSE would merge them).
 */
export function canonicalKey(v: unknown): string {
  switch (typeof v) {
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v); // String gives NaN, Infinity, -Infinity
    case 'bigint':
      return `${v}n`;
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return 'undefined';
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v) || ArrayBuffer.isView(v)) {
        const items = Array.from(v as ArrayLike<unknown>, canonicalKey);
        const tag = Array.isArray(v) ? '' : (v as object).constructor.name;
        return `${tag}[${items.join(',')}]`;
      }
      const keys = Object.keys(v).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalKey((v as Record<string, unknown>)[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalKey: cannot key a ${typeof v}`);
  }
}

/** Equality under the canonical key (`Object.is` on every number inside). */
export function sameValue(a: unknown, b: unknown): boolean {
  return canonicalKey(a) === canonicalKey(b);
}
