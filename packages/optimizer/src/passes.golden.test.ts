/**
 * Golden tests for every pass and rule: a graph where it fires → the exact graph after it,
 * and a look-alike that must stay unchanged — with the reason the rule gives when it
 * matched and declined. (fuse-attention's forms are in fuse-attention.test.ts; its
 * declines are here.)
 */
import { describe, expect, it } from 'vitest';
import { parseGraph, printGraph } from '@glimpse/ir';
import { optimizeWithResults } from './optimize.js';

const X = '%x: f32[B,4,8]';

/** Run `passes` on `text`; the result printed, the rules that fired and the declines. */
function run(passes: string, text: string, frozen = false) {
  const r = optimizeWithResults(parseGraph(text), {
    passes: passes.split(','),
    frozenParams: frozen,
  });
  return {
    text: printGraph(r.graph),
    fired: r.trace.filter((t) => t.rule !== 'dce').map((t) => t.rule),
    declines: r.declines.map((d) => `${d.rule} at %${d.node}: ${d.reason}`),
  };
}

/** `text` through `passes` gives exactly `want` (both as printed). */
function fires(passes: string, rule: string, text: string, want: string, frozen = false) {
  const r = run(passes, text, frozen);
  expect(r.text).toBe(printGraph(parseGraph(want)));
  expect(r.fired).toContain(rule);
}

/** `text` stays as it is; with `reason`, the rule says so. */
function stays(passes: string, text: string, reason?: RegExp, frozen = false) {
  const r = run(passes, text, frozen);
  expect(r.text).toBe(printGraph(parseGraph(text)));
  expect(r.fired).toEqual([]);
  if (reason) expect(r.declines.join('\n')).toMatch(reason);
}

const g = (body: string, ret = '%y', ins = X) => `graph @g(${ins}) {\n${body}\n  return ${ret}\n}`;

