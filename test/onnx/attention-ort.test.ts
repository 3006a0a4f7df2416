/**
 * ONNX Attention (opsets 23/24) imported by glimpse ≡ onnxruntime-node running the same
 * node, over random configurations: 3-D and 4-D inputs, GQA, boolean / additive masks
 * with fully masked rows, is_causal with and without past_key / nonpad_kv_seqlen (the
 * per-batch causal frontier can be negative, masking whole rows), softcap, scale, and every
 * qk_matmul_output_mode. Each output is compared: Y, present_key/value, qk_matmul_output.
 * Glimpse runs the import as written (-O0, reference interpreter) and fused (-O2, JS).
 * Inputs are finite: onnxruntime's kernel and ONNX's function differ on NaN/inf (0·inf in a
 * fully masked row), which the special-value tests of the attention op cover against the
 * function's semantics instead. Tolerance: f32 in onnxruntime vs float64 / f32 here,
 * scores up to ~10: rtol 1e-4, atol 1e-5.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DType, Tensor } from '@glimpse/ir';
import { fromNumbers, interpret, randomStream } from '@glimpse/ir';
import { importOnnx, onnx } from '@glimpse/onnx';
import { optimize } from '@glimpse/optimizer';
import { compile } from 'glimpse';
import { asRef, assertClose } from '../helpers.js';
import { runOrt } from './ort.js';

const ELEM: Record<string, number> = { f32: 1, bool: 9, i64: 7 };
const INT = 2;
const FLOAT = 1;

const config = fc.record({
  B: fc.integer({ min: 1, max: 2 }),
  Hkv: fc.integer({ min: 1, max: 2 }),
  group: fc.constantFrom(1, 2),
  T: fc.integer({ min: 1, max: 5 }),
  S: fc.integer({ min: 1, max: 6 }),
  dh: fc.constantFrom(2, 4, 8),
  dv: fc.integer({ min: 1, max: 4 }),
  threeD: fc.boolean(),
  // (Masks shorter than the keys, which ONNX pads, are refused by onnxruntime 1.30.)
  mask: fc.constantFrom('none', 'bool', 'additive'),
  maskRank: fc.constantFrom(2, 4),
  causal: fc.boolean(),
  cache: fc.constantFrom('none', 'past', 'nonpad'),
  past: fc.integer({ min: 1, max: 3 }),
  softcap: fc.constantFrom(0, 0, 2),
  scale: fc.option(fc.constantFrom(0.3, 1), { nil: undefined }),
  mode: fc.constantFrom(-1, 0, 1, 2, 3),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});
type Config = typeof config extends fc.Arbitrary<infer C> ? C : never;

interface Built {
  bytes: Uint8Array;
  inputs: Record<string, Tensor>;
}

function build(c: Config, asIs = false): Built {
  const Hq = c.Hkv * c.group;
  const P = c.cache === 'past' ? c.past : 0;
  // With past_key and is_causal, ONNX's reference offsets the frontier by the past length;
  // onnxruntime 1.30 agrees only where the new keys are as many as the queries (decode,
  // prefill), so S = T there. The other case is checked by hand below.
  if (c.cache === 'past' && c.causal && !asIs) c = { ...c, S: c.T };
  const total = c.S + P;
  const qkv = (h: number, len: number, d: number) =>
    c.threeD ? [c.B, len, h * d] : [c.B, h, len, d];
  const maskShape = c.maskRank === 2 ? [c.T, total] : [c.B, Hq, c.T, total];
  const ins: [string, DType, number[]][] = [
    ['Q', 'f32', qkv(Hq, c.T, c.dh)],
    ['K', 'f32', qkv(c.Hkv, c.S, c.dh)],
    ['V', 'f32', qkv(c.Hkv, c.S, c.dv)],
  ];
  const names = ['Q', 'K', 'V'];
  const slot = (name: string, dtype: DType, shape: number[], at: number) => {
    while (names.length < at) names.push('');
    names.push(name);
    ins.push([name, dtype, shape]);
  };
  if (c.mask !== 'none') slot('M', c.mask === 'bool' ? 'bool' : 'f32', maskShape, 3);
  if (c.cache === 'past') {
    slot('PK', 'f32', [c.B, c.Hkv, P, c.dh], 4);
    slot('PV', 'f32', [c.B, c.Hkv, P, c.dv], 5);
  }
  if (c.cache === 'nonpad') slot('L', 'i64', [c.B], 6);
  const outs = ['Y', c.cache === 'past' ? 'PRK' : '', c.cache === 'past' ? 'PRV' : ''];
  if (c.mode >= 0) outs.push('QK');
  while (outs[outs.length - 1] === '') outs.pop();
  const attribute: object[] = [{ name: 'is_causal', type: INT, i: c.causal ? 1 : 0 }];
  if (c.threeD)
    attribute.push(
      { name: 'q_num_heads', type: INT, i: Hq },
      { name: 'kv_num_heads', type: INT, i: c.Hkv },
    );
  if (c.softcap) attribute.push({ name: 'softcap', type: FLOAT, f: c.softcap });
  if (c.scale !== undefined) attribute.push({ name: 'scale', type: FLOAT, f: c.scale });
  if (c.mode >= 0) attribute.push({ name: 'qk_matmul_output_mode', type: INT, i: c.mode });
  const info = (name: string, dtype: DType, shape?: number[]) => ({
    name,
    type: {
      tensorType: {
        elemType: ELEM[dtype],
        ...(shape ? { shape: { dim: shape.map((d) => ({ dimValue: d })) } } : {}),
      },
    },
  });
  const model = onnx.ModelProto.fromObject({
    irVersion: 10,
    opsetImport: [{ domain: '', version: c.cache === 'nonpad' ? 24 : 23 }],
    graph: {
      name: 'attention',
      node: [{ opType: 'Attention', name: 'attn', input: names, output: outs, attribute }],
      input: ins.map(([n, d, s]) => info(n, d, s)),
      output: outs.filter((o) => o !== '').map((o) => info(o, 'f32')),
    },
  });
  const inputs: Record<string, Tensor> = {};
  for (const [n, d, s] of ins) {
    const rnd = randomStream(c.seed, n);
    const size = s.reduce((a, x) => a * x, 1);
    const vals = Array.from({ length: size }, () => {
      if (n === 'L') return Math.floor(rnd() * (c.S + 1)); // 0 … S valid keys (0: all masked)
      if (n === 'M') return d === 'bool' ? (rnd() < 0.6 ? 1 : 0) : rnd() < 0.35 ? -Infinity : rnd();
      return rnd() * 4 - 2;
    });
    inputs[n] = fromNumbers(d, s, vals);
  }
  return { bytes: onnx.ModelProto.encode(model).finish(), inputs };
}

const TOL = { rtol: 1e-4, atol: 1e-5 };

describe('ONNX Attention ≡ onnxruntime-node', () => {
  it('random configurations: every output, -O0 reference and -O2 JS', async () => {
    let fullyMasked = 0;
    await fc.assert(
      fc.asyncProperty(config, async (c) => {
        const { bytes, inputs } = build(c);
        const g = importOnnx(bytes, { file: 'attention.onnx' });
        const want = await runOrt(bytes, g, inputs);
        const ref = interpret(g, inputs);
        const o2 = optimize(g, { level: 2 });
        expect(o2.nodes.filter((n) => n.op === 'attention')).toHaveLength(1);
        const js = await (await compile(o2, { backend: 'js' })).run(inputs);
        for (const o of g.outputs) {
          // onnxruntime writes nonpad padding into qk_matmul_output as -FLT_MAX, where
          // ONNX's reference (and glimpse) add -inf: read its -FLT_MAX as -inf.
          const ort = asRef(want[o]!);
          const w = {
            ...ort,
            data: ort.data.map((x) => (x <= -3.4028234663852886e38 ? -Infinity : x)),
          };
          assertClose(fromNumbers('f32', ref[o]!.shape, ref[o]!.data), w, TOL, `${o} -O0`);
          assertClose(js[o]!, w, TOL, `${o} -O2`);
        }
        const y = want.Y!.data as Float32Array;
        if (y.some((x) => x === 0)) fullyMasked++;
      }),
      { numRuns: 120 },
    );
    // The configurations do reach rows with nothing to attend to (output 0).
    expect(fullyMasked).toBeGreaterThan(5);
  });
});

describe('is_causal with past_key and fewer or more new keys than queries', () => {
  // ONNX's reference: query i sees key j when j ≤ i + past length. Checked against softmax
  // over exactly those keys, written out here (onnxruntime 1.30 aligns these differently).
  for (const [T, S, P] of [
    [1, 2, 1],
    [2, 1, 1],
    [3, 1, 2],
  ] as const)
    it(`T=${T}, new keys ${S}, past ${P}`, () => {
      const c = {
        B: 1,
        Hkv: 1,
        group: 1,
        T,
        S,
        dh: 2,
        dv: 1,
        threeD: false,
        mask: 'none',
        maskRank: 2,
        causal: true,
        cache: 'past',
        past: P,
        softcap: 0,
        scale: undefined,
        mode: -1,
        seed: 7,
      } as const;
      const { bytes, inputs } = build(c, true);
      const y = interpret(importOnnx(bytes), inputs).Y!.data;
      const at = (t: Tensor, i: number) => Number(t.data[i]);
      const key = (j: number, d: number) =>
        j < P ? at(inputs.PK!, j * 2 + d) : at(inputs.K!, (j - P) * 2 + d);
      const val = (j: number) => (j < P ? at(inputs.PV!, j) : at(inputs.V!, j - P));
      for (let i = 0; i < T; i++) {
        const seen = [...Array(Math.min(i + P + 1, P + S)).keys()];
        const w = seen.map((j) =>
          Math.exp(
            (at(inputs.Q!, i * 2) * key(j, 0) + at(inputs.Q!, i * 2 + 1) * key(j, 1)) / Math.SQRT2,
          ),
        );
        const want = seen.reduce((a, j, n) => a + w[n]! * val(j), 0) / w.reduce((a, b) => a + b);
        expect(Math.abs(y[i]! - want)).toBeLessThan(1e-6);
      }
    });
});
