/**
 * Random attention graphs in the forms models and exporters write them — every scale form,
 * mask kind, causal form, layout and GQA ratio — with inputs carrying special values (NaN,
 * ±1e4 logits, masks that mask whole rows). Shared by the fusion tests of both backends.
 */
import fc from 'fast-check';
import type { Dim, Graph, GraphBuilder, Tensor, Val } from '@glimpse/ir';
import { buildGraph, concreteShape, fromNumbers, interpret, randomStream } from '@glimpse/ir';
import { compileJs } from '@glimpse/backend-js';
import { assertClose } from './helpers.js';
import { expectRowsEqual, infColumns } from './special.js';

export const caseArb = fc.record({
  B: fc.integer({ min: 1, max: 2 }),
  Hkv: fc.integer({ min: 1, max: 2 }),
  group: fc.integer({ min: 1, max: 3 }),
  T: fc.integer({ min: 1, max: 6 }),
  S: fc.integer({ min: 1, max: 7 }),
  dh: fc.integer({ min: 1, max: 9 }),
  dv: fc.integer({ min: 1, max: 5 }),
  layout: fc.constantFrom('3d', '4d', 'heads', 'heads-k0231', 'gqa-expand'),
  scale: fc.constantFrom('none', 'div', 'mul', 'mul-first', 'scale', 'q-scaled', 'sqrt-both'),
  mask: fc.constantFrom(
    'none',
    'additive',
    'additive-first',
    'hf',
    'hf-min',
    'bool-keep',
    'masked-fill-inf',
    'masked-fill-min',
    'bias-param',
    'bool-bias',
  ),
  /** ONNX's row guard: where(reduce_max(bias) = -inf, 0, softmax)·v (additive masks, no causal). */
  guard: fc.boolean(),
  /** PyTorch 2's SDPA export guard: where(isnan(softmax), 0, softmax)·v (any form). */
  nanGuard: fc.boolean(),
  causal: fc.constantFrom('none', 'none', 'where-tril', 'additive-triangle', 'eager-buffer'),
  /**
   * Eager attention's causal fill: where(constant lower-triangular buffer, s, fill) before
   * the mask (finfo.min as transformers writes it; other values for their special cases).
   */
  causalFill: fc.constantFrom(
    -3.4028234663852886e38,
    -3.4028234663852886e38,
    -1e4,
    -0,
    NaN,
    Infinity,
  ),
  softcap: fc.constantFrom(0, 0, 0, 4),
  special: fc.constantFrom(0, 0, 0.03),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});
export type Case = typeof caseArb extends fc.Arbitrary<infer C> ? C : never;

/**
 * A boolean mask under an additive causal triangle does not fuse (the op has one mask and
 * no exact way to apply a boolean one before an additive one); that combination is tested
 * as not fused elsewhere, and drawn here as additive.
 */
export function normalise(c: Case): Case {
  if (c.causal === 'additive-triangle' && /bool|masked-fill/.test(c.mask))
    c = { ...c, mask: 'additive' };
  const additive = /additive|hf|bias/.test(c.mask);
  if (c.guard && !(additive && c.causal === 'none')) c = { ...c, guard: false };
  return c;
}

