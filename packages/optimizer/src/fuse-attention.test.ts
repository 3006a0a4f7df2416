/**
 * fuse-attention, one test per form users and exporters write. Each test states the fused
 * op expected (inputs and attributes worked out by hand from the input graph), checks that
 * no softmax is left, and checks the fused graph against the unfused one on the float64
 * reference interpreter (tolerance: float64 vs float64, only summation order differs).
 */
import { describe, expect, it } from 'vitest';
import type { Graph, Tensor } from '@glimpse/ir';
import {
  concreteShape,
  fromNumbers,
  interpret,
  parseGraph,
  printGraph,
  randomStream,
} from '@glimpse/ir';
import { optimize } from './optimize.js';

const PIPE = ['canonicalize', 'fuse-attention', 'canonicalize', 'dce'];

function inputs(g: Graph, binding: Record<string, number>, seed = 1): Record<string, Tensor> {
  return Object.fromEntries(
    g.inputs.map((inp) => {
      const shape = concreteShape(inp.type.shape, binding);
      const rnd = randomStream(seed, inp.name);
      const n = shape.reduce((a, b) => a * b, 1);
      const v = Array.from({ length: n }, () =>
        inp.type.dtype === 'bool' ? (rnd() < 0.7 ? 1 : 0) : rnd() * 2 - 1,
      );
      return [inp.name, fromNumbers(inp.type.dtype, shape, v)];
    }),
  );
}

/** Fuse, check equivalence with the unfused graph, return the fused graph. */
function fuse(src: string, binding: Record<string, number> = { B: 2, T: 5, S: 7 }): Graph {
  const g = parseGraph(src);
  const f = optimize(g, { passes: PIPE });
  const x = inputs(g, binding);
  const want = interpret(g, x);
  const got = interpret(f, x);
  for (const o of g.outputs) {
    const [a, b] = [got[o]!.data, want[o]!.data];
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) {
      if (Number.isNaN(b[i]!)) expect(a[i]).toBeNaN();
      else expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-9 * (1 + Math.abs(b[i]!)));
    }
  }
  return f;
}

function attentionNodes(g: Graph) {
  expect(g.nodes.filter((n) => n.op === 'softmax')).toHaveLength(0);
  return g.nodes.filter((n) => n.op === 'attention');
}

const QKV3 = '%q: f32[B,T,8], %k: f32[B,S,8], %v: f32[B,S,4]';
const scoreGraph = (body: string, ins = QKV3) => `graph @a(${ins}) {
${body}
  %p: f32[B,T,S] = softmax[axis=-1] %s9
  %y: f32[B,T,4] = bmm %p, %v
  return %y
}`;

describe('fuse-attention: the seed and every scale form', () => {
  it('the seed: softmax(bmm(q, kᵀ) / √d) · v (golden)', () => {
    const f = fuse(
      scoreGraph(`  %kt: f32[B,8,S] = transpose[perm=[0,2,1]] %k
  %s: f32[B,T,S] = bmm %q, %kt
  %c: f32[] = constant[value=[2.8284271247461903]]
  %s9: f32[B,T,S] = div %s, %c`),
    );
    expect(printGraph(f)).toBe(`graph @a(%q: f32[B,T,8], %k: f32[B,S,8], %v: f32[B,S,4]) {
  %y: f32[B,T,4] = attention[scale=0.3535533966440824] %q, %k, %v
  return %y
}
`);
  });
  it.each([
    [
      'mul by a constant',
      `  %c: f32[] = constant[value=[0.5]]\n  %s9: f32[B,T,S] = mul %s, %c`,
      0.5,
    ],
    [
      'constant first',
      `  %c: f32[1,1] = constant[shape=[1,1], value=[0.5]]\n  %s9: f32[B,T,S] = mul %c, %s`,
      0.5,
    ],
    ['scale op', `  %s9: f32[B,T,S] = scale[factor=0.25] %s`, 0.25],
    ['no scale at all', `  %s9: f32[B,T,S] = scale[factor=1] %s`, 1],
  ])('%s', (_name, body, scale) => {
    const f = fuse(scoreGraph(`  %s: f32[B,T,S] = bmm[transpose_b=true] %q, %k\n${body}`));
    const [a] = attentionNodes(f);
    expect(a!.inputs).toEqual(['q', 'k', 'v']);
    expect(a!.attrs.scale).toBe(scale);
  });
  it('scale on q before the matmul', () => {
    const f = fuse(
      scoreGraph(`  %qs: f32[B,T,8] = scale[factor=0.125] %q
  %s9: f32[B,T,S] = bmm[transpose_b=true] %qs, %k`),
    );
    expect(attentionNodes(f)[0]!.attrs.scale).toBe(0.125);
  });
  it('√scale on both q and k (divided, k transposed first)', () => {
    const f = fuse(
      scoreGraph(`  %c: f32[] = constant[value=[2]]
  %qs: f32[B,T,8] = div %q, %c
  %kt: f32[B,8,S] = transpose[perm=[0,2,1]] %k
  %kts: f32[B,8,S] = div %kt, %c
  %s9: f32[B,T,S] = bmm %qs, %kts`),
    );
    const [a] = attentionNodes(f);
    expect(a!.attrs.scale).toBe(0.25);
    expect(a!.inputs).toEqual(['q', 'k', 'v']);
  });
});

