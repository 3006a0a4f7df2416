import type { Graph, Param } from './graph.js';
import { InputError } from './errors.js';
import { checkAllocation } from './budget.js';
import { numel } from './shape.js';
import type { Tensor } from './tensor.js';
import { fromNumbers, roundF16, toNumbers } from './tensor.js';

/** splitmix32: small, fast and well distributed; state fully determined by the seed. */
function splitmix32(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string, to derive a per-name stream from one seed. */
function hash(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** A deterministic stream of uniform [0,1) numbers for (seed, name). */
export function randomStream(seed: number, name: string): () => number {
  return splitmix32(hash(name, seed));
}

/**
 * Values of a param (f64): loaded data, or its seeded initialiser. The same (graph seed,
 * param name) always gives the same values, whatever else is in the graph.
 */
export function paramValues(p: Param, seed: number): Float64Array {
  const init = p.init;
  // Loaded data by value: f16 words decoded (not their bit patterns), i64 as numbers.
  if (init.kind === 'data')
    return toNumbers({ dtype: p.type.dtype, shape: p.type.shape as number[], data: init.data });
  if (init.kind === 'external')
    throw new InputError(`param %${p.name} has no values: load weights for it`, { value: p.name });
  const n = numel(p.type.shape as number[]);
  checkAllocation(
    n * 8,
    `param %${p.name} ${p.type.dtype}[${p.type.shape.join(',')}] (float64 while made)`,
  );
  const out = new Float64Array(n);
  if (init.kind === 'fill') out.fill(init.value);
  const rnd = randomStream(seed, p.name);
  if (init.kind === 'fill') {
    // filled above
  } else if (init.kind === 'uniform') {
    for (let i = 0; i < n; i++) out[i] = init.low + (init.high - init.low) * rnd();
  } else {
    for (let i = 0; i < n; i++) {
      const u = 1 - rnd();
      out[i] = init.mean + init.std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
    }
  }
  // Params are stored in their dtype: the oracle must see the same rounded values.
  if (p.type.dtype === 'f32') for (let i = 0; i < n; i++) out[i] = Math.fround(out[i]!);
  if (p.type.dtype === 'f16') for (let i = 0; i < n; i++) out[i] = roundF16(out[i]!);
  return out;
}

/** A param as a tensor of its dtype: loaded data as is, or its seeded initialiser. */
export function paramTensor(p: Param, seed: number): Tensor {
  const shape = p.type.shape as number[];
  return p.init.kind === 'data'
    ? { dtype: p.type.dtype, shape, data: p.init.data }
    : fromNumbers(p.type.dtype, shape, paramValues(p, seed));
}