describe('canonicalize', () => {
  it('div-by-constant: x/4 → scale 0.25; x/3 declines (no exact reciprocal)', () => {
    fires(
      'canonicalize',
      'div-by-constant',
      g(`  %c: f32[] = constant[value=[4.0]]\n  %y: f32[B,4,8] = div %x, %c`),
      g(`  %y: f32[B,4,8] = scale[factor=0.25] %x`),
    );
    stays(
      'canonicalize',
      g(`  %c: f32[] = constant[value=[3.0]]\n  %y: f32[B,4,8] = div %x, %c`),
      /div-by-constant at %y: 1\/3 is not exact in f32/,
    );
    // x/(−0) is x·(−inf) for every x, signs and NaN included
    fires(
      'canonicalize',
      'div-by-constant',
      g(`  %c: f32[] = constant[value=[-0.0]]\n  %y: f32[B,4,8] = div %x, %c`),
      g(`  %y: f32[B,4,8] = scale[factor=-inf] %x`),
    );
  });

  it('mul-by-constant: c·x and x·c → scale by c as stored in f32; a non-splat stays', () => {
    fires(
      'canonicalize',
      'mul-by-constant',
      g(`  %c: f32[] = constant[value=[0.1]]\n  %y: f32[B,4,8] = mul %c, %x`),
      g(`  %y: f32[B,4,8] = scale[factor=${Math.fround(0.1)}] %x`),
    );
    stays(
      'canonicalize',
      g(
        `  %c: f32[8] = constant[shape=[8], value=[1.0,2.0,1.0,1.0,1.0,1.0,1.0,1.0]]\n  %y: f32[B,4,8] = mul %x, %c`,
      ),
    );
  });

  it('scale-of-scale: powers of two on one side of 1 combine; both sides of 1, or 3·5, decline', () => {
    stays(
      'canonicalize',
      g(`  %a: f32[B,4,8] = scale[factor=3.0] %x\n  %y: f32[B,4,8] = scale[factor=5.0] %a`),
      /x·3·5 rounds twice and x·15 once/,
    );
    fires(
      'canonicalize',
      'scale-of-scale',
      g(`  %a: f32[B,4,8] = scale[factor=2.0] %x\n  %y: f32[B,4,8] = scale[factor=4.0] %a`),
      g(`  %y: f32[B,4,8] = scale[factor=8.0] %x`),
    );
    fires(
      'canonicalize',
      'scale-of-scale',
      g(`  %a: f32[B,4,8] = scale[factor=inf] %x\n  %y: f32[B,4,8] = scale[factor=0.0] %a`),
      g(`  %y: f32[B,4,8] = scale[factor=nan] %x`),
    );
    stays(
      'canonicalize',
      g(`  %a: f32[B,4,8] = scale[factor=1e30] %x\n  %y: f32[B,4,8] = scale[factor=1e-30] %a`),
      /scale-of-scale at %y: factors 1e\+30 and 1e-30 lie on both sides of 1/,
    );
  });

  it('scale-by-one: x·1 → x; a graph output keeps its node', () => {
    fires(
      'canonicalize',
      'scale-by-one',
      g(`  %a: f32[B,4,8] = scale[factor=1.0] %x\n  %y: f32[B,4,8] = relu %a`),
      g(`  %y: f32[B,4,8] = relu %x`),
    );
    stays(
      'canonicalize',
      g(`  %y: f32[B,4,8] = scale[factor=1.0] %x`),
      /scale-by-one at %y: %y is a graph output/,
    );
  });

  it('transposes: chains compose, identities vanish; a real permutation stays', () => {
    fires(
      'canonicalize',
      'transpose-of-transpose',
      g(
        `  %a: f32[B,8,4] = transpose[perm=[0,2,1]] %x\n  %b: f32[8,B,4] = transpose[perm=[1,0,2]] %a\n  %y: f32[8,B,4] = relu %b`,
      ),
      g(`  %b: f32[8,B,4] = transpose[perm=[2,0,1]] %x\n  %y: f32[8,B,4] = relu %b`),
    );
    fires(
      'canonicalize',
      'identity-transpose',
      g(`  %a: f32[B,4,8] = transpose[perm=[0,1,2]] %x\n  %y: f32[B,4,8] = relu %a`),
      g(`  %y: f32[B,4,8] = relu %x`),
    );
    stays('canonicalize', g(`  %y: f32[B,8,4] = transpose[perm=[0,2,1]] %x`));
  });

  it('reshapes: chains collapse, identities vanish; a real reshape stays', () => {
    fires(
      'canonicalize',
      'reshape-of-reshape',
      g(
        `  %a: f32[B,32] = reshape[shape=[B,32]] %x\n  %b: f32[B,2,16] = reshape[shape=[B,2,16]] %a\n  %y: f32[B,2,16] = relu %b`,
      ),
      g(`  %b: f32[B,2,16] = reshape[shape=[B,2,16]] %x\n  %y: f32[B,2,16] = relu %b`),
    );
    fires(
      'canonicalize',
      'identity-reshape',
      g(`  %a: f32[B,4,8] = reshape[shape=[B,4,8]] %x\n  %y: f32[B,4,8] = relu %a`),
      g(`  %y: f32[B,4,8] = relu %x`),
    );
    stays('canonicalize', g(`  %y: f32[B,32] = reshape[shape=[B,32]] %x`));
  });

  it('scale-out-of-bmm: a power of two ≥ 1 moves to the product; 3, a factor < 1 or 0 declines', () => {
    fires(
      'canonicalize',
      'scale-out-of-bmm-a',
      g(`  %a: f32[B,4,8] = scale[factor=2.0] %x\n  %y: f32[B,4,4] = bmm[transpose_b=true] %a, %x`),
      g(
        `  %y.bmm: f32[B,4,4] = bmm[transpose_b=true] %x, %x\n  %y: f32[B,4,4] = scale[factor=2.0] %y.bmm`,
      ),
    );
    fires(
      'canonicalize',
      'scale-out-of-bmm-b',
      g(`  %a: f32[B,4,8] = scale[factor=4.0] %x\n  %y: f32[B,4,4] = bmm[transpose_b=true] %x, %a`),
      g(
        `  %y.bmm: f32[B,4,4] = bmm[transpose_b=true] %x, %x\n  %y: f32[B,4,4] = scale[factor=4.0] %y.bmm`,
      ),
    );
    stays(
      'canonicalize',
      g(`  %a: f32[B,4,8] = scale[factor=3.0] %x\n  %y: f32[B,4,4] = bmm[transpose_b=true] %a, %x`),
      /factor 3 is not a power of two: the terms round differently/,
    );
    stays(
      'canonicalize',
      g(
        `  %a: f32[B,4,8] = scale[factor=0.125] %x\n  %y: f32[B,4,4] = bmm[transpose_b=true] %a, %x`,
      ),
      /scale-out-of-bmm-a at %y: factor 0.125 < 1: moved past the sum, the product could overflow/,
    );
    stays(
      'canonicalize',
      g(`  %a: f32[B,4,8] = scale[factor=0.0] %x\n  %y: f32[B,4,4] = bmm[transpose_b=true] %a, %x`),
      /factor 0: NaN, ±inf, ±0 or a sign would reach the sum differently/,
    );
  });

  it('scale-out-of-transpose and -reshape: any factor (data movement is exact)', () => {
    fires(
      'canonicalize',
      'scale-out-of-transpose',
      g(
        `  %a: f32[B,4,8] = scale[factor=nan] %x\n  %b: f32[B,8,4] = transpose[perm=[0,2,1]] %a\n  %y: f32[B,8,4] = relu %b`,
      ),
      g(
        `  %b.transpose: f32[B,8,4] = transpose[perm=[0,2,1]] %x\n  %b: f32[B,8,4] = scale[factor=nan] %b.transpose\n  %y: f32[B,8,4] = relu %b`,
      ),
    );
    fires(
      'canonicalize',
      'scale-out-of-reshape',
      g(
        `  %a: f32[B,4,8] = scale[factor=-0.0] %x\n  %b: f32[B,32] = reshape[shape=[B,32]] %a\n  %y: f32[B,32] = relu %b`,
      ),
      g(
        `  %b.reshape: f32[B,32] = reshape[shape=[B,32]] %x\n  %b: f32[B,32] = scale[factor=-0.0] %b.reshape\n  %y: f32[B,32] = relu %b`,
      ),
    );
    // A scale with another use stays where it is (moving it would compute it twice).
    stays(
      'canonicalize',
      g(
        `  %a: f32[B,4,8] = scale[factor=2.0] %x\n  %b: f32[B,8,4] = transpose[perm=[0,2,1]] %a\n  %c: f32[B,4,8] = relu %a`,
        '%b, %c',
      ),
    );
  });

  it('where: not c swaps the branches, a constant condition picks one; a computed one stays', () => {
    const ins = `${X}, %m: bool[B,4,8]`;
    fires(
      'canonicalize',
      'where-of-not',
      g(
        `  %n: bool[B,4,8] = not %m\n  %z: f32[] = constant[value=[0.0]]\n  %y: f32[B,4,8] = where %n, %x, %z`,
        '%y',
        ins,
      ),
      g(`  %z: f32[] = constant[value=[0.0]]\n  %y: f32[B,4,8] = where %m, %z, %x`, '%y', ins),
    );
    fires(
      'canonicalize',
      'where-of-constant',
      g(
        `  %t: bool[] = constant[dtype=bool, value=[1.0]]\n  %z: f32[] = constant[value=[0.0]]\n  %a: f32[B,4,8] = where %t, %x, %z\n  %y: f32[B,4,8] = relu %a`,
      ),
      g(`  %y: f32[B,4,8] = relu %x`),
    );
    stays(
      'canonicalize',
      g(`  %z: f32[] = constant[value=[0.0]]\n  %y: f32[B,4,8] = where %m, %x, %z`, '%y', ins),
    );
  });

  it('identity-expand: an expand to the same shape vanishes; a real one stays', () => {
    fires(
      'canonicalize',
      'identity-expand',
      g(`  %a: f32[B,4,8] = expand[shape=[B,4,8]] %x\n  %y: f32[B,4,8] = relu %a`),
      g(`  %y: f32[B,4,8] = relu %x`),
    );
    stays(
      'canonicalize',
      `graph @g(%x: f32[B,1,8]) {\n  %y: f32[B,4,8] = expand[shape=[B,4,8]] %x\n  return %y\n}`,
    );
  });

  it('add-through-unsqueeze: x viewed with a leading 1, plus m, viewed back → x + m', () => {
    fires(
      'canonicalize',
      'add-through-unsqueeze',
      g(
        `  %u: f32[1,B,4,8] = reshape[shape=[1,B,4,8]] %x\n  %a: f32[1,B,4,8] = add %u, %m\n  %y: f32[B,4,8] = reshape[shape=[B,4,8]] %a`,
        '%y',
        `${X}, %m: f32[1,1,4,8]`,
      ),
      g(
        `  %"y.reshape": f32[1,4,8] = reshape[shape=[1,4,8]] %m\n  %y: f32[B,4,8] = add %x, %"y.reshape"`,
        '%y',
        `${X}, %m: f32[1,1,4,8]`,
      ),
    );
    // m spreads over the prepended dim: a real broadcast, it stays.
    stays(
      'canonicalize',
      g(
        `  %u: f32[1,B,4,8] = reshape[shape=[1,B,4,8]] %x\n  %a: f32[3,B,4,8] = add %u, %m\n  %y: f32[3,B,4,8] = relu %a`,
        '%y',
        `${X}, %m: f32[3,1,4,8]`,
      ),
    );
  });

  it('softmax-of-shifted: softmax(x − max(x)) reads x; a maximum over another axis declines', () => {
    fires(
      'canonicalize',
      'softmax-of-shifted',
      g(
        `  %m: f32[B,4,1] = reduce_max[axes=[2], keepdims=true] %x\n  %d: f32[B,4,8] = sub %x, %m\n  %y: f32[B,4,8] = softmax[axis=-1] %d`,
      ),
      g(`  %y: f32[B,4,8] = softmax[axis=-1] %x`),
    );
    stays(
      'canonicalize',
      g(
        `  %m: f32[B,1,8] = reduce_max[axes=[1], keepdims=true] %x\n  %d: f32[B,4,8] = sub %x, %m\n  %y: f32[B,4,8] = softmax[axis=-1] %d`,
      ),
      /softmax-of-shifted at %y: the maximum is over axes \[1\], not the softmax's axis 2/,
    );
    // The maximum of another tensor is a real shift.
    stays(
      'canonicalize',
      g(
        `  %m: f32[B,4,1] = reduce_max[axes=[2], keepdims=true] %z\n  %d: f32[B,4,8] = sub %x, %m\n  %y: f32[B,4,8] = softmax[axis=-1] %d`,
        '%y',
        `${X}, %z: f32[B,4,8]`,
      ),
    );
  });

  it('the worklist reaches the fixpoint of a chain in one pass', () => {
    fires(
      'canonicalize',
      'scale-of-scale',
      g(
        `  %a: f32[B,4,8] = scale[factor=2.0] %x\n  %b: f32[B,4,8] = scale[factor=2.0] %a\n  %c: f32[B,4,8] = scale[factor=2.0] %b\n  %y: f32[B,4,8] = scale[factor=0.125] %c`,
      ),
      g(`  %c: f32[B,4,8] = scale[factor=8.0] %x\n  %y: f32[B,4,8] = scale[factor=0.125] %c`),
    );
  });
});