describe('fuse-attention: masks', () => {
  const mm = `  %s: f32[B,T,S] = bmm[transpose_b=true] %q, %k\n  %s1: f32[B,T,S] = scale[factor=0.5] %s`;
  it.each([
    ['additive, mask second', `  %s9: f32[B,T,S] = add %s1, %m`],
    ['additive, mask first', `  %s9: f32[B,T,S] = add %m, %s1`],
  ])('%s', (_n, body) => {
    const f = fuse(scoreGraph(`${mm}\n${body}`, `${QKV3}, %m: f32[B,1,S]`));
    const [a] = attentionNodes(f);
    expect(a!.inputs).toEqual(['q', 'k', 'v', 'm']);
    expect(a!.attrs).toMatchObject({ scale: 0.5, causal: 'none' });
  });
  it("Hugging Face's (1 - m) · -10000 additive mask", () => {
    const f = fuse(
      scoreGraph(
        `${mm}
  %one: f32[] = constant[value=[1]]
  %inv: f32[B,1,S] = sub %one, %m
  %neg: f32[] = constant[value=[-10000]]
  %bias: f32[B,1,S] = mul %inv, %neg
  %s9: f32[B,T,S] = add %s1, %bias`,
        `${QKV3}, %m: f32[B,1,S]`,
      ),
    );
    expect(attentionNodes(f)[0]!.inputs[3]).toBe('bias');
  });
  it('a learned additive bias (T5 position bias) from a param', () => {
    const f = fuse(
      `graph @t5(%q: f32[B,2,5,8], %k: f32[B,2,5,8], %v: f32[B,2,5,8]) params(%bias: f32[2,5,5] = normal(0, 1)) {
  %s: f32[B,2,5,5] = bmm[transpose_b=true] %q, %k
  %s9: f32[B,2,5,5] = add %s, %bias
  %p: f32[B,2,5,5] = softmax %s9
  %y: f32[B,2,5,8] = bmm %p, %v
  return %y
}`,
      { B: 2, T: 5 },
    );
    expect(attentionNodes(f)[0]!.inputs).toEqual(['q', 'k', 'v', 'bias']);
  });
  it('boolean where(mask, s, -inf)', () => {
    const f = fuse(
      scoreGraph(
        `${mm}\n  %ninf: f32[] = constant[value=[-inf]]\n  %s9: f32[B,T,S] = where %m, %s1, %ninf`,
        `${QKV3}, %m: bool[B,T,S]`,
      ),
    );
    const [a] = attentionNodes(f);
    expect(a!.inputs).toEqual(['q', 'k', 'v', 'm']);
    expect(a!.attrs.mask_fill).toBe(-Infinity);
  });
  it('masked_fill(m, finfo(f32).min): where(m, fill, s) keeps the finite fill and negates the mask', () => {
    const f = fuse(
      scoreGraph(
        `${mm}\n  %fill: f32[] = constant[value=[-3.4028234663852886e38]]\n  %s9: f32[B,T,S] = where %m, %fill, %s1`,
        `${QKV3}, %m: bool[1,T,S]`,
      ),
    );
    const [a] = attentionNodes(f);
    expect(a!.attrs.mask_fill).toBe(-3.4028234663852886e38);
    const keep = f.nodes.find((n) => n.outputs[0] === a!.inputs[3])!;
    expect(keep.op).toBe('not');
    expect(keep.inputs).toEqual(['m']);
  });
  it('causal: where(tril(s), s, -inf) → causal=top_left, no mask input', () => {
    const f = fuse(
      scoreGraph(
        `${mm}\n  %t: bool[T,S] = tril %s1\n  %ninf: f32[] = constant[value=[-inf]]\n  %s9: f32[B,T,S] = where %t, %s1, %ninf`,
      ),
      { B: 2, T: 5, S: 5 },
    );
    const [a] = attentionNodes(f);
    expect(a!.inputs).toEqual(['q', 'k', 'v']);
    expect(a!.attrs.causal).toBe('top_left');
    expect(f.nodes.some((n) => n.op === 'tril')).toBe(false);
  });
  it('causal with a KV cache: tril[k=S-T] → bottom_right', () => {
    const f = fuse(
      scoreGraph(
        `  %s: f32[2,3,7] = bmm[transpose_b=true] %q, %k\n  %t: bool[3,7] = tril[k=4] %s\n  %ninf: f32[] = constant[value=[-inf]]\n  %s9: f32[2,3,7] = where %t, %s, %ninf`,
        '%q: f32[2,3,8], %k: f32[2,7,8], %v: f32[2,7,4]',
      )
        .replace(/B,T,S/g, '2,3,7')
        .replace('f32[B,T,4]', 'f32[2,3,4]'),
      {},
    );
    expect(attentionNodes(f)[0]!.attrs.causal).toBe('bottom_right');
  });
  it('causal as an additive constant -inf upper triangle (kept as the mask, exactly)', () => {
    const f = fuse(
      `graph @c(%q: f32[2,3,4], %k: f32[2,3,4], %v: f32[2,3,4]) {
  %s: f32[2,3,3] = bmm[transpose_b=true] %q, %k
  %tri: f32[3,3] = constant[shape=[3,3], value=[0,-inf,-inf,0,0,-inf,0,0,0]]
  %s9: f32[2,3,3] = add %s, %tri
  %p: f32[2,3,3] = softmax %s9
  %y: f32[2,3,4] = bmm %p, %v
  return %y
}`,
      {},
    );
    expect(attentionNodes(f)[0]!.inputs).toEqual(['q', 'k', 'v', 'tri']);
  });
  it('causal and a padding mask together', () => {
    const f = fuse(
      scoreGraph(
        `${mm}\n  %sm: f32[B,T,S] = add %s1, %m\n  %t: bool[T,S] = tril %s1\n  %ninf: f32[] = constant[value=[-inf]]\n  %s9: f32[B,T,S] = where %t, %sm, %ninf`,
        `${QKV3}, %m: f32[B,1,S]`,
      ),
      { B: 2, T: 5, S: 5 },
    );
    const [a] = attentionNodes(f);
    expect(a!.attrs.causal).toBe('top_left');
    expect(a!.inputs[3]).toBe('m');
  });
  it('softcap: c·tanh(s/c)', () => {
    const f = fuse(
      scoreGraph(
        `${mm}\n  %d: f32[B,T,S] = scale[factor=0.2] %s1\n  %th: f32[B,T,S] = tanh %d\n  %s9: f32[B,T,S] = scale[factor=5] %th`,
      ),
    );
    // The factors as the written graph multiplies by them (f32): 0.2 is fround(0.2).
    expect(attentionNodes(f)[0]!.attrs).toMatchObject({
      softcap: 5,
      scale: Math.fround(0.2) * 5 * 0.5,
    });
  });
});

