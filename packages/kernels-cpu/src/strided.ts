import { broadcastStrides, numel } from '@glimpse/ir';

/**
 * The one N-d index helper of the JS backend: walks `shape` in row-major order and calls
 * `fn(outIndex, offsets)` with each operand's flat offset under its strides. Dimensions of
 * size 1 and runs of axes that are contiguous for every operand are merged first, so most
 * broadcasts run as one or two flat loops.
 */
export function walk(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  fn: (o: number, offs: Int32Array | number[]) => void,
) {
  const [dims, st] = collapse(shape, strides);
  const n = numel(shape);
  const r = dims.length;
  const k = st.length;
  const offs = new Array<number>(k).fill(0);
  const idx = new Array<number>(r).fill(0);
  const inner = r > 0 ? dims[r - 1]! : 1;
  const innerSt = st.map((s) => (r > 0 ? s[r - 1]! : 0));
  for (let o = 0; o < n;) {
    const base = offs.slice();
    for (let i = 0; i < inner; i++, o++) {
      fn(o, offs);
      for (let s = 0; s < k; s++) offs[s]! += innerSt[s]!;
    }
    for (let s = 0; s < k; s++) offs[s] = base[s]!;
    for (let a = r - 2; a >= 0; a--) {
      idx[a]!++;
      for (let s = 0; s < k; s++) offs[s]! += st[s]![a]!;
      if (idx[a]! < dims[a]!) break;
      for (let s = 0; s < k; s++) offs[s]! -= st[s]![a]! * dims[a]!;
      idx[a] = 0;
    }
  }
}

/** Drop size-1 axes and merge neighbours that are contiguous in every operand. */
export function collapse(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): [number[], number[][]] {
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let a = 0; a < shape.length; a++) {
    const d = shape[a]!;
    if (d === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, i) => st[i]![last]! === s[a]! * d)) {
      dims[last]! *= d;
      strides.forEach((s, i) => (st[i]![last] = s[a]!));
    } else {
      dims.push(d);
      strides.forEach((s, i) => st[i]!.push(s[a]!));
    }
  }
  return [dims, st];
}

export { broadcastStrides };