describe('fuse-norm', () => {
  const LN = (mean2 = 'axes=[2]', eps = '0.00001') =>
    `  %m: f32[B,4,1] = reduce_mean[axes=[2], keepdims=true] %x\n  %d: f32[B,4,8] = sub %x, %m\n  %sq: f32[B,4,8] = mul %d, %d\n  %v: f32[B,4,1] = reduce_mean[${mean2}, keepdims=true] %sq\n  %e: f32[] = constant[value=[${eps}]]\n  %ve: f32[B,4,1] = add %v, %e\n  %s: f32[B,4,1] = sqrt %ve\n  %n: f32[B,4,8] = div %d, %s`;
  it('layer-norm, -weight, -bias: the formula with its affine → one layer_norm', () => {
    fires(
      'fuse-norm,dce',
      'layer-norm',
      g(
        `${LN()}\n  %nw: f32[B,4,8] = mul %n, %w\n  %y: f32[B,4,8] = add %nw, %b`,
        '%y',
        `${X}, %w: f32[8], %b: f32[8]`,
      ),
      g(
        `  %y: f32[B,4,8] = layer_norm[eps=0.000009999999747378752] %x, %w, %b`,
        '%y',
        `${X}, %w: f32[8], %b: f32[8]`,
      ),
    );
    const r = run(
      'fuse-norm',
      g(
        `${LN()}\n  %nw: f32[B,4,8] = mul %w, %n\n  %y: f32[B,4,8] = add %b, %nw`,
        '%y',
        `${X}, %w: f32[8], %b: f32[8]`,
      ),
    );
    expect(r.fired).toEqual(['layer-norm', 'layer-norm-weight', 'layer-norm-bias']);
  });
  it('layer-norm declines means over different axes; -weight declines a factor of another shape', () => {
    stays(
      'fuse-norm',
      g(
        LN('axes=[1]')
          .replace('%v: f32[B,4,1]', '%v: f32[B,1,8]')
          .replace('%e: f32[]', '%e: f32[]')
          .replace(/%ve: f32\[B,4,1\]/, '%ve: f32[B,1,8]')
          .replace(/%s: f32\[B,4,1\]/, '%s: f32[B,1,8]'),
        '%n',
      ),
      /layer-norm at %n: the means are over axes \[2\] and \[1\]/,
    );
    const r = run(
      'fuse-norm',
      g(`${LN()}\n  %y: f32[B,4,8] = mul %n, %w`, '%y', `${X}, %w: f32[4,8]`),
    );
    expect(r.fired).toEqual(['layer-norm']);
    expect(r.declines.join('\n')).toMatch(
      /layer-norm-weight at %y: the factor is \[4,8\], not of the normalised shape \[8\]/,
    );
  });
  it('gelu-erf: ½·x·(1 + erf(x/√2)) in both groupings → gelu; another divisor stays', () => {
    const erf = (c: string) =>
      `  %c: f32[] = constant[value=[${c}]]\n  %q: f32[B,4,8] = div %x, %c\n  %e: f32[B,4,8] = erf %q\n  %one: f32[] = constant[value=[1.0]]\n  %p: f32[B,4,8] = add %e, %one\n  %h: f32[] = constant[value=[0.5]]`;
    fires(
      'fuse-norm,dce',
      'gelu-erf',
      g(
        `${erf('1.4142135381698608')}\n  %xp: f32[B,4,8] = mul %x, %p\n  %y: f32[B,4,8] = mul %xp, %h`,
      ),
      g(`  %y: f32[B,4,8] = gelu %x`),
    );
    fires(
      'fuse-norm,dce',
      'gelu-erf',
      g(
        `${erf('1.4142135381698608')}\n  %xh: f32[B,4,8] = mul %h, %x\n  %y: f32[B,4,8] = mul %xh, %p`,
      ),
      g(`  %y: f32[B,4,8] = gelu %x`),
    );
    stays(
      'fuse-norm',
      g(`${erf('1.5')}\n  %xp: f32[B,4,8] = mul %x, %p\n  %y: f32[B,4,8] = mul %xp, %h`),
    );
  });
});

