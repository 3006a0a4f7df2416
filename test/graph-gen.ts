import type { Dim, Graph, GraphBuilder, Tensor, Val } from '@glimpse/ir';
import { buildGraph, concreteShape, fromNumbers, randomStream, toNumbers } from '@glimpse/ir';
import { tensor } from './helpers.js';

/**
 * A random-graph generator for property tests: a few inputs (some with symbolic dims),
 * then a chain of random ops picked among those whose shape rules the current values
 * satisfy. Values stay moderate (tanh/scale/layer_norm keep them bounded), so f32 and
 * f64 agree within F32_TOL. With `hostileNames`, value names are arbitrary strings.
 */
export interface GenOptions {
  seed: number;
  nodes: number;
  hostileNames?: boolean;
  /**
   * Also draw special-value steps about half the time: constants and scale factors NaN,
   * ±inf, ±0, huge, tiny and subnormal; x−x, x/x, x·0, x+0, x+(−0), equal(x, x); scale
   * chains; a scaled operand of a matmul; exp and sqrt; division by constants.
   */
  special?: boolean;
  /**
   * An f16 graph (f16 is storage, computation f32: docs/design.md): inputs, params and
   * constants f16, f16's own special values (65504, subnormals from 2⁻²⁴, values past 65520
   * that are inf once stored); inputs that arrive as f32 and are cast in, or go f16 → f32 ×2ᵏ
   * → f16 (overflowing to ±inf, falling to subnormals and 0) and back; outputs f16 or cast
   * out to f32. With `special`, casts to f16 of computed values in the middle too.
   */
  f16?: boolean;
}

type Float = 'f32' | 'f16';

/** Special and extreme numbers for constants, factors and inputs (all exact in f32). */
export const SPECIAL_NUMBERS = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  1,
  -1,
  2,
  0.5,
  3,
  1e30,
  -1e30,
  1e-30,
  Math.fround(1e-40), // subnormal in f32
  Math.fround(3e38),
  -Math.fround(3e38),
].map((x) => Math.fround(x));

/** f16's special and extreme numbers: as stored, 1e5 is inf and 1e-8 is 0. */
export const F16_SPECIAL_NUMBERS = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  1,
  -1,
  2,
  0.5,
  3,
  65504, // f16's largest
  -65504,
  2 ** -24, // its smallest subnormal
  -(2 ** -24),
  3 * 2 ** -24,
  2 ** -14, // its smallest normal
  1e5,
  1e-8,
];

/** The special numbers of a float dtype. */
export const specialsOf = (d: string): readonly number[] =>
  d === 'f16' ? F16_SPECIAL_NUMBERS : SPECIAL_NUMBERS;

const HOSTILE = [
  'a b',
  'q"uote',
  'x%y',
  '}; return 1; {',
  'ünï',
  'back\\slash',
  '-lead',
  '0num',
  'dot.ted',
  'new\nline',
  '',
];

export function randomGraph(o: GenOptions): { graph: Graph; binding: Record<string, number> } {
  const rnd = randomStream(o.seed, 'graph-gen');
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let counter = 0;
  const name = (hint: string) =>
    o.hostileNames && rnd() < 0.5 ? `${pick(HOSTILE)}${counter++}` : `${hint}${counter++}`;
  const binding = { B: int(1, 3), T: int(1, 5) };
  const graph = buildGraph(
    'random',
    (b) => {
      const D = int(1, 4) * 2;
      const dt: Float = o.f16 ? 'f16' : 'f32';
      const vals: Val[] = [];
      const nIn = int(1, 2);
      for (let i = 0; i < nIn; i++) {
        const sym = rnd() < 0.5;
        const shape: Dim[] = sym ? ['B', 'T', D] : [binding.B, int(1, 4), D];
        vals.push(o.f16 ? f16Input(b, shape, rnd, pick, name) : b.input(name('in'), dt, shape));
      }
      for (let n = 0; n < o.nodes; n++) {
        // Prefer recent values so that chains get deep, not just wide.
        const x =
          rnd() < 0.6
            ? vals[vals.length - 1 - Math.floor(rnd() * Math.min(3, vals.length))]!
            : pick(vals);
        const y =
          o.special && rnd() < 0.5
            ? specialStep(b, x, dt, rnd, int, pick, name)
            : step(b, x, vals, dt, rnd, int, pick, name);
        if (y) vals.push(y);
      }
      // Outputs: the last value and one random other (exercises multi-output graphs); an f16
      // one now and then cast out to f32 (it shows the f32 the backends hold).
      const outs = [vals[vals.length - 1]!];
      const other = pick(vals);
      if (other !== outs[0]) outs.push(other);
      return o.f16 && rnd() < 0.5
        ? [b.op('cast', [outs[0]!], { to: 'f32' }, name('out')), ...outs.slice(1)]
        : outs;
    },
    { seed: o.seed >>> 0 },
  );
  return { graph, binding };
}