const MHA = (
  kperm: string,
  kshape: string,
) => `graph @mha(%x: f32[B,T,32]) params(%w: f32[96,32] = uniform(-0.2, 0.2)) {
  %qkv: f32[B,T,96] = linear %x, %w
  %q: f32[B,T,32], %k: f32[B,T,32], %v: f32[B,T,32] = split[axis=-1, sizes=[32,32,32]] %qkv
  %q4: f32[B,T,4,8] = reshape[shape=[B,T,4,8]] %q
  %qh: f32[B,4,T,8] = transpose[perm=[0,2,1,3]] %q4
  %k4: f32[B,T,4,8] = reshape[shape=[B,T,4,8]] %k
  %kt: ${kshape} = transpose[perm=${kperm}] %k4
  %v4: f32[B,T,4,8] = reshape[shape=[B,T,4,8]] %v
  %vh: f32[B,4,T,8] = transpose[perm=[0,2,1,3]] %v4
  %s: f32[B,4,T,T] = bmm %qh, %kt
  %s1: f32[B,4,T,T] = scale[factor=0.35355339059327373] %s
  %p: f32[B,4,T,T] = softmax %s1
  %o: f32[B,4,T,8] = bmm %p, %vh
  %ot: f32[B,T,4,8] = transpose[perm=[0,2,1,3]] %o
  %y: f32[B,T,32] = reshape[shape=[B,T,32]] %ot
  return %y
}`;