describe('fuse-norm: rms-norm', () => {
  const ms = (axes = '[2]') =>
    `  %sq: f32[B,4,8] = mul %x, %x\n  %ms: f32[B,4,1] = reduce_mean[axes=${axes}, keepdims=true] %sq\n  %e: f32[] = constant[value=[0.000001]]\n  %me: f32[B,4,1] = add %ms, %e\n  %r: f32[B,4,1] = sqrt %me`;
  const W = `${X}, %w: f32[8]`;
  it('x·(1/√(mean(x²) + ε))·w → rms_norm with its weight; x / √(…) too', () => {
    fires(
      'fuse-norm,dce',
      'rms-norm',
      g(
        `${ms()}\n  %one: f32[] = constant[value=[1.0]]\n  %inv: f32[B,4,1] = div %one, %r\n  %n: f32[B,4,8] = mul %x, %inv\n  %y: f32[B,4,8] = mul %w, %n`,
        '%y',
        W,
      ),
      g(`  %y: f32[B,4,8] = rms_norm[eps=9.999999974752427e-7] %x, %w`, '%y', W),
    );
    fires(
      'fuse-norm,dce',
      'rms-norm',
      g(`${ms()}\n  %y: f32[B,4,8] = div %x, %r`),
      g(`  %y: f32[B,4,8] = rms_norm[eps=9.999999974752427e-7] %x`),
    );
  });
  it('a mean square over a leading axis declines', () => {
    stays(
      'fuse-norm',
      g(ms('[1]').replace(/B,4,1/g, 'B,1,8') + `\n  %y: f32[B,4,8] = div %x, %r`),
      /rms-norm at %y: the mean square is over axes \[1\]: rms_norm normalises trailing axes/,
    );
  });
});

describe('fuse-norm: gelu-tanh', () => {
  const body = (c2: string) =>
    `  %x2: f32[B,4,8] = mul %x, %x\n  %x3: f32[B,4,8] = mul %x, %x2\n  %c1: f32[] = constant[value=[0.044714998453855515]]\n  %t1: f32[B,4,8] = mul %c1, %x3\n  %i: f32[B,4,8] = add %x, %t1\n  %c2: f32[] = constant[value=[${c2}]]\n  %a: f32[B,4,8] = mul %c2, %i\n  %t: f32[B,4,8] = tanh %a\n  %one: f32[] = constant[value=[1.0]]\n  %p: f32[B,4,8] = add %one, %t\n  %xp: f32[B,4,8] = mul %x, %p\n  %h: f32[] = constant[value=[0.5]]\n  %y: f32[B,4,8] = mul %h, %xp`;
  it('½·x·(1 + tanh(√(2/π)(x + 0.044715x³))) as PyTorch exports it → gelu_tanh; another factor stays', () => {
    fires(
      'fuse-norm,dce',
      'gelu-tanh',
      g(body('0.7978845834732056')),
      g(`  %y: f32[B,4,8] = gelu_tanh %x`),
    );
    stays('fuse-norm', g(body('0.8')));
  });
});

describe('sink-layout', () => {
  it("elementwise-past-reshape, -past-transpose: a conv's rows → NCHW → per-channel op → rows cancels", () => {
    // rows [2,12,8] → transpose → [2,8,12] → reshape [2,8,3,4] → mul by c[8,1,1] → reshape → transpose back.
    const text = `graph @g(%r: f32[2,12,8], %c: f32[8,1,1]) {
  %t: f32[2,8,12] = transpose[perm=[0,2,1]] %r
  %s: f32[2,8,3,4] = reshape[shape=[2,8,3,4]] %t
  %m: f32[2,8,3,4] = mul %s, %c
  %f: f32[2,8,12] = reshape[shape=[2,8,12]] %m
  %u: f32[2,12,8] = transpose[perm=[0,2,1]] %f
  %y: f32[2,12,8] = relu %u
  return %y
}`;
    const r = run('sink-layout,canonicalize,constant-folding,dce', text);
    expect(r.fired).toEqual(
      expect.arrayContaining(['elementwise-past-reshape', 'elementwise-past-transpose']),
    );
    // What is left: the product on the rows, c moved to [1,1,8]; no transpose of r.
    expect(r.text).not.toMatch(/transpose\[perm=\[0,2,1\]\] %r/);
    expect(r.text).toMatch(/= mul %r, /);
    // One transpose left: of c (a constant's, folded when frozen), none on the data path.
    expect(r.text.match(/= transpose\[perm=\[0,2,1\]\]/g)).toHaveLength(1);
    expect(r.text).toMatch(/= transpose\[perm=\[0,2,1\]\] %m\.reshape\n/);
  });
  it('a full-size other operand (a residual) keeps the transpose: moving it would copy as much', () => {
    stays(
      'sink-layout',
      `graph @g(%x: f32[2,12,8], %z: f32[2,8,12]) {\n  %t: f32[2,8,12] = transpose[perm=[0,2,1]] %x\n  %y: f32[2,8,12] = add %t, %z\n  return %y\n}`,
    );
  });
});

describe('cse', () => {
  it('merges equal nodes; constants that differ only in inf, NaN or −0 stay apart', () => {
    fires(
      'cse',
      'cse',
      g(`  %a: f32[B,4,8] = relu %x\n  %b: f32[B,4,8] = relu %x\n  %y: f32[B,4,8] = add %a, %b`),
      g(`  %a: f32[B,4,8] = relu %x\n  %y: f32[B,4,8] = add %a, %a`),
    );
    for (const [u, v] of [
      ['inf', '-inf'],
      ['nan', 'inf'],
      ['0.0', '-0.0'],
    ])
      stays(
        'cse',
        g(
          `  %a: f32[] = constant[value=[${u}]]\n  %b: f32[] = constant[value=[${v}]]\n  %p: f32[B,4,8] = add %x, %a\n  %q: f32[B,4,8] = add %x, %b\n  %y: f32[B,4,8] = sub %p, %q`,
        ),
      );
    // NaN constants are one value (Object.is): they merge.
    fires(
      'cse',
      'cse',
      g(
        `  %a: f32[] = constant[value=[nan]]\n  %b: f32[] = constant[value=[nan]]\n  %p: f32[B,4,8] = add %x, %a\n  %q: f32[B,4,8] = add %x, %b\n  %y: f32[B,4,8] = sub %p, %q`,
      ),
      g(
        `  %a: f32[] = constant[value=[nan]]\n  %p: f32[B,4,8] = add %x, %a\n  %y: f32[B,4,8] = sub %p, %p`,
      ),
    );
  });
});

