/**
 * The wasm backend in a browser: headless Chromium (Debian's, through playwright-core)
 * loads a page served cross-origin isolated from 127.0.0.1 (test/browser/serve.ts) that
 * compiles the seed's self-attention on wasm with 2 threads — a Web Worker over a shared
 * WebAssembly.Memory — and shows the result Node computes (to the bit where both engines
 * have relaxed SIMD or both lack it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, interpret, models } from 'glimpse';
import { launchChromium } from '../chromium.js';
import { asRef, assertClose } from '../helpers.js';
import { pageInputs, PAGE_MODEL, PAGE_SHAPE } from '../browser/inputs.js';
import { pageResult, servePage } from '../browser/serve.js';

let server: { url: string; close: () => void } | undefined;

describe('wasm in a browser', () => {
  beforeAll(async () => {
    server = await servePage();
  });
  afterAll(() => server?.close());

  it('runs self-attention on wasm with 2 threads in headless Chromium and equals Node', async () => {
    const browser = await launchChromium();
    try {
      const { result, errors } = await pageResult(browser, `${server!.url}?backend=wasm&threads=2`);
      expect(errors).toEqual([]);
      expect(result.error).toBeUndefined();
      expect(result.isolated).toBe(true);
      expect(result.threads).toBe(2);
      expect(result.workers).toBe(1);
      expect(result.shape).toEqual(PAGE_SHAPE);
      const g = models.selfAttention(PAGE_MODEL);
      const x = pageInputs();
      const browserY = {
        dtype: 'f32' as const,
        shape: result.shape!,
        data: Float32Array.from(result.data!),
      };
      const exe = await compile(g, { backend: 'wasm', threads: 2 });
      const node = (await exe.run(x)).y!;
      // The same kernels: the same bits — unless one engine has relaxed SIMD and the other
      // not (Chromium has it on, Node 20 behind a flag), when the multiply-adds round once.
      if (result.fma === exe.fma)
        expect(Array.from(browserY.data)).toEqual(Array.from(node.data as Float32Array));
      else expect(result.fma).toBe(true);
      assertClose(browserY, interpret(g, x).y!, undefined, 'browser wasm vs reference', 10);
      assertClose(browserY, asRef(node), undefined, 'browser vs node wasm', 10);
    } finally {
      await browser.close();
    }
  });
});
