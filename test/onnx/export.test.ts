/**
 * ONNX export: every built-in model (as written, and at -O2 with frozen weights: the fused
 * attention becomes ONNX Attention) and the PyTorch exports at -O2 run in onnxruntime-node
 * and equal glimpse's JS backend (rtol 1e-3, atol 1e-5); importOnnx(exportOnnx(g)) ≡ g on
 * the reference interpreter for random graphs.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
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
import { buildModel, MODEL_NAMES } from '@glimpse/models';
import { decodeOnnx, exportOnnx, importOnnx } from '@glimpse/onnx';
import { optimize } from '@glimpse/optimizer';
import { compile } from 'glimpse';
import { cli } from '../cli.js';
import { randomGraph } from '../graph-gen.js';
import { asRef, assertClose } from '../helpers.js';
import { runOrt } from './ort.js';
import { FOLDERS, loadCase } from './testdata.js';
import { CASES } from '../op-cases.js';

function randomInputs(
  g: Graph,
  binding: Record<string, number>,
  seed: number,
): Record<string, Tensor> {
  return Object.fromEntries(
    g.inputs.map((inp) => {
      const shape = concreteShape(inp.type.shape, binding);
      const rnd = randomStream(seed, inp.name);
      const n = shape.reduce((a, d) => a * d, 1);
      const v = Array.from({ length: n }, () =>
        inp.type.dtype === 'i32' ? Math.floor(rnd() * 4) : rnd() * 2 - 1,
      );
      return [inp.name, fromNumbers(inp.type.dtype, shape, v)];
    }),
  );
}

const TOL = { rtol: 1e-3, atol: 1e-5 };

describe('exported models run in onnxruntime-node and equal glimpse', () => {
  for (const name of MODEL_NAMES)
    for (const level of [0, 2] as const)
      it(`${name} at -O${level}`, async () => {
        const spec = name === 'context-attention' ? name : `${name}:dim=16`;
        const g0 = buildModel(spec).graph;
        const g = optimize(g0, { level, frozenParams: true });
        const x = randomInputs(g, { B: 2, T: 5, S: 7 }, 3);
        const want = await (await compile(g, { level: 0 })).run(x);
        const bytes = exportOnnx(g);
        const got = await runOrt(bytes, g, x);
        for (const o of g.outputs) assertClose(got[o]!, asRef(want[o]!), TOL, `ort %${o}`);
        // The file itself: fused attention is one ONNX Attention node, written out it is not.
        const ops = decodeOnnx(bytes, 'export.onnx').graph!.node!.map((n) => n.opType);
        const fused = level === 2 && name !== 'context-attention';
        expect(
          ops.filter((o) => o === 'Attention').length,
          `Attention nodes in ${ops.join(' ')}`,
        ).toBe(fused ? (name === 'transformer' ? 2 : 1) : 0);
        expect(ops.includes('Softmax'), `Softmax in ${ops.join(' ')}`).toBe(!fused);
      });
  // The torch exports, and ONNX's _expanded Attention functions fused at -O2 (masked_rows
  // 'mask' back to ONNX Attention), against the outputs stored with them.
  for (const folder of [
    'torch/seed_self_attention',
    'torch/mha_self',
    'torch/gpt_causal_block',
    'torch/context_attention_net',
    ...FOLDERS.filter((f) => /test_attention_.*_expanded$/.test(f)),
  ])
    it(`${folder} at -O2`, async () => {
      const c = loadCase(folder);
      const g = optimize(c.graph, { level: 2, frozenParams: true });
      const got = await runOrt(exportOnnx(g), g, c.inputs);
      g.outputs.forEach((o, i) =>
        assertClose(got[o]!, asRef(c.outputs[i]!), TOL, `${folder} ort %${o}`),
      );
    });
});

describe('importOnnx(exportOnnx(g)) ≡ g', () => {
  it('for random graphs, on the reference interpreter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const { graph, binding } = randomGraph({ seed, nodes: 10, hostileNames: seed % 2 === 0 });
        const back = importOnnx(exportOnnx(graph));
        const x = randomInputs(graph, binding, seed);
        const [a, b] = [
          interpret(graph, x, { shapes: binding }),
          interpret(back, x, { shapes: binding }),
        ];
        for (const o of graph.outputs)
          assertClose(
            { ...a[o]!, data: Float32Array.from(b[o]!.data) } as Tensor,
            a[o]!,
            { rtol: 1e-6, atol: 1e-6 },
            `%${o}`,
          );
      }),
      { numRuns: 100 },
    );
  });
});

describe('what ONNX Attention cannot hold is refused, naming the node', () => {
  it('a causal mask with a finite causal_fill (ONNX fills with -inf, after the mask)', () => {
    const g = parseGraph(`graph @a(%q: f32[1,2,3,4], %k: f32[1,2,3,4], %v: f32[1,2,3,4]) {
  %y: f32[1,2,3,4] = attention[causal=top_left, causal_fill=-3.4028234663852886e38] %q, %k, %v
  return %y
}`);
    expect(() => exportOnnx(g)).toThrow(
      /cannot export to ONNX: a causal mask with causal_fill -3\.4028234663852886e\+38 \(ONNX's is -inf\)/,
    );
    // The same op with the default fill exports.
    expect(
      exportOnnx(parseGraph(printGraph(g).replace(/, causal_fill=[^\]]*/, ''))).length,
    ).toBeGreaterThan(0);
  });
});

describe('glimpse convert MODEL -o FILE.onnx', () => {
  it('writes a model that glimpse and onnxruntime run with the same outputs', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'glimpse-export-')), 'block.onnx');
    const spec = 'transformer-block:dim=16,heads=2,hidden=32';
    const r = await cli('convert', spec, '-o', f, '--level', '2');
    expect(r.err).toBe('');
    expect(r.out).toBe(`wrote ${f}\n`);
    const g = importOnnx(readFileSync(f), { file: f });
    expect(g.nodes.filter((n) => n.op === 'attention')).toHaveLength(1);
    const x = randomInputs(g, { B: 1, T: 6 }, 9);
    const want = await (await compile(buildModel(spec).graph, { level: 0 })).run(x);
    const got = await runOrt(readFileSync(f), g, x);
    assertClose(got.y!, asRef(want.y!), TOL, 'ort');
  });
});

describe('rotary exports as the ops exporters write', () => {
  it('onnxruntime-node gives glimpse’s answer; imported back, -O2 fuses rotate-half again', async () => {
    await fc.assert(
      fc.asyncProperty(CASES.rotary, async (c) => {
        const bytes = exportOnnx(c.graph);
        const ops = decodeOnnx(bytes, 'rotary.onnx').graph!.node!.map((n) => n.opType);
        expect(ops).toContain('Neg');
        const want = await (await compile(c.graph, { backend: 'js', level: 0 })).run(c.inputs);
        const got = await runOrt(bytes, c.graph, c.inputs);
        assertClose(got.y!, asRef(want.y!), TOL, 'ort %y', c.scale ?? 1);
        const back = optimize(importOnnx(bytes), { level: 2 });
        const interleaved = c.graph.nodes[0]!.attrs.interleaved === true;
        expect(back.nodes.some((n) => n.op === 'rotary')).toBe(!interleaved);
      }),
      { numRuns: 40 },
    );
  });
});