describe('constant-folding', () => {
  it('evaluates nodes of constants (rounded to f32); a node reading an input stays', () => {
    fires(
      'constant-folding',
      'constant-folding',
      g(
        `  %a: f32[] = constant[value=[1e30]]\n  %b: f32[] = mul %a, %a\n  %c: f32[] = constant[value=[-0.0]]\n  %d: f32[] = mul %c, %c\n  %e: f32[] = add %b, %d\n  %y: f32[B,4,8] = add %x, %e`,
      ),
      g(`  %e: f32[] = constant[value=[inf]]\n  %y: f32[B,4,8] = add %x, %e`),
    );
    stays(
      'constant-folding',
      g(`  %a: f32[] = constant[value=[2.0]]\n  %y: f32[B,4,8] = add %x, %a`),
    );
  });
});

describe('constant-folding of f16', () => {
  const H = '%x: f16[B,4,8]';
  it('folds a gather, a slice and casts of f16 constants: f16 holds the results exactly', () => {
    const ins = `${H}, %x2: f16[B,4,2], %x1: f16[B,4,1]`;
    fires(
      'constant-folding',
      'constant-folding',
      g(
        [
          '  %t: f16[3] = constant[dtype=f16, shape=[3], value=[-2.2, 65504.0, 0.1]]',
          '  %i: i32[2] = constant[dtype=i32, shape=[2], value=[2, 0]]',
          '  %a: f16[2] = gather %t, %i',
          '  %y0: f16[B,4,2] = add %x2, %a',
          '  %b: f16[1] = slice[axis=0, start=1, end=2] %t',
          '  %y1: f16[B,4,1] = add %x1, %b',
          '  %c: f32[] = constant[value=[100000.0]]',
          '  %d: f16[] = cast[to=f16] %c',
          '  %y: f16[B,4,8] = add %x, %d',
        ].join('\n'),
        '%y0, %y1, %y',
        ins,
      ),
      // The table's values as f16 holds them; 100000 past f16's range: inf.
      g(
        [
          '  %a: f16[2] = constant[dtype=f16, shape=[2], value=[0.0999755859375, -2.19921875]]',
          '  %y0: f16[B,4,2] = add %x2, %a',
          '  %b: f16[1] = constant[dtype=f16, shape=[1], value=[65504.0]]',
          '  %y1: f16[B,4,1] = add %x1, %b',
          '  %d: f16[] = constant[dtype=f16, value=[inf]]',
          '  %y: f16[B,4,8] = add %x, %d',
        ].join('\n'),
        '%y0, %y1, %y',
        ins,
      ),
    );
  });

  it('declines f16 arithmetic that f16 would round (the backends hold it in f32)', () => {
    // Regression: 65504 + 65504 folded to an f16 inf; unfolded it is 131008 and y finite.
    stays(
      'constant-folding',
      g(
        `  %a: f16[] = constant[dtype=f16, value=[65504.0]]\n  %b: f16[] = add %a, %a\n  %c: f32[] = cast[to=f32] %b\n  %y: f32[B,4,8] = add %z, %c`,
        '%y',
        '%z: f32[B,4,8]',
      ),
      /constant-folding at %b: an f16 result the backends hold in f32 would round to f16/,
    );
  });
});

describe('dce', () => {
  it('removes what no output needs; keeps what one does', () => {
    expect(run('dce', g(`  %a: f32[B,4,8] = relu %x\n  %y: f32[B,4,8] = tanh %x`)).text).toBe(
      printGraph(parseGraph(g(`  %y: f32[B,4,8] = tanh %x`))),
    );
    stays('dce', g(`  %a: f32[B,4,8] = relu %x\n  %y: f32[B,4,8] = tanh %a`));
  });
});

describe('fuse-elementwise', () => {
  it('a single-use chain becomes one program; a value used twice is kept', () => {
    fires(
      'fuse-elementwise',
      'fuse-elementwise',
      g(
        `  %a: f32[B,4,8] = relu %x\n  %b: f32[B,4,8] = scale[factor=-0.0] %a\n  %y: f32[B,4,8] = add %b, %x`,
      ),
      g(`  %y: f32[B,4,8] = elementwise[program=["$0",relu,-0.0,mul,"$0",add]] %x`),
    );
    stays(
      'fuse-elementwise',
      g(`  %a: f32[B,4,8] = relu %x\n  %y: f32[B,4,4] = bmm[transpose_b=true] %a, %a`, '%y'),
    );
  });
});

const W = 'params(%w1: f32[8,8] = uniform(-1, 1), %w2: f32[8,8] = uniform(-1, 1))';
const lin = (body: string, ret: string) => `graph @g(${X}) ${W} {\n${body}\n  return ${ret}\n}`;

describe('fuse-qkv-projection', () => {
  it('linears sharing an input over frozen weights stack; without frozen params nothing', () => {
    const text = lin(
      `  %a: f32[B,4,8] = linear %x, %w1\n  %b: f32[B,4,8] = linear %x, %w2\n  %y: f32[B,4,8] = add %a, %b`,
      '%y',
    );
    const r = run('fuse-qkv-projection', text, true);
    expect(r.fired).toEqual(['fuse-qkv-projection']);
    expect(r.text).toMatch(
      /%a.packed: f32\[B,4,16\] = linear %x, %a.stacked_weight\n {2}%a: f32\[B,4,8\], %b: f32\[B,4,8\] = split\[axis=-1, sizes=\[8,8\]\] %a.packed/,
    );
    stays('fuse-qkv-projection', text);
  });
});

describe('fold-scale', () => {
  it('a scale 2^-k ≤ 1 after a linear folds into frozen weights; c > 1, 0.3 or < 0 declines', () => {
    const text = (c: string) =>
      lin(`  %a: f32[B,4,8] = linear %x, %w1\n  %y: f32[B,4,8] = scale[factor=${c}] %a`, '%y');
    const r = run('fold-scale', text('0.5'), true);
    expect(r.fired).toEqual(['fold-scale']);
    expect(r.text).toMatch(/%y: f32\[B,4,8\] = linear %x, %w1.scaled\n/);
    stays(
      'fold-scale',
      text('2.0'),
      /fold-scale at %y: factor 2: only a power of two 0 < c ≤ 1 folds/,
      true,
    );
    stays('fold-scale', text('-0.5'), /factor -0.5/, true);
    stays('fold-scale', text('0.3'), /factor 0.3: only a power of two/, true);
    stays('fold-scale', text('0.5')); // weights not frozen
  });
});