describe('fuse-attention: causal buffers with a finite fill (eager attention)', () => {
  // Eager GPT-2: where(sliced lower-triangular buffer, s/√d, finfo.min) + padding mask.
  const MIN = '-3.4028234663852886e38';
  const mm = `  %s: f32[B,T,S] = bmm[transpose_b=true] %q, %k\n  %s1: f32[B,T,S] = scale[factor=0.5] %s`;
  const eager = (
    buf: string,
    fill = `constant[value=[${MIN}]]`,
    t = 3,
  ) => `graph @e(%q: f32[2,2,${t},8], %k: f32[2,2,5,8], %v: f32[2,2,5,4], %pm: bool[2,1,1,5]) {
  %s: f32[2,2,${t},5] = bmm[transpose_b=true] %q, %k
  %c: f32[] = constant[value=[2.8284270763397217]]
  %sd: f32[2,2,${t},5] = div %s, %c
  %buf: bool[1,1,${t},5] = constant[dtype=bool, shape=[1,1,${t},5], value=[${buf}]]
  %min: f32[] = constant[value=[${MIN}]]
  %fill: f32[] = ${fill}
  %sw: f32[2,2,${t},5] = where %buf, %sd, %fill
  %zero: f32[] = constant[value=[0]]
  %pad: f32[2,1,1,5] = where %pm, %zero, %min
  %s9: f32[2,2,${t},5] = add %sw, %pad
  %p: f32[2,2,${t},5] = softmax %s9
  %y: f32[2,2,${t},4] = bmm %p, %v
  return %y
}`;
  it('a bottom-right buffer (3 new tokens after 2 cached) → causal=bottom_right, causal_fill=finfo.min (golden)', () => {
    const f = fuse(eager('1,1,1,0,0, 1,1,1,1,0, 1,1,1,1,1'), {});
    expect(printGraph(f))
      .toBe(`graph @e(%q: f32[2,2,3,8], %k: f32[2,2,5,8], %v: f32[2,2,5,4], %pm: bool[2,1,1,5]) {
  %min: f32[] = constant[value=[-3.4028234663852886e+38]]
  %zero: f32[] = constant[value=[0]]
  %pad: f32[2,1,1,5] = where %pm, %zero, %min
  %y: f32[2,2,3,4] = attention[scale=0.3535533966440824, causal=bottom_right, causal_fill=-3.4028234663852886e+38] %q, %k, %v, %pad
  return %y
}
`);
  });
  it('a top-left buffer (T = S), any finite fill: -1e4, -0, NaN', () => {
    const tl = '1,0,0,0,0, 1,1,0,0,0, 1,1,1,0,0, 1,1,1,1,0, 1,1,1,1,1';
    for (const [fill, want] of [
      ['-1e4', -1e4],
      ['-0.0', -0],
      ['nan', NaN],
    ] as const) {
      const [a] = attentionNodes(fuse(eager(tl, `constant[value=[${fill}]]`, 5), {}));
      expect(a!.attrs.causal).toBe('top_left');
      expect(Object.is(a!.attrs.causal_fill, want)).toBe(true);
    }
  });
  it('where(tril, s, c) under a boolean mask → causal_fill, the boolean mask', () => {
    const f = fuse(
      scoreGraph(
        `${mm}\n  %t: bool[T,S] = tril %s1\n  %c: f32[] = constant[value=[-1e9]]\n  %sc: f32[B,T,S] = where %t, %s1, %c\n  %n: f32[] = constant[value=[-inf]]\n  %s9: f32[B,T,S] = where %m, %sc, %n`,
        `${QKV3}, %m: bool[B,1,S]`,
      ),
      { B: 2, T: 5, S: 5 },
    );
    const [a] = attentionNodes(f);
    expect(a!.attrs).toMatchObject({ causal: 'top_left', causal_fill: Math.fround(-1e9) });
    expect(a!.inputs[3]).toBe('m');
  });
});

