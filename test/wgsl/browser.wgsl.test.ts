/**
 * The browser check: headless Chromium (Debian's, driven by playwright-core, WebGPU on its
 * SwiftShader adapter) loads a page served from 127.0.0.1 that compiles the seed's
 * self-attention with the wgsl backend from a browser bundle of `glimpse`; the page shows
 * the same result as WGSL in Node and the JS backend.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compile, interpret, models } from 'glimpse';
import { launchChromium } from '../chromium.js';
import { asRef, assertClose } from '../helpers.js';
import { pageInputs, PAGE_MODEL, PAGE_SHAPE } from '../browser/inputs.js';
import { pageResult, servePage } from '../browser/serve.js';
import { describeGpu } from './gpu.js';

let server: { url: string; close: () => void } | undefined;
const url = () => server!.url;

describeGpu('WGSL in a browser', () => {
  beforeAll(async () => {
    server = await servePage();
  });
  afterAll(() => server?.close());

  it('compiles self-attention with wgsl in headless Chromium and shows the Node result', async () => {
    const browser = await launchChromium([
      '--enable-unsafe-webgpu',
      '--use-webgpu-adapter=swiftshader',
    ]);
    try {
      const { page, result, errors } = await pageResult(browser, `${url()}?backend=wgsl`);
      expect(errors).toEqual([]);
      expect(result.error).toBeUndefined();
      expect(result.shape).toEqual(PAGE_SHAPE);
      expect(await page.locator('#out').innerText()).toMatch(/^y: f32\[2,9,32\] /);

      const g = models.selfAttention(PAGE_MODEL);
      const x = pageInputs();
      const browserY = {
        dtype: 'f32' as const,
        shape: result.shape!,
        data: Float32Array.from(result.data!),
      };
      const nodeWgsl = (await (await compile(g, { backend: 'wgsl', level: 2 })).run(x)).y!;
      const js = (await (await compile(g, { backend: 'js', level: 2 })).run(x)).y!;
      const ref = interpret(g, x).y!;
      assertClose(browserY, ref, undefined, 'browser wgsl vs reference', 10);
      assertClose(browserY, asRef(nodeWgsl), undefined, 'browser vs node wgsl', 10);
      assertClose(browserY, asRef(js), undefined, 'browser vs node js', 10);
    } finally {
      await browser.close();
    }
  });
});