describe('fold-transpose', () => {
  it('a swap of the last two axes becomes a bmm flag; another permutation stays', () => {
    fires(
      'fold-transpose',
      'fold-transpose-b',
      g(`  %t: f32[B,8,4] = transpose[perm=[0,2,1]] %x\n  %y: f32[B,4,4] = bmm %x, %t`),
      g(`  %y: f32[B,4,4] = bmm[transpose_b=true] %x, %x`),
    );
    fires(
      'fold-transpose',
      'fold-transpose-a',
      g(`  %t: f32[B,8,4] = transpose[perm=[0,2,1]] %x\n  %y: f32[B,8,8] = bmm %t, %x`),
      g(`  %y: f32[B,8,8] = bmm[transpose_a=true] %x, %x`),
    );
    stays(
      'fold-transpose',
      `graph @g(%x: f32[4,4,4]) {\n  %t: f32[4,4,4] = transpose[perm=[1,0,2]] %x\n  %y: f32[4,4,4] = bmm %x, %t\n  return %y\n}`,
    );
  });

  it('attention over [B,S,H,d] tensors transposed to [B,H,S,d] reads them in place', () => {
    const ins = '%q: f32[B,T,2,8], %k: f32[B,T,2,8], %v: f32[B,T,2,8]';
    const r = run(
      'fold-transpose',
      g(
        `  %qh: f32[B,2,T,8] = transpose[perm=[0,2,1,3]] %q\n  %kh: f32[B,2,T,8] = transpose[perm=[0,2,1,3]] %k\n  %vh: f32[B,2,T,8] = transpose[perm=[0,2,1,3]] %v\n  %y: f32[B,2,T,8] = attention %qh, %kh, %vh`,
        '%y',
        ins,
      ),
    );
    expect(r.fired).toEqual(['fold-attention-layout']);
    expect(r.text).toContain('attention[layout=bshd] %q, %k, %v');
  });
});

describe('fuse-attention declines, with reasons', () => {
  const QKV = '%q: f32[B,T,8], %k: f32[B,S,8], %v: f32[B,S,8]';
  const scores = `  %s: f32[B,T,S] = bmm[transpose_b=true] %q, %k`;
  // PyTorch 2's SDPA export: where(isnan(p), 0, p)·v.
  const nanGuard = (tested: string, out = '%y') =>
    g(
      `${scores}\n  %p: f32[B,T,S] = softmax %s\n  %n: bool[B,T,S] = isnan %${tested}\n  %z: f32[] = constant[value=[0.0]]\n  %w: f32[B,T,S] = where %n, %z, %p\n  %y: f32[B,T,8] = bmm %w, %v`,
      out,
      QKV,
    );
  it('fuse-attention-nan-guard fires: the op, then NaN rows as Σ v·0', () => {
    fires(
      'fuse-attention,dce',
      'fuse-attention-nan-guard',
      nanGuard('p'),
      g(
        `  %z: f32[] = constant[value=[0.0]]
  %y.attention: f32[B,T,8] = attention[scale=1] %q, %k, %v
  %y.zero_v: f32[B,S,8] = mul %v, %z
  %y.nan_row: f32[B,1,8] = reduce_sum[axes=[-2], keepdims=true] %y.zero_v
  %y.nan: bool[B,T,8] = isnan %y.attention
  %y: f32[B,T,8] = where %y.nan, %y.nan_row, %y.attention`,
        '%y',
        QKV,
      ),
    );
  });
  it('fuse-attention-nan-guard declines a guard on another value, and guarded weights used elsewhere', () => {
    stays(
      'fuse-attention',
      nanGuard('s'),
      /fuse-attention-nan-guard at %y: the guard tests %s for NaN, not the probabilities %p/,
    );
    stays(
      'fuse-attention',
      nanGuard('p', '%y, %w'),
      /fuse-attention-nan-guard at %y: the guarded probabilities %w have other uses/,
    );
    stays(
      'fuse-attention',
      nanGuard('p')
        .replace('%y: f32[B,T,8] = bmm %w, %v', '%y: f32[B,T,8] = bmm[transpose_b=true] %w, %vt')
        .replace('%v: f32[B,S,8]', '%vt: f32[B,8,S]'),
      /fuse-attention-nan-guard at %y: the matmul reads v transposed \(transpose_b\)/,
    );
  });
  it('softmax over another axis', () => {
    stays(
      'fuse-attention',
      g(
        `${scores}\n  %p: f32[B,T,S] = softmax[axis=1] %s\n  %y: f32[B,T,8] = bmm %p, %v`,
        '%y',
        QKV,
      ),
      /fuse-attention at %y: softmax over axis 1, not the key axis \(the last, 2\) of the scores/,
    );
  });
  it('probabilities used elsewhere', () => {
    stays(
      'fuse-attention',
      g(`${scores}\n  %p: f32[B,T,S] = softmax %s\n  %y: f32[B,T,8] = bmm %p, %v`, '%y, %p', QKV),
      /the probabilities %p are used elsewhere too/,
    );
  });
  it('scores that are not a matmul', () => {
    stays(
      'fuse-attention',
      g(
        `${scores}\n  %r: f32[B,T,S] = relu %s\n  %p: f32[B,T,S] = softmax %r\n  %y: f32[B,T,8] = bmm %p, %v`,
        '%y',
        QKV,
      ),
      /the scores %r \(relu\) are not a matmul q·kᵀ/,
    );
  });
  it('a scale of 0 on q', () => {
    stays(
      'fuse-attention',
      g(
        `  %q0: f32[B,T,8] = scale[factor=0.0] %q\n  %s: f32[B,T,S] = bmm[transpose_b=true] %q0, %k\n  %p: f32[B,T,S] = softmax %s\n  %y: f32[B,T,8] = bmm %p, %v`,
        '%y',
        QKV,
      ),
      /the operand %q0 is scaled by 0: only a finite, non-zero factor fuses/,
    );
  });
  it('a causal tril that is neither top-left nor bottom-right', () => {
    stays(
      'fuse-attention',
      g(
        `${scores.replace('[B,T,S]', '[B,T,T]').replace('%k', '%q')}\n  %t: bool[T,T] = tril[k=2] %s\n  %n: f32[] = constant[value=[-inf]]\n  %c: f32[B,T,T] = where %t, %s, %n\n  %p: f32[B,T,T] = softmax %c\n  %y: f32[B,T,8] = bmm %p, %q`,
        '%y',
        QKV,
      ),
      /the causal mask %t is tril k=2: neither top-left \(k=0\) nor bottom-right/,
    );
  });
});