export function build(c: Case): Graph {
  const causal = c.causal !== 'none';
  // T stays symbolic unless a constant or a param must match it.
  const eager = c.causal === 'eager-buffer';
  const T: Dim = c.causal === 'additive-triangle' || c.mask === 'bias-param' || eager ? c.T : 'T';
  // Causal self-attention; the eager buffer also after a cache (S ≥ T, bottom-right).
  const S: Dim = eager ? Math.max(c.T, c.S) : causal ? T : c.S;
  const four = c.layout !== '3d';
  const H = four ? c.Hkv * (c.layout === 'gqa-expand' ? c.group : 1) : 1;
  return buildGraph('attn', (b) => {
    const head = (name: string, len: Dim, d: number, heads: number): Val => {
      if (c.layout === 'heads' || c.layout === 'heads-k0231') {
        const x = b.input(name, 'f32', ['B', len, heads * d]);
        const r = b.reshape(x, ['B', len, heads, d], `${name}4`);
        if (name === 'k' && c.layout === 'heads-k0231')
          return b.transpose(r, [0, 2, 3, 1], 'kt0231');
        return b.transpose(r, [0, 2, 1, 3], `${name}h`);
      }
      return b.input(name, 'f32', four ? ['B', heads, len, d] : ['B', len, d]);
    };
    const kvHeads = c.layout === 'gqa-expand' ? c.Hkv : H;
    let q = head('q', T, c.dh, H);
    let k = head('k', S, c.dh, kvHeads);
    let v = head('v', S, c.dv, kvHeads);
    const kIsT = c.layout === 'heads-k0231';
    const repeat = (x: Val, name: string) => {
      const [Bd, h, L, d] = x.type.shape as [Dim, number, Dim, number];
      const r5 = b.reshape(x, [Bd, h, 1, L, d], `${name}5`);
      const e = b.op('expand', [r5], { shape: [Bd, h, c.group, L, d] }, `${name}e`);
      return b.reshape(e, [Bd, h * c.group, L, d], `${name}r`);
    };
    if (c.layout === 'gqa-expand') {
      k = repeat(k, 'k');
      v = repeat(v, 'v');
    }
    const r = q.type.shape.length;
    const swap = [...Array(r).keys()].map((i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
    const f = 1 / Math.sqrt(c.dh);
    const cst = (x: number, name: string) => b.constant(x, 'f32', [], name);
    let kt = kIsT ? k : b.transpose(k, swap, 'kt');
    if (c.scale === 'q-scaled') q = b.op('scale', [q], { factor: f }, 'qs');
    if (c.scale === 'sqrt-both') {
      q = b.op('div', [q, cst(Math.sqrt(Math.sqrt(c.dh)), 'r4')], {}, 'qs');
      kt = b.op('mul', [kt, cst(1 / Math.sqrt(Math.sqrt(c.dh)), 'r4i')], {}, 'kts');
    }
    let s = b.bmm(q, kt, {}, 's');
    if (c.scale === 'div') s = b.op('div', [s, cst(Math.sqrt(c.dh), 'sqrtd')], {}, 'sd');
    if (c.scale === 'mul') s = b.op('mul', [s, cst(f, 'f')], {}, 'sm');
    if (c.scale === 'mul-first') s = b.op('mul', [cst(f, 'f'), s], {}, 'sm');
    if (c.scale === 'scale') s = b.op('scale', [s], { factor: f }, 'ss');
    if (c.softcap > 0) {
      const t = b.op('tanh', [b.op('scale', [s], { factor: 1 / c.softcap }, 'sc1')], {}, 'sct');
      s = b.op('scale', [t], { factor: c.softcap }, 'sc2');
    }
    const scores = s.type.shape;
    if (eager) {
      // The sliced buffer [1, 1, T, S] (transformers' bias[:, :, S−T:S, :S]): j ≤ i + S − T.
      const [nT, nS] = [c.T, S as number];
      const bits = Array.from({ length: nT * nS }, (_, e) =>
        e % nS <= Math.floor(e / nS) + nS - nT ? 1 : 0,
      );
      const buf = b.constant(bits, 'bool', [...(four ? [1] : []), 1, nT, nS], 'buf');
      s = b.op('where', [buf, s, cst(c.causalFill, 'cfill')], {}, 'eager');
    }
    const maskShape = four ? ['B', 1, T, S] : ['B', T, S];
    const masked = addMask(b, c, s, maskShape, scores);
    s = masked.s;
    if (c.causal === 'where-tril') {
      const t = b.op('tril', [s], {}, 'tri');
      s = b.op('where', [t, s, cst(-Infinity, 'ninf')], {}, 'causal');
    }
    if (c.causal === 'additive-triangle') {
      const n = c.T;
      const tri = Array.from({ length: n * n }, (_, i) =>
        i % n > Math.floor(i / n) ? -Infinity : 0,
      );
      s = b.op('add', [s, b.constant(tri, 'f32', [n, n], 'tri')], {}, 'causal');
    }
    let p = b.op('softmax', [s], { axis: -1 }, 'p');
    if (c.guard && masked.bias) {
      const r = masked.bias.type.shape.length;
      const mx = b.op('reduce_max', [masked.bias], { axes: [r - 1], keepdims: true }, 'rowmax');
      const none = b.op('equal', [mx, cst(-Infinity, 'ninf2')], {}, 'rowmasked');
      p = b.op('where', [none, cst(0, 'zero'), p], {}, 'guarded');
    } else if (c.nanGuard) {
      const nan = b.op('isnan', [p], {}, 'pnan');
      p = b.op('where', [nan, cst(0, 'zero'), p], {}, 'nanguarded');
    }
    return b.bmm(p, v, {}, 'y');
  });
}

/** The masked scores, and the additive bias they add (for ONNX's row guard). */
function addMask(
  b: GraphBuilder,
  c: Case,
  s: Val,
  maskShape: Dim[],
  scores: readonly Dim[],
): { s: Val; bias?: Val } {
  const cst = (x: number, name: string) => b.constant(x, 'f32', [], name);
  const add = (bias: Val, first = false) => ({
    s: b.op('add', first ? [bias, s] : [s, bias], {}, 'masked'),
    bias,
  });
  switch (c.mask) {
    case 'additive':
      return add(b.input('m', 'f32', maskShape));
    case 'additive-first':
      return add(b.input('m', 'f32', maskShape), true);
    case 'hf':
    case 'hf-min': {
      // (1 − m)·big: -10000 as BERT writes it, finfo.min as transformers now does.
      const big = c.mask === 'hf' ? -10000 : -3.4028234663852886e38;
      const m = b.input('m', 'f32', maskShape);
      return add(
        b.op('mul', [b.op('sub', [cst(1, 'one'), m], {}, 'inv'), cst(big, 'big')], {}, 'bias'),
      );
    }
    case 'bool-bias':
      return add(
        b.op(
          'where',
          [b.input('m', 'bool', maskShape), cst(0, 'open'), cst(-Infinity, 'shut')],
          {},
          'bias',
        ),
      );
    case 'bool-keep':
      return {
        s: b.op(
          'where',
          [b.input('m', 'bool', maskShape), s, cst(-Infinity, 'fill')],
          {},
          'masked',
        ),
      };
    case 'masked-fill-inf':
    case 'masked-fill-min': {
      const fill = c.mask === 'masked-fill-inf' ? -Infinity : -3.4028234663852886e38;
      return {
        s: b.op('where', [b.input('m', 'bool', maskShape), cst(fill, 'fill'), s], {}, 'masked'),
      };
    }
    case 'bias-param': {
      const shape = scores.slice(-2).every((d) => typeof d === 'number')
        ? (scores.slice(-2) as number[])
        : undefined;
      if (shape === undefined) return { s };
      return add(b.param('bias', 'f32', shape, { kind: 'normal', mean: 0, std: 1 }));
    }
    default:
      return { s };
  }
}

export function inputs(g: Graph, binding: Record<string, number>, c: Case): Record<string, Tensor> {
  return Object.fromEntries(
    g.inputs.map((inp) => {
      const shape = concreteShape(inp.type.shape, binding);
      const rnd = randomStream(c.seed, inp.name);
      const n = shape.reduce((a, x) => a * x, 1);
      // NaN and ±1e4 logits; ±inf in v too (whether a probability underflows to exactly 0,
      // 0·inf = NaN, is an f32 effect the comparison of test/special.ts knows).
      const SPECIAL = inp.name === 'v' ? [NaN, 1e4, -1e4, Infinity, -Infinity] : [NaN, 1e4, -1e4];
      const v = Array.from({ length: n }, () => {
        if (inp.type.dtype === 'bool') return rnd() < 0.6 ? 1 : 0; // some rows fully masked
        if (inp.name === 'm')
          return /^hf/.test(c.mask) ? (rnd() < 0.6 ? 1 : 0) : rnd() < 0.3 ? -Infinity : rnd();
        return rnd() < c.special ? SPECIAL[Math.floor(rnd() * SPECIAL.length)]! : rnd() * 4 - 2;
      });
      return [inp.name, fromNumbers(inp.type.dtype, shape, v)];
    }),
  );
}

/**
 * `other`, a rewrite of `g`, answers as `g` does: on the reference interpreter (float64
 * both, compared after rounding to f32 with 1e-6: only the order of float64 operations
 * changes) and on the JS backend row by row under the precision contract (special values
 * as `g` gives them: test/special.ts).
 */
export function expectSameAnswers(
  what: string,
  g: Graph,
  other: Graph,
  x: Record<string, Tensor>,
): void {
  const want = interpret(g, x);
  assertClose(
    { ...want.y!, data: Float32Array.from(interpret(other, x).y!.data) },
    want.y!,
    { rtol: 1e-6, atol: 1e-6 },
    `reference, ${what}`,
  );
  expectRowsEqual(
    `js, ${what}`,
    compileJs(other).runSync(x).y!,
    compileJs(g).runSync(x).y!,
    want.y!,
    x.v && infColumns(x.v, want.y!.shape.at(-1) ?? 1),
  );
}
