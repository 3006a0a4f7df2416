import { createServer } from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { ROOT } from '../cli.js';

const OUT = `${ROOT}test-output/browser`;

/**
 * The browser check's page: test/browser/page.ts bundled from source by esbuild, and the
 * wasm backend's worker script, served from 127.0.0.1 with the headers that make the page
 * cross-origin isolated (SharedArrayBuffer for the wasm threads). Only these files are
 * served; anything else is a 404.
 */
export async function servePage(): Promise<{ url: string; close: () => void }> {
  const esbuild = await import('esbuild');
  mkdirSync(OUT, { recursive: true });
  await esbuild.build({
    entryPoints: [`${ROOT}test/browser/page.ts`],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    conditions: ['@glimpse/source'],
    // Node-only branches of the device module and the thread pool; never reached in a browser.
    external: ['webgpu', 'node:*'],
    outfile: `${OUT}/page.js`,
    logLevel: 'error',
  });
  const files: Record<string, [string, string]> = {
    '/': [
      'text/html',
      '<!doctype html><meta charset="utf-8"><pre id="out">…</pre><script type="module" src="/page.js"></script>',
    ],
    '/page.js': ['text/javascript', readFileSync(`${OUT}/page.js`, 'utf8')],
    '/worker.mjs': [
      'text/javascript',
      readFileSync(`${ROOT}packages/backend-wasm/worker.mjs`, 'utf8'),
    ],
  };
  const server = createServer((req, res) => {
    const f = files[(req.url ?? '').split('?')[0]!];
    res.writeHead(f ? 200 : 404, {
      'content-type': f?.[0] ?? 'text/plain',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    res.end(f?.[1] ?? 'not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => server.close(),
  };
}

/** What the page leaves in window.glimpseResult. */
export interface PageResult {
  shape?: number[];
  data?: number[];
  error?: string;
  threads?: number;
  workers?: number;
  isolated?: boolean;
  /** Whether the wasm kernels used relaxed SIMD's multiply-add (Chromium has it on). */
  fma?: boolean;
}

/** Open the page at `url` in `browser` and wait for its result (and its page errors). */
export async function pageResult(
  browser: Browser,
  url: string,
): Promise<{ page: Page; result: PageResult; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(
    () => (window as unknown as { glimpseResult?: unknown }).glimpseResult !== undefined,
    undefined,
    { timeout: 60_000 },
  );
  const result = (await page.evaluate(
    () => (window as unknown as { glimpseResult: unknown }).glimpseResult,
  )) as PageResult;
  return { page, result, errors };
}