describe('fuse-attention declines a causal where before the mask, with reasons', () => {
  // Eager GPT-2's form: where(causal buffer, s, fill) + padding mask, T = S = 3.
  const ins =
    '%q: f32[2,3,8], %k: f32[2,3,8], %v: f32[2,3,8], %m: f32[2,1,3], %b: bool[3,3], %f: f32[]';
  const TL = '1,0,0,1,1,0,1,1,1';
  const eager = (o: { buf?: string; cond?: string; fill?: string; outer?: boolean } = {}) =>
    g(
      `  %s: f32[2,3,3] = bmm[transpose_b=true] %q, %k
  %buf: bool[${o.buf?.startsWith('2:') ? '2,' : ''}3,3] = constant[dtype=bool, shape=[${o.buf?.startsWith('2:') ? '2,' : ''}3,3], value=[${(o.buf ?? TL).replace('2:', '')}]]
  %min: f32[] = constant[value=[${o.fill === undefined || o.fill === 'input' ? '-3.4028234663852886e38' : o.fill}]]
  %sw: f32[2,3,3] = where %${o.cond ?? 'buf'}, %s, %${o.fill === 'input' ? 'f' : 'min'}
  ${
    o.outer
      ? `%sm: f32[2,3,3] = add %sw, %m\n  %t: bool[3,3] = tril %s\n  %n: f32[] = constant[value=[-inf]]\n  %s9: f32[2,3,3] = where %t, %sm, %n`
      : `%s9: f32[2,3,3] = add %sw, %m`
  }
  %p: f32[2,3,3] = softmax %s9
  %y: f32[2,3,8] = bmm %p, %v`,
      '%y',
      ins,
    );
  it('fires on a lower-triangular buffer (the control for the declines below)', () => {
    expect(run('fuse-attention', eager()).fired).toEqual(['fuse-attention']);
  });
  it('a buffer that is not lower-triangular', () => {
    stays(
      'fuse-attention',
      eager({ buf: '1,0,0,0,1,0,1,1,1' }),
      /the causal buffer %buf is not lower-triangular \(true where j ≤ i \+ k\)/,
    );
  });
  it('a lower-triangular buffer of another alignment (k = 1, T = S)', () => {
    stays(
      'fuse-attention',
      eager({ buf: '1,1,0,1,1,1,1,1,1' }),
      /the causal mask %buf is tril k=1: neither top-left \(k=0\) nor bottom-right \(k=S−T\)/,
    );
  });
  it('a buffer that differs along a leading axis', () => {
    stays(
      'fuse-attention',
      eager({ buf: `2:${TL},${TL}` }),
      /the causal buffer %buf is \[2,3,3\], not \[..1, T, S\] of the scores \[2,3,3\]/,
    );
  });
  it('a condition that is not a constant (an input, or a param unless params are frozen)', () => {
    stays(
      'fuse-attention',
      eager({ cond: 'b' }),
      /the causal condition %b \(an input or param\) is neither tril nor a constant boolean buffer/,
    );
  });
  it('a fill that is not a constant', () => {
    stays(
      'fuse-attention',
      eager({ fill: 'input' }),
      /the fill %f \(an input or param\) of the causal where %sw is not a constant/,
    );
  });
  it('a -inf fill before the mask (the op applies its -inf causal mask after it)', () => {
    stays(
      'fuse-attention',
      eager({ fill: '-inf' }),
      /the causal where %sw fills -inf before the mask: the op's -inf causal mask applies after it/,
    );
  });
  it('a second causal mask outside the mask', () => {
    stays(
      'fuse-attention',
      eager({ outer: true }),
      /two causal masks, one each side of the mask: the op has one/,
    );
  });
});