describe('fuse-attention: layouts', () => {
  it('multi-head: packed qkv, reshape [B,T,H,dh], k transposed by (0,2,3,1)', () => {
    const f = fuse(MHA('[0,2,3,1]', 'f32[B,4,8,T]'), { B: 2, T: 5 });
    const [a] = attentionNodes(f);
    // k in [B,H,T,dh] is (0,2,3,1) then the last-two swap: one transpose (0,2,1,3) of %k4.
    const kNode = f.nodes.find((n) => n.outputs[0] === a!.inputs[1])!;
    expect(kNode).toMatchObject({ op: 'transpose', inputs: ['k4'], attrs: { perm: [0, 2, 1, 3] } });
    expect(a!.inputs[0]).toBe('qh');
    expect(a!.inputs[2]).toBe('vh');
  });
  it('cross-attention: k and v of another length', () => {
    const f = fuse(
      scoreGraph(
        `  %s: f32[B,T,S] = bmm[transpose_b=true] %q, %k\n  %s9: f32[B,T,S] = scale[factor=0.3] %s`,
      ),
      { B: 1, T: 3, S: 11 },
    );
    expect(attentionNodes(f)).toHaveLength(1);
  });
  it('GQA: kv heads repeated by reshape–expand–reshape are read by the op directly', () => {
    const f = fuse(
      `graph @gqa(%q: f32[B,4,T,8], %k: f32[B,2,S,8], %v: f32[B,2,S,8]) {
  %k5: f32[B,2,1,S,8] = reshape[shape=[B,2,1,S,8]] %k
  %ke: f32[B,2,2,S,8] = expand[shape=[B,2,2,S,8]] %k5
  %kr: f32[B,4,S,8] = reshape[shape=[B,4,S,8]] %ke
  %v5: f32[B,2,1,S,8] = reshape[shape=[B,2,1,S,8]] %v
  %ve: f32[B,2,2,S,8] = expand[shape=[B,2,2,S,8]] %v5
  %vr: f32[B,4,S,8] = reshape[shape=[B,4,S,8]] %ve
  %s: f32[B,4,T,S] = bmm[transpose_b=true] %q, %kr
  %p: f32[B,4,T,S] = softmax %s
  %y: f32[B,4,T,8] = bmm %p, %vr
  return %y
}`,
    );
    expect(attentionNodes(f)[0]!.inputs).toEqual(['q', 'k', 'v']);
    expect(f.nodes.some((n) => n.op === 'expand')).toBe(false);
  });
  it('multi-query: one kv head broadcast by the matmul', () => {
    const f = fuse(
      `graph @mqa(%q: f32[B,4,T,8], %k: f32[B,1,S,8], %v: f32[B,1,S,8]) {
  %s: f32[B,4,T,S] = bmm[transpose_b=true] %q, %k
  %p: f32[B,4,T,S] = softmax %s
  %y: f32[B,4,T,8] = bmm %p, %v
  return %y
}`,
    );
    expect(attentionNodes(f)).toHaveLength(1);
  });
});

