/**
 * The browser page of the WGSL browser check: compiles the seed's self-attention with the
 * wgsl backend on the page's navigator.gpu and shows the output. Bundled from source by
 * esbuild (test/wgsl/browser.wgsl.test.ts); the inputs follow `pageInputs`, which the Node
 * side uses too.
 */
import { compile, models } from 'glimpse';
import { pageInputs, PAGE_MODEL } from './inputs.js';

async function main() {
  const out = document.getElementById('out')!;
  try {
    const exe = await compile(models.selfAttention(PAGE_MODEL), { backend: 'wgsl', level: 2 });
    const { y } = await exe.run(pageInputs());
    const data = Array.from(y!.data as Float32Array);
    out.textContent = `y: f32[${y!.shape.join(',')}] ${data
      .slice(0, 4)
      .map((v) => v.toFixed(5))
      .join(' ')}`;
    (window as unknown as { glimpseResult: unknown }).glimpseResult = { shape: y!.shape, data };
  } catch (e) {
    out.textContent = `error: ${(e as Error).message}`;
    (window as unknown as { glimpseResult: unknown }).glimpseResult = {
      error: (e as Error).message,
    };
  }
}
void main();