describe('gqa-rows', () => {
  const gqa = (ins: string, body: string) => `graph @g(${ins}) {\n${body}\n  return %y\n}`;
  const KV = '%k: f32[B,2,S,16], %v: f32[B,2,S,16]';
  it("one query row per head: each key/value head's 4 query heads become its 4 rows", () => {
    fires(
      'gqa-rows',
      'gqa-rows',
      gqa(
        `%q: f32[B,8,1,16], ${KV}`,
        '  %y: f32[B,8,1,16] = attention[causal=bottom_right] %q, %k, %v',
      ),
      gqa(
        `%q: f32[B,8,1,16], ${KV}`,
        '  %y.q_rows: f32[B,2,4,16] = reshape[shape=[B,2,4,16]] %q\n  %y.grouped: f32[B,2,4,16] = attention %y.q_rows, %k, %v\n  %y: f32[B,8,1,16] = reshape[shape=[B,8,1,16]] %y.grouped',
      ),
    );
  });
  it('a per-head mask splits as the query heads do', () => {
    fires(
      'gqa-rows',
      'gqa-rows-mask',
      gqa(
        `%q: f32[B,8,1,16], ${KV}, %m: f32[B,8,1,S]`,
        '  %y: f32[B,8,1,16] = attention %q, %k, %v, %m',
      ),
      gqa(
        `%q: f32[B,8,1,16], ${KV}, %m: f32[B,8,1,S]`,
        '  %y.mask_rows: f32[B,2,4,S] = reshape[shape=[B,2,4,S]] %m\n  %y.q_rows: f32[B,2,4,16] = reshape[shape=[B,2,4,16]] %q\n  %y.grouped: f32[B,2,4,16] = attention %y.q_rows, %k, %v, %y.mask_rows\n  %y: f32[B,8,1,16] = reshape[shape=[B,8,1,16]] %y.grouped',
      ),
    );
  });
  it('layout bshd: the query heads transposed into rows, the output back', () => {
    const ins = '%q: f32[B,1,8,16], %k: f32[B,S,2,16], %v: f32[B,S,2,16], %m: bool[B,1,1,S]';
    fires(
      'gqa-rows',
      'gqa-rows-mask',
      gqa(ins, '  %y: f32[B,1,8,16] = attention[layout=bshd, masked_rows=mask] %q, %k, %v, %m'),
      gqa(
        ins,
        '  %y.q_groups: f32[B,2,4,16] = reshape[shape=[B,2,4,16]] %q\n  %y.q_rows: f32[B,4,2,16] = transpose[perm=[0,2,1,3]] %y.q_groups\n  %y.grouped: f32[B,4,2,16] = attention[masked_rows=mask, layout=bshd] %y.q_rows, %k, %v, %m\n  %y.y_groups: f32[B,2,4,16] = transpose[perm=[0,2,1,3]] %y.grouped\n  %y: f32[B,1,8,16] = reshape[shape=[B,1,8,16]] %y.y_groups',
      ),
    );
  });
  it('declines a first-key causal row, a causal frontier over several rows, a mask varying over rows', () => {
    stays(
      'gqa-rows',
      gqa(
        `%q: f32[B,8,1,16], ${KV}`,
        '  %y: f32[B,8,1,16] = attention[causal=top_left] %q, %k, %v',
      ),
      /gqa-rows at %y: top_left causal on one query row \(it sees only the first key\)/,
    );
    stays(
      'gqa-rows',
      gqa(
        `%q: f32[B,8,4,16], ${KV}`,
        '  %y: f32[B,8,4,16] = attention[causal=bottom_right] %q, %k, %v',
      ),
      /a causal mask over 4 query rows \(the 4 heads' rows would share one frontier\)/,
    );
    stays(
      'gqa-rows',
      gqa(
        `%q: f32[B,8,4,16], ${KV}, %m: bool[B,1,4,S]`,
        '  %y: f32[B,8,4,16] = attention %q, %k, %v, %m',
      ),
      /gqa-rows-mask at %y: a mask of shape \[B,1,4,S\] that varies over query rows but not heads/,
    );
    // As many query heads as key/value heads: nothing to group, no match.
    stays(
      'gqa-rows',
      gqa(`%q: f32[B,2,1,16], ${KV}`, '  %y: f32[B,2,1,16] = attention %q, %k, %v'),
    );
  });
});

describe('fuse-rotary', () => {
  const A = `${X}, %cos: f32[4,8], %sin: f32[4,8]`;
  /** x·cos + cat(−x[…, h:], x[…, :h])·sin over `v` [B,4,n] as HF writes it (or with `edit`). */
  const half = (v: string, n: number, out = '%y', edit = (s: string) => s) =>
    edit(
      [
        `  %lo: f32[B,4,${n / 2}] = slice[axis=2, end=${n / 2}] ${v}`,
        `  %hi: f32[B,4,${n / 2}] = slice[axis=2, start=${n / 2}, end=${n}] ${v}`,
        `  %neg: f32[B,4,${n / 2}] = scale[factor=-1] %hi`,
        `  %rh: f32[B,4,${n}] = concat[axis=2] %neg, %lo`,
        `  %a: f32[B,4,${n}] = mul ${v}, %cos`,
        `  %b: f32[B,4,${n}] = mul %rh, %sin`,
        `  ${out}: f32[B,4,${n}] = add %a, %b`,
      ].join('\n'),
    );
  it('x·cos + rotate_half(x)·sin → rotary, as written, in other operand orders, Neg as ·(−1)', () => {
    const want = g(`  %y: f32[B,4,8] = rotary %x, %cos, %sin`, '%y', A);
    const edits: ((s: string) => string)[] = [
      (s) => s,
      // cos·x alone swapped: x is known only from rotate_half, matched after it.
      (s) => s.replace('mul %x, %cos', 'mul %cos, %x'),
      (s) =>
        s
          .replace('mul %x, %cos', 'mul %cos, %x')
          .replace('mul %rh, %sin', 'mul %sin, %rh')
          .replace('add %a, %b', 'add %b, %a')
          .replace('slice[axis=2, start=4, end=8]', 'slice[axis=-1, start=-4]'),
      (s) =>
        `  %m1: f32[] = constant[value=[-1.0]]\n${s.replace('scale[factor=-1] %hi', 'mul %m1, %hi')}`,
    ];
    for (const edit of edits)
      fires('fuse-rotary,dce', 'rotary', g(half('%x', 8, '%y', edit), '%y', A), want);
  });
  it('partial rotary (Phi): cat(rotary(x[…, :R]), x[…, R:]) → rotary with rotary_dim R', () => {
    const P = `${X}, %cos: f32[4,4], %sin: f32[4,4]`;
    const body = [
      `  %xr: f32[B,4,4] = slice[axis=2, end=4] %x`,
      `  %xp: f32[B,4,4] = slice[axis=2, start=4, end=8] %x`,
      half('%xr', 4, '%r'),
      `  %y: f32[B,4,8] = concat[axis=2] %r, %xp`,
    ].join('\n');
    fires(
      'fuse-rotary,dce',
      'rotary-partial',
      g(body, '%y', P),
      g(`  %y: f32[B,4,8] = rotary[rotary_dim=4] %x, %cos, %sin`, '%y', P),
    );
    // The features past R are not all of the rest of x: the inner rotary stays.
    const gap = body
      .replace('slice[axis=2, start=4, end=8] %x', 'slice[axis=2, start=5, end=8] %x')
      .replace('%xp: f32[B,4,4]', '%xp: f32[B,4,3]')
      .replace('%y: f32[B,4,8] = concat', '%y: f32[B,4,7] = concat');
    const r = run('fuse-rotary', g(gap, '%y', P));
    expect(r.fired).toEqual(['rotary']);
    expect(r.declines.join('\n')).toMatch(
      /rotary-partial at %y: cat\(rotary\(x\[…, 0:4\]\), x\[…, 5:8\]\) along axis 2 is not x's first 4 features rotated and the rest of its 8 appended/,
    );
  });
  it('declines: not the halves, joined along another axis, not negated, broadcast past x', () => {
    stays(
      'fuse-rotary',
      g(
        half('%x', 8, '%y', (s) =>
          s
            .replace('slice[axis=2, end=4] %x', 'slice[axis=2, start=1, end=5] %x')
            .replace('start=4, end=8] %x', 'start=3, end=7] %x'),
        ),
        '%y',
        A,
      ),
      /rotary at %y: the rotated halves are x\[…, 1:5\] and x\[…, 3:7\], not the two halves of x's last axis \(of 8\)/,
    );
    stays(
      'fuse-rotary',
      g(
        half('%x', 8, '%y', (s) => s.replace('scale[factor=-1]', 'scale[factor=2]')),
        '%y',
        A,
      ),
      /rotary at %y: the moved half is scaled by 2, not negated/,
    );
    // x [1,2]: its halves [1,1] joined along axis 0 are [2,1], which sin [1,2] widens to x·cos's [2,2].
    stays(
      'fuse-rotary',
      `graph @g(%x: f32[1,2], %cos: f32[2,2], %sin: f32[1,2]) {
  %lo: f32[1,1] = slice[axis=1, end=1] %x
  %hi: f32[1,1] = slice[axis=1, start=1, end=2] %x
  %neg: f32[1,1] = scale[factor=-1] %hi
  %rh: f32[2,1] = concat[axis=0] %neg, %lo
  %a: f32[2,2] = mul %x, %cos
  %b: f32[2,2] = mul %rh, %sin
  %y: f32[2,2] = add %a, %b
  return %y
}`,
      /rotary at %y: the halves are joined along axis 0, not the last/,
    );
    stays(
      'fuse-rotary',
      g(half('%x', 8), '%y', `${X}, %cos: f32[2,B,4,8], %sin: f32[4,8]`).replace(
        /(%[ay]): f32\[B,4,8\] = (mul %x|add)/g,
        '$1: f32[2,B,4,8] = $2',
      ),
      /rotary at %y: cos or sin broadcasts x \[B,4,8\] to \[2,B,4,8\]: rotary keeps x's shape/,
    );
  });
});