/**
 * An f16 graph's input: f16 as given; f32 cast in (rounded to f16, ±inf past 65520); or f16
 * taken through f32 scaled by 2ᵏ and cast back (exact in f32 and float64 alike, so the one
 * rounding is the cast's: ±inf past 65520, subnormals, 0), then scaled back.
 */
function f16Input(
  b: GraphBuilder,
  shape: Dim[],
  rnd: () => number,
  pick: <T>(xs: readonly T[]) => T,
  name: (h: string) => string,
): Val {
  const r = rnd();
  if (r < 0.5) return b.input(name('in'), 'f16', shape);
  if (r < 0.75) return b.op('cast', [b.input(name('in'), 'f32', shape)], { to: 'f16' }, name('ci'));
  const k = pick([16, 20, -16, -30]);
  const w = b.op('cast', [b.input(name('in'), 'f16', shape)], { to: 'f32' }, name('cw'));
  const h = b.op(
    'cast',
    [b.op('scale', [w], { factor: 2 ** k }, name('sk'))],
    { to: 'f16' },
    name('ch'),
  );
  return b.op('scale', [h], { factor: 2 ** -k }, name('sb'));
}

function specialStep(
  b: GraphBuilder,
  x: Val,
  dt: Float,
  rnd: () => number,
  int: (lo: number, hi: number) => number,
  pick: <T>(xs: readonly T[]) => T,
  name: (h: string) => string,
): Val | undefined {
  const s = x.type.shape;
  const r = s.length;
  const numbers = specialsOf(dt);
  const c = () => b.constant(pick(numbers), dt, [], name('c'));
  const factor = () => pick(numbers);
  const bin = pick(['add', 'sub', 'mul', 'div'] as const);
  switch (int(0, dt === 'f16' ? 11 : 9)) {
    case 0:
      return rnd() < 0.5
        ? b.op(bin, [x, c()], {}, name('bc'))
        : b.op(bin, [c(), x], {}, name('cb'));
    case 1:
      return b.op('scale', [x], { factor: factor() }, name('sc'));
    case 2: {
      const inner = b.op('scale', [x], { factor: factor() }, name('sc'));
      return b.op('scale', [inner], { factor: factor() }, name('sc'));
    }
    case 3:
      // x−x, x/x, x·x, x+x: not 0, 1 or anything else for NaN and inf
      return b.op(bin, [x, x], {}, name('xx'));
    case 4: {
      // identities that are not: x+0 (−0+0 = +0), x·1, x−0, x+(−0), x·0
      const k = pick([0, -0, 1] as const);
      return b.op(
        pick(['add', 'sub', 'mul'] as const),
        [x, b.constant(k, dt, [], name('k'))],
        {},
        name('id'),
      );
    }
    case 5: {
      const eq = b.op('equal', [x, x], {}, name('eq'));
      return b.op('where', [eq, x, c()], {}, name('wh'));
    }
    case 6:
      return b.op(pick(['exp', 'sqrt'] as const), [x], {}, name('u'));
    case 7: {
      // a scaled operand of a matmul: the scale may move to the product
      if (r < 2) return undefined;
      const sc = b.op('scale', [x], { factor: factor() }, name('sc'));
      return rnd() < 0.5
        ? b.bmm(sc, x, { transpose_b: true }, name('mm'))
        : b.bmm(x, sc, { transpose_b: true }, name('mm'));
    }
    case 8:
      return b.op(
        'div',
        [x, b.constant(pick([2, 4, 0.25, 3, 10, 0, -0, Infinity]), dt, [], name('d'))],
        {},
        name('dv'),
      );
    case 10: {
      // f16 only: a computed value through f32 (scaled) and back to f16, rounded where it is
      // cast: past 65520 ±inf, subnormals, 0 (a Llama RMSNorm's cast to f32 and back).
      const w = b.op('cast', [x], { to: 'f32' }, name('cw'));
      const sc = b.op('scale', [w], { factor: factor() }, name('sc'));
      return b.op('cast', [sc], { to: 'f16' }, name('ch'));
    }
    case 11: {
      // f16 only: arithmetic on f16 constants (constant folding's case), then on x.
      const k = b.op(bin, [c(), c()], {}, name('cc'));
      return b.op(pick(['add', 'mul'] as const), [x, k], {}, name('xk'));
    }
    default:
      return r >= 1 ? b.op('softmax', [x], { axis: -1 }, name('sm')) : undefined;
  }
}

