/**
 * The browser page of the browser checks: compiles the seed's self-attention with the
 * backend the query names (?backend=wgsl on the page's navigator.gpu, ?backend=wasm&threads=2
 * on Web Workers) and shows the output. Bundled from source by esbuild
 * (test/browser/serve.ts); the inputs follow `pageInputs`, which the Node side uses too.
 */
import { compile, models } from 'glimpse';
import { pageInputs, PAGE_MODEL } from './inputs.js';

async function main() {
  const out = document.getElementById('out')!;
  try {
    const q = new URLSearchParams(location.search);
    const backend = q.get('backend') ?? 'wgsl';
    const threads = q.has('threads') ? Number(q.get('threads')) : undefined;
    const exe = await compile(models.selfAttention(PAGE_MODEL), {
      backend,
      level: 2,
      ...(threads === undefined ? {} : { threads }),
    });
    const { y } = await exe.run(pageInputs());
    const pool = exe as { threads?: number; workers?: number; fma?: boolean };
    const data = Array.from(y!.data as Float32Array);
    out.textContent = `y: f32[${y!.shape.join(',')}] ${data
      .slice(0, 4)
      .map((v) => v.toFixed(5))
      .join(' ')}`;
    (window as unknown as { glimpseResult: unknown }).glimpseResult = {
      shape: y!.shape,
      data,
      threads: pool.threads,
      workers: pool.workers,
      fma: pool.fma,
      isolated: crossOriginIsolated,
    };
  } catch (e) {
    out.textContent = `error: ${(e as Error).message}`;
    (window as unknown as { glimpseResult: unknown }).glimpseResult = {
      error: (e as Error).message,
    };
  }
}
void main();