describe('fuse-attention: shared scores and ONNX row guards', () => {
  it('scores used elsewhere (returned, as ONNX qk_matmul_output): kept for that use, recomputed in the op', () => {
    const f = fuse(`graph @a(${QKV3}) {
  %s: f32[B,T,S] = bmm[transpose_b=true] %q, %k
  %s2: f32[B,T,S] = scale[factor=0.5] %s
  %p: f32[B,T,S] = softmax %s2
  %y: f32[B,T,4] = bmm %p, %v
  return %y, %s2
}`);
    const [a] = attentionNodes(f);
    expect(a!.attrs).toMatchObject({ scale: 0.5, masked_rows: 'nan' });
    expect(f.nodes.filter((n) => n.op === 'bmm')).toHaveLength(1);
  });

  // ONNX's Attention function: where(reduce_max(bias) = -inf, 0, softmax(s + bias)) · v.
  const guarded = (maskType: string, bias: string) => `graph @g(${QKV3}, %m: ${maskType}) {
${bias}
  %s: f32[B,T,S] = bmm[transpose_b=true] %q, %k
  %sb: f32[B,T,S] = add %s, %bias
  %p: f32[B,T,S] = softmax %sb
  %mx: f32[T,1] = reduce_max[axes=[-1], keepdims=true] %bias
  %ninf: f32[1] = constant[shape=[1], value=[-inf]]
  %none: bool[T,1] = equal %ninf, %mx
  %zero: f32[1] = constant[shape=[1], value=[0]]
  %w: f32[B,T,S] = where %none, %zero, %p
  %y: f32[B,T,4] = bmm %w, %v
  return %y
}`;
  /** Fused, and equal to the unfused graph where rows are fully masked and v holds NaN. */
  function checkGuarded(src: string, mask: (t: number, s: number) => number) {
    const g = parseGraph(src);
    const f = optimize(g, { passes: PIPE });
    const [a] = attentionNodes(f);
    expect(a!.attrs).toMatchObject({ masked_rows: 'mask' });
    const [T, S] = [5, 7];
    const x = inputs(g, { B: 2, T, S });
    const m = x.m!;
    x.m = fromNumbers(
      m.dtype,
      [...m.shape],
      Array.from({ length: T * S }, (_, i) => mask(Math.floor(i / S), i % S)),
    );
    // Row 1 has every key masked; column 2 of v holds a NaN (0·NaN is NaN there).
    (x.v!.data as Float32Array)[3 * 4 + 2] = NaN;
    const want = interpret(g, x).y!.data;
    const got = interpret(f, x).y!.data;
    expect(want.slice(4, 8)).toEqual(Float64Array.from([0, 0, NaN, 0]));
    for (let i = 0; i < want.length; i++)
      if (Number.isNaN(want[i]!)) expect(got[i]).toBeNaN();
      else expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-9);
  }
  it('an additive mask with fully masked rows → masked_rows=mask', () =>
    checkGuarded(guarded('f32[T,S]', '  %bias: f32[T,S] = scale[factor=1] %m'), (t, j) =>
      t === 1 || j === 3 ? -Infinity : 0.25 * j,
    ));
  it('a boolean mask turned into a bias (ONNX: where(m, 0, -inf)) → masked_rows=mask', () =>
    checkGuarded(
      guarded(
        'bool[T,S]',
        `  %z: f32[] = constant[shape=[], value=[0]]
  %ni: f32[] = constant[shape=[], value=[-inf]]
  %bias: f32[T,S] = where %m, %z, %ni`,
      ),
      (t, j) => (t === 1 || j === 0 ? 0 : 1),
    ));
});

describe('fuse-attention: what must not fuse', () => {
  const count = (g: Graph, op: string) => g.nodes.filter((n) => n.op === op).length;
  it('softmax over another axis', () => {
    const f = fuse(
      scoreGraph(`  %s9: f32[B,T,S] = bmm[transpose_b=true] %q, %k`).replace(
        'softmax[axis=-1]',
        'softmax[axis=1]',
      ),
    );
    expect(count(f, 'attention')).toBe(0);
  });
  it('a non-constant scale', () => {
    const f = fuse(
      scoreGraph(
        `  %s: f32[B,T,S] = bmm[transpose_b=true] %q, %k\n  %s9: f32[B,T,S] = mul %s, %c`,
        `${QKV3}, %c: f32[]`,
      ),
    );
    expect(count(f, 'attention')).toBe(0);
  });
  it('ONNX guard on a different value than the mask the scores add', () => {
    const src = `graph @a(${QKV3}, %m: f32[T,S], %m2: f32[T,S]) {
  %s: f32[B,T,S] = bmm[transpose_b=true] %q, %k
  %sm: f32[B,T,S] = add %s, %m
  %p: f32[B,T,S] = softmax %sm
  %mx: f32[T,1] = reduce_max[axes=[1], keepdims=true] %m2
  %ninf: f32[] = constant[shape=[], value=[-inf]]
  %none: bool[T,1] = equal %mx, %ninf
  %zero: f32[] = constant[shape=[], value=[0]]
  %w: f32[B,T,S] = where %none, %zero, %p
  %y: f32[B,T,4] = bmm %w, %v
  return %y
}`;
    expect(count(fuse(src), 'attention')).toBe(0);
  });
  it('probabilities used elsewhere (attention weights returned)', () => {
    const src = `graph @a(${QKV3}) {
  %s: f32[B,T,S] = bmm[transpose_b=true] %q, %k
  %p: f32[B,T,S] = softmax %s
  %y: f32[B,T,4] = bmm %p, %v
  return %y, %p
}`;
    expect(count(fuse(src), 'attention')).toBe(0);
  });
  it('a permutation that only looks like kᵀ: the fused graph reads k through exactly that permutation', () => {
    // (0,2,3,1) on k already in [B,H,S,dh] (not (0,1,3,2)): the matmul reads [B,S,dh,H]. The
    // rule does not assume kᵀ; it defines k as the transpose of what bmm reads, so the fused
    // graph computes the same numbers (checked by fuse()), with k = transpose(k, (0,2,1,3)).
    const f = fuse(
      `graph @w(%q: f32[2,3,5,4], %k: f32[2,3,3,4], %v: f32[2,3,4,6]) {
  %kt: f32[2,3,4,3] = transpose[perm=[0,2,3,1]] %k
  %s: f32[2,3,5,3] = bmm %q, %kt
  %p: f32[2,3,5,3] = softmax %s
  %y: f32[2,3,5,6] = bmm %p, %v
  return %y
}`.replace('%v: f32[2,3,4,6]', '%v: f32[2,3,3,6]'),
      {},
    );
    const [a] = attentionNodes(f);
    const kNode = f.nodes.find((n) => n.outputs[0] === a!.inputs[1])!;
    expect(kNode.attrs.perm).toEqual([0, 2, 1, 3]);
  });
});

