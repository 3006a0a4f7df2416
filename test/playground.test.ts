/**
 * The playground: its server answers only its own files, on 127.0.0.1, with the
 * cross-origin isolation headers (path traversal with `..` and its encodings finds
 * nothing); the page, in headless Chromium, shows the passes of a built-in model with
 * fuse-attention firing, keeps its state in the URL, runs the model on wasm (2 Web Workers)
 * and on WebGPU (SwiftShader) with equal outputs that match the float64 reference,
 * bisects with one button, and takes a dropped ONNX file. A screenshot goes to test-output/.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, interpret, randomInputs } from 'glimpse';
import { servePlayground } from '@glimpse/playground';
import { launchChromium } from './chromium.js';
import { cli, FIXTURES, ROOT } from './cli.js';
import { asRef, assertClose } from './helpers.js';
import { describeGpu } from './wgsl/gpu.js';

let server: { url: string; close: () => Promise<void> } | undefined;
beforeAll(async () => {
  server = await servePlayground(0);
}, 60_000);
afterAll(() => server?.close());

/** A raw GET of `path` exactly as written (no URL normalisation on the way). */
function rawGet(
  path: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { port } = new URL(server!.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: Number(port), path, method }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * `text` written to the server as it is; resolves with everything read back once the server
 * closes the connection (so a server waiting for more of a body would fail the test by
 * timeout). `end`: half-close after writing (a 200 keeps the connection alive otherwise).
 */
function raw(text: string, end = true): Promise<string> {
  const { port } = new URL(server!.url);
  return new Promise((resolve, reject) => {
    let got = '';
    const sock = connect(Number(port), '127.0.0.1', () =>
      end ? sock.end(text) : sock.write(text),
    );
    sock.on('data', (c) => (got += c));
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
  });
}

describe('the playground server', () => {
  it('serves its page on 127.0.0.1, cross-origin isolated', async () => {
    expect(new URL(server!.url).hostname).toBe('127.0.0.1');
    const r = await rawGet('/');
    expect(r.status).toBe(200);
    expect(r.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(r.headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect(r.body).toMatch(/<script type="module" src=".\/page.js">/);
    expect((await rawGet('/page.js')).status).toBe(200);
    expect((await rawGet('/worker.mjs')).status).toBe(200);
  });

  it('answers nothing else: no listing, no traversal, no other method', async () => {
    const secret = readFileSync(`${ROOT}package.json`, 'utf8');
    for (const path of [
      '/../package.json',
      '/../../package.json',
      '/%2e%2e/package.json',
      '/%2E%2E%2Fpackage.json',
      '/..%2f..%2fpackage.json',
      '/..\\package.json',
      '//etc/passwd',
      '/page.js/../../package.json',
      '/src/page.ts',
      '/package.json',
      '/dist/',
      '/?../package.json',
    ]) {
      const r = await rawGet(path);
      if (path === '/?../package.json')
        expect(r.status).toBe(200); // the page itself
      else expect(r.status, path).toBe(404);
      expect(r.body).not.toContain(secret.slice(0, 40));
    }
    expect((await rawGet('/', 'POST')).status).toBe(405);
  });

  it('answers only requests addressed to it (DNS rebinding gets 421)', async () => {
    const { port } = new URL(server!.url);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`])
      expect((await raw(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`)).split(' ')[1], host).toBe(
        '200',
      );
    for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1', `localhost:1`])
      expect((await raw(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`)).split(' ')[1], host).toBe(
        '421',
      );
    // HTTP/1.0 without a Host header.
    expect((await raw('GET / HTTP/1.0\r\n\r\n')).split(' ')[1]).toBe('421');
  });

  it('answers a request with a body at once and closes it, reading none of it', async () => {
    const { port } = new URL(server!.url);
    const host = `Host: 127.0.0.1:${port}`;
    // 2 GiB declared, 1 KiB sent: the answer comes and the connection closes without the rest.
    const post = await raw(
      `POST / HTTP/1.1\r\n${host}\r\nContent-Length: 2147483648\r\n\r\n${'x'.repeat(1024)}`,
      false,
    );
    expect(post.split('\r\n')[0]).toBe('HTTP/1.1 405 Method Not Allowed');
    const get = await raw(`GET / HTTP/1.1\r\n${host}\r\nContent-Length: 100000\r\n\r\nx`, false);
    expect(get.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
  });

  it('glimpse playground --build writes the static files with their headers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'playground-'));
    const r = await cli('playground', '--build', dir);
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['_headers', 'index.html', 'page.js', 'worker.mjs']);
    expect(readFileSync(join(dir, '_headers'), 'utf8')).toMatch(
      /cross-origin-embedder-policy: require-corp/,
    );
    const bad = await cli('playground', '--port', '99999');
    expect(bad.code).toBe(2);
  });
});

type Shown = {
  ready: boolean;
  error?: string;
  graph?: string;
  passes?: { name: string; changed: boolean }[];
  run?: { backend: string; outputs: Record<string, number[]> };
  bisect?: { first: string | null; text: string };
};
const shown = (page: Page) =>
  page.evaluate(
    () => (window as unknown as { glimpsePlayground: unknown }).glimpsePlayground,
  ) as Promise<Shown>;

async function runOn(page: Page, backend: string): Promise<number[]> {
  await page.selectOption('#backend', backend);
  await page.evaluate(() => {
    delete (window as unknown as { glimpsePlayground: { run?: unknown } }).glimpsePlayground.run;
  });
  await page.click('#run');
  await page.waitForFunction(
    () => {
      const s = (window as unknown as { glimpsePlayground: Shown }).glimpsePlayground;
      return s.run !== undefined || s.error !== undefined;
    },
    undefined,
    { timeout: 120_000 },
  );
  const s = await shown(page);
  expect(s.error).toBeUndefined();
  expect(s.run!.backend).toBe(backend);
  return s.run!.outputs.y!;
}

describeGpu('the playground page in headless Chromium', () => {
  it('shows the passes, runs on wasm and WebGPU alike, bisects, takes a dropped ONNX file', async () => {
    const browser = await launchChromium([
      '--enable-unsafe-webgpu',
      '--use-webgpu-adapter=swiftshader',
    ]);
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server!.url}?model=self-attention&opts=dim%3D32&shape=B%3D1%2CT%3D8`);
      await page.waitForFunction(
        () => (window as unknown as { glimpsePlayground: Shown }).glimpsePlayground.ready,
        undefined,
        { timeout: 60_000 },
      );
      let s = await shown(page);
      expect(s.error).toBeUndefined();
      expect(s.passes!.find((p) => p.name === 'fuse-attention')!.changed).toBe(true);
      const report = await page.locator('#report').getAttribute('srcdoc');
      expect(report).toMatch(/fuse-attention/);
      expect(report).toMatch(/<svg/);

      // Equal outputs on wasm (2 Web Workers: the page is cross-origin isolated) and WebGPU,
      // both within the f32 tolerance of the float64 reference.
      const wasm = await runOn(page, 'wasm');
      const gpu = await runOn(page, 'wgsl');
      const g = buildModel('self-attention:dim=32').graph;
      const ref = interpret(g, randomInputs(g, { B: 1, T: 8 }, g.seed)).y!;
      const asTensor = (d: number[]) => ({
        dtype: 'f32' as const,
        shape: ref.shape,
        data: Float32Array.from(d),
      });
      assertClose(asTensor(wasm), ref, undefined, 'playground wasm vs reference');
      assertClose(asTensor(gpu), ref, undefined, 'playground webgpu vs reference');
      assertClose(asTensor(gpu), asRef(asTensor(wasm)), undefined, 'playground webgpu vs wasm');
      expect(await page.locator('#result').innerText()).toMatch(/^y: f32\[1,8,32\]/);

      // The URL keeps the state.
      const settled = () =>
        page.waitForFunction(
          () => (window as unknown as { glimpsePlayground: Shown }).glimpsePlayground.ready,
          undefined,
          { timeout: 60_000 },
        );
      await page.selectOption('#level', '0');
      await settled();
      expect(new URL(page.url()).searchParams.get('level')).toBe('0');
      s = await shown(page);
      expect(s.passes).toEqual([]);
      await page.selectOption('#level', '2');
      await settled();
      expect(new URL(page.url()).searchParams.get('level')).toBeNull(); // the default

      // Bisect with one button: nothing diverges on wasm.
      await page.selectOption('#backend', 'wasm');
      await page.click('#bisect');
      await page.waitForFunction(
        () =>
          (window as unknown as { glimpsePlayground: Shown }).glimpsePlayground.bisect !==
          undefined,
        undefined,
        { timeout: 60_000 },
      );
      s = await shown(page);
      expect(s.bisect!.first).toBeNull();
      expect(s.bisect!.text).toMatch(/no divergence/);
      await page.screenshot({ path: `${ROOT}test-output/playground.png` });

      // A dropped ONNX file.
      const bytes = [...readFileSync(`${FIXTURES}/onnx-dynamic/self_attention/model.onnx`)];
      await page.evaluate(() => {
        (window as unknown as { glimpsePlayground: Shown }).glimpsePlayground.ready = false;
      });
      const dt = await page.evaluateHandle((b) => {
        const t = new DataTransfer();
        t.items.add(new File([new Uint8Array(b)], 'self_attention.onnx'));
        return t;
      }, bytes);
      await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
      await page.waitForFunction(
        () => (window as unknown as { glimpsePlayground: Shown }).glimpsePlayground.ready,
        undefined,
        { timeout: 60_000 },
      );
      s = await shown(page);
      expect(s.error).toBeUndefined();
      expect(await page.locator('#source').innerText()).toBe('ONNX: self_attention.onnx');
      expect(s.passes!.find((p) => p.name === 'fuse-attention')!.changed).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 300_000);
});
