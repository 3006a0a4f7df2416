import type { Dim, Graph, GraphBuilder, Val } from '@glimpse/ir';
import { buildGraph, randomStream } from '@glimpse/ir';

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
}

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
      const vals: Val[] = [];
      const nIn = int(1, 2);
      for (let i = 0; i < nIn; i++) {
        const sym = rnd() < 0.5;
        vals.push(b.input(name('in'), 'f32', sym ? ['B', 'T', D] : [binding.B, int(1, 4), D]));
      }
      for (let n = 0; n < o.nodes; n++) {
        // Prefer recent values so that chains get deep, not just wide.
        const x =
          rnd() < 0.6
            ? vals[vals.length - 1 - Math.floor(rnd() * Math.min(3, vals.length))]!
            : pick(vals);
        const y =
          o.special && rnd() < 0.5
            ? specialStep(b, x, vals, rnd, int, pick, name)
            : step(b, x, vals, rnd, int, pick, name);
        if (y) vals.push(y);
      }
      // Outputs: the last value and one random other (exercises multi-output graphs).
      const outs = [vals[vals.length - 1]!];
      const other = pick(vals);
      if (other !== outs[0]) outs.push(other);
      return outs;
    },
    { seed: o.seed >>> 0 },
  );
  return { graph, binding };
}

function specialStep(
  b: GraphBuilder,
  x: Val,
  _vals: Val[],
  rnd: () => number,
  int: (lo: number, hi: number) => number,
  pick: <T>(xs: readonly T[]) => T,
  name: (h: string) => string,
): Val | undefined {
  const s = x.type.shape;
  const r = s.length;
  const c = () => b.constant(pick(SPECIAL_NUMBERS), 'f32', [], name('c'));
  const bin = pick(['add', 'sub', 'mul', 'div'] as const);
  switch (int(0, 9)) {
    case 0:
      return rnd() < 0.5
        ? b.op(bin, [x, c()], {}, name('bc'))
        : b.op(bin, [c(), x], {}, name('cb'));
    case 1:
      return b.op('scale', [x], { factor: pick(SPECIAL_NUMBERS) }, name('sc'));
    case 2: {
      const inner = b.op('scale', [x], { factor: pick(SPECIAL_NUMBERS) }, name('sc'));
      return b.op('scale', [inner], { factor: pick(SPECIAL_NUMBERS) }, name('sc'));
    }
    case 3:
      // x−x, x/x, x·x, x+x: not 0, 1 or anything else for NaN and inf
      return b.op(bin, [x, x], {}, name('xx'));
    case 4: {
      // identities that are not: x+0 (−0+0 = +0), x·1, x−0, x+(−0), x·0
      const k = pick([0, -0, 1] as const);
      return b.op(
        pick(['add', 'sub', 'mul'] as const),
        [x, b.constant(k, 'f32', [], name('k'))],
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
      const sc = b.op('scale', [x], { factor: pick(SPECIAL_NUMBERS) }, name('sc'));
      return rnd() < 0.5
        ? b.bmm(sc, x, { transpose_b: true }, name('mm'))
        : b.bmm(x, sc, { transpose_b: true }, name('mm'));
    }
    case 8:
      return b.op(
        'div',
        [x, b.constant(pick([2, 4, 0.25, 3, 10, 0, -0, Infinity]), 'f32', [], name('d'))],
        {},
        name('dv'),
      );
    default:
      return r >= 1 ? b.op('softmax', [x], { axis: -1 }, name('sm')) : undefined;
  }
}

function step(
  b: GraphBuilder,
  x: Val,
  vals: Val[],
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
    b.param(name('p'), 'f32', shape, { kind: 'uniform', low: -0.5, high: 0.5 });
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
      return b.op('where', [m, x, b.constant(0, 'f32', [], name('zero'))], {}, name('wh'));
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
