/**
 * Attention architectures written by others — torchvision's VisionTransformer and
 * SwinTransformer, torchaudio's wav2vec2 and Conformer, nn.Transformer with a causal
 * target mask, nn.TransformerEncoder (norm-first, GELU, key padding mask) — exported by
 * PyTorch 1.13 at opset 14 (test/fixtures/gen_architectures.py), against PyTorch's own
 * output and onnxruntime-node's, at -O0 and -O2 on the JS and wasm backends.
 */
import { describe, expect, it } from 'vitest';
import { compile } from 'glimpse';
import { asRef, assertClose } from '../helpers.js';
import { ARCHITECTURES, load, TOL } from './architectures.js';
import { runOrt } from './ort.js';

describe('architectures exported by PyTorch ≡ PyTorch and onnxruntime-node', () => {
  for (const [name, attentions] of Object.entries(ARCHITECTURES))
    it(name, async () => {
      const { bytes, graph, inputs, torch } = load(name);
      const want = asRef(torch);
      const ort = (await runOrt(bytes, graph, inputs)).y!;
      assertClose(ort, want, TOL, `${name}: onnxruntime vs PyTorch`);
      for (const backend of ['js', 'wasm'] as const)
        for (const level of [0, 2] as const) {
          const exe = await compile(graph, {
            backend,
            level,
            ...(backend === 'wasm' ? { threads: 1 } : {}),
          });
          const got = (await exe.run(inputs)).y!;
          assertClose(got, want, TOL, `${name} ${backend} -O${level} vs PyTorch`);
          assertClose(got, asRef(ort), TOL, `${name} ${backend} -O${level} vs onnxruntime`);
          if (level === 2) {
            const ops = exe.graph.nodes.map((n) => n.op);
            expect(ops.filter((o) => o === 'attention').length, `${name}: fused attentions`).toBe(
              attentions,
            );
            // Decomposed LayerNorm and Erf-form GELU fused (fuse-norm): no erf left, and no
            // mean that a value is centred by (x − mean(x), a LayerNorm's first step); a
            // pooling mean (Swin's classifier) stays.
            const made = new Map(exe.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n])));
            const centring = exe.graph.nodes.filter(
              (n) =>
                n.op === 'sub' &&
                made.get(n.inputs[1]!)?.op === 'reduce_mean' &&
                made.get(n.inputs[1]!)?.inputs[0] === n.inputs[0],
            );
            expect(
              centring.map((n) => n.outputs[0]),
              name,
            ).toEqual([]);
            expect(
              ops.filter((o) => o === 'erf'),
              name,
            ).toEqual([]);
            expect(ops, name).toContain('layer_norm');
          }
        }
    });
});