function step(
  b: GraphBuilder,
  x: Val,
  vals: Val[],
  dt: Float,
  rnd: () => number,
  int: (lo: number, hi: number) => number,
  pick: <T>(xs: readonly T[]) => T,
  name: (h: string) => string,
): Val | undefined {
  const s = x.type.shape;
  const r = s.length;
  const last = s[r - 1];
  const same = vals.filter(
    (v) => v.type.shape.length === r && v.type.shape.every((d, i) => d === s[i]),
  );
  const param = (shape: number[]) =>
    b.param(name('p'), dt, shape, { kind: 'uniform', low: -0.5, high: 0.5 });
  switch (int(0, 13)) {
    case 0:
      return b.op(
        pick(['relu', 'gelu', 'gelu_tanh', 'tanh', 'sigmoid', 'erf', 'abs'] as const),
        [x],
        {},
        name('u'),
      );
    case 1:
      return b.op('scale', [x], { factor: pick([0.5, -1.25, 0.125]) }, name('sc'));
    case 2:
      return b.op(pick(['add', 'sub', 'mul'] as const), [x, pick(same)], {}, name('bin'));
    case 3:
      // broadcast against a param shaped like a suffix
      return typeof last === 'number'
        ? b.op(pick(['add', 'mul'] as const), [x, param([last])], {}, name('bc'))
        : undefined;
    case 4: {
      if (typeof last !== 'number') return undefined;
      const out = int(1, 6);
      return b.linear(x, param([out, last]), rnd() < 0.5 ? param([out]) : undefined, name('lin'));
    }
    case 5:
      return r >= 1 ? b.op('softmax', [x], { axis: int(-r, r - 1) }, name('sm')) : undefined;
    case 6: {
      const perm = [...Array(r).keys()].sort(() => rnd() - 0.5);
      return b.transpose(x, perm, name('tr'));
    }
    case 7:
      if (typeof last !== 'number' || r < 1) return undefined;
      return rnd() < 0.5
        ? b.op('layer_norm', [x, param([last]), param([last])], {}, name('ln'))
        : b.op('rms_norm', [x, param([last])], {}, name('rms'));
    case 8:
      return r >= 2
        ? b.op('reduce_mean', [x], { axes: [int(0, r - 1)], keepdims: true }, name('rm'))
        : undefined;
    case 9: {
      // x · xᵀ over the last two axes, then back to bounded values
      if (r < 2) return undefined;
      const sc = b.bmm(x, x, { transpose_b: true }, name('mm'));
      return b.op('tanh', [sc], {}, name('mmt'));
    }
    case 10: {
      if (typeof last !== 'number' || last % 2 !== 0) return undefined;
      const rs = b.reshape(x, [...s.slice(0, -1), last / 2, 2] as Dim[], name('rs'));
      return b.reshape(rs, s as Dim[], name('rsb'));
    }
    case 11: {
      if (typeof last !== 'number' || last < 2) return undefined;
      const k = int(1, last - 1);
      const [a, c] = b.opN('split', [x], { axis: -1, sizes: [k, last - k] }, [
        name('sp'),
        name('sp'),
      ]);
      return b.op('concat', [c!, a!], { axis: -1 }, name('cat'));
    }
    case 12: {
      if (r < 2) return undefined;
      const m = b.op('tril', [x], { k: int(-1, 1) }, name('tri'));
      return b.op('where', [m, x, b.constant(0, dt, [], name('zero'))], {}, name('wh'));
    }
    default:
      return typeof last === 'number'
        ? b.op(
            'slice',
            [x],
            { axis: -1, start: int(-last, last - 1), end: int(1, last) + 1 },
            name('sl'),
          )
        : undefined;
  }
}

/**
 * Values in [-1, 1] for a random graph's inputs; in f16 graphs a fifth of them f16's special
 * values that keep the graph well conditioned: NaN, ±inf, ±0, subnormals, the smallest
 * normal, and 1e5 (inf once stored, or once an f32 input is cast in). 65504 itself is left
 * to the special-value suite: next to it f32's own rounding of a sum (±0.004) is no longer
 * within F32_TOL of what cancels after.
 */
export function graphInputs(
  g: Graph,
  binding: Record<string, number>,
  seed: number,
): Record<string, Tensor> {
  const f16 = g.inputs.some((inp) => inp.type.dtype === 'f16');
  const rnd = randomStream(seed, 'f16-inputs');
  const specials = [NaN, Infinity, -Infinity, 0, -0, 2 ** -24, -(2 ** -23), 2 ** -14, 1e5];
  return Object.fromEntries(
    g.inputs.map((inp, i) => {
      const t = tensor(inp.type.dtype, concreteShape(inp.type.shape, binding), seed + i);
      if (!f16) return [inp.name, t];
      const v = Array.from(toNumbers(t), (x) =>
        rnd() < 0.2 ? specials[Math.floor(rnd() * specials.length)]! : x,
      );
      return [inp.name, fromNumbers(t.dtype, [...t.shape], v)];
    }),
  );
}