describe('-O2 layout: heads stay inside [B, T, H, d]', () => {
  it('multi-head attention at -O2 has no transposes left: attention[layout=bshd] reads the reshaped projections', () => {
    const g = parseGraph(MHA('[0,2,3,1]', 'f32[B,4,8,T]'));
    const f = optimize(g, { level: 2 });
    expect(f.nodes.filter((n) => n.op === 'transpose')).toHaveLength(0);
    const [a] = f.nodes.filter((n) => n.op === 'attention');
    expect(a!.attrs.layout).toBe('bshd');
    expect(a!.inputs).toEqual(['q4', 'k4', 'v4']);
    const x = inputs(g, { B: 2, T: 6 });
    const [want, got] = [interpret(g, x).y!.data, interpret(f, x).y!.data];
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-9);
  });
});

describe('fold-scale', () => {
  const src = `graph @fs(%x: f32[B,4]) params(%w: f32[3,4] = uniform(-1, 1), %b: f32[3] = uniform(-1, 1)) {
  %h: f32[B,3] = linear %x, %w, %b
  %y: f32[B,3] = scale[factor=0.25] %h
  return %y
}`;
  it('folds the scale into frozen weights, exactly', () => {
    const g = parseGraph(src);
    const f = optimize(g, { passes: ['fold-scale'], frozenParams: true });
    expect(f.nodes.map((n) => n.op)).toEqual(['linear']);
    expect(f.params.map((p) => p.name)).toEqual(['w.scaled', 'b.scaled']);
    const x = inputs(g, { B: 3 });
    const [want, got] = [interpret(g, x).y!.data, interpret(f, x).y!.data];
    // W·c rounds to f32 once: within 1 ulp of f32 per term.
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-6);
  });
  it('does nothing unless params are frozen', () => {
    const g = parseGraph(src);
    expect(optimize(g, { passes: ['fold-scale'] })).toBe(g);
  });
});

describe('fuse-qkv-projection', () => {
  const src = `graph @p(%x: f32[B,4]) params(%wq: f32[3,4] = uniform(-1, 1), %wk: f32[2,4] = uniform(-1, 1), %wv: f32[3,4] = uniform(-1, 1)) {
  %q: f32[B,3] = linear %x, %wq
  %k: f32[B,2] = linear %x, %wk
  %v: f32[B,3] = linear %x, %wv
  %qk: f32[B,3] = mul %q, %v
  %y: f32[B,2] = add %k, %k
  return %qk, %y
}`;
  it('with frozen params: one linear over stacked weights, a split that keeps the names', () => {
    const g = parseGraph(src);
    const f = optimize(g, { passes: ['fuse-qkv-projection'], frozenParams: true });
    const split = f.nodes.find((n) => n.op === 'split')!;
    expect(split.outputs).toEqual(['q', 'k', 'v']);
    expect(split.attrs.sizes).toEqual([3, 2, 3]);
    expect(f.params.map((p) => [p.name, p.type.shape])).toEqual([['q.stacked_weight', [8, 4]]]);
    const x = inputs(g, { B: 3 });
    for (const o of g.outputs) expect(interpret(f, x)[o]!.data).toEqual(interpret(g, x)[o]!.data);
  });
  it('does nothing unless params are frozen', () => {
    const g = parseGraph(src);
    expect(optimize(g, { passes: ['fuse-qkv-projection'] })).toBe(g);
  });
});
