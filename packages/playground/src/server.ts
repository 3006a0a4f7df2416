/**
 * The playground's files — one HTML page, its script bundled from the packages by esbuild,
 * and the wasm backend's worker — served from 127.0.0.1 or written out as static files for
 * any web host. The server answers only those paths (no listing, nothing from the file
 * system by name: `..` and its encodings find nothing), only to requests addressed to it
 * (Host 127.0.0.1:PORT or localhost:PORT; 421 otherwise), reads no request body, and sends
 * the cross-origin isolation headers the wasm backend's threads need (SharedArrayBuffer).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Headers every response carries: cross-origin isolation, no sniffing, no caching. */
export const HEADERS: Readonly<Record<string, string>> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>glimpse playground</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #212529; }
header { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: end; padding: 10px 16px; background: #f8f9fa; border-bottom: 1px solid #dee2e6; }
header label { display: flex; flex-direction: column; font-size: 12px; color: #495057; }
header input, header select, header textarea { font: 13px ui-monospace, monospace; }
#text { width: 420px; height: 90px; }
#drop { border: 2px dashed #adb5bd; border-radius: 6px; padding: 6px 10px; font-size: 12px; }
button { font: 600 13px system-ui; padding: 5px 14px; }
#status { margin: 6px 16px; font-size: 13px; color: #495057; }
#result { margin: 0 16px; font: 12px/1.35 ui-monospace, monospace; white-space: pre; overflow: auto; max-height: 40vh; background: #f8f9fa; }
#report { width: 100%; height: 78vh; border: 0; border-top: 1px solid #dee2e6; }
</style></head>
<body>
<header>
  <label>model <select id="model"></select></label>
  <label>options <input id="opts" placeholder="dim=64,heads=4" size="18"></label>
  <details><summary>or paste .glimpse text</summary><textarea id="text" spellcheck="false"></textarea></details>
  <div id="drop">or drop an .onnx file here <input type="file" id="file" accept=".onnx"> <span id="source"></span></div>
  <label>level <select id="level"><option>0</option><option>1</option><option>2</option></select></label>
  <label>passes <input id="passes" placeholder="cse,dce (instead of a level)" size="22"></label>
  <label>shape <input id="shape" placeholder="B=1,T=16" size="12"></label>
  <label>backend <select id="backend"></select></label>
  <button id="run">Run</button>
  <button id="bisect">Bisect</button>
</header>
<p id="status">loading…</p>
<pre id="result"></pre>
<iframe id="report" title="passes"></iframe>
<script type="module" src="./page.js"></script>
</body></html>
`;

export interface PlaygroundFiles {
  /** Path → [content type, body]. */
  readonly files: ReadonlyMap<string, readonly [string, string]>;
}

/** Bundle the page (from the packages' sources when running from them, else their builds). */
export async function playgroundFiles(): Promise<PlaygroundFiles> {
  const esbuild = await import('esbuild');
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(fromSource ? './page.ts' : './page.js', import.meta.url));
  const built = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    conditions: fromSource ? ['@glimpse/source'] : [],
    // Node-only branches (the WebGPU package, the thread pool's worker_threads): never
    // reached in a browser.
    external: ['webgpu', 'node:*'],
    write: false,
    logLevel: 'error',
  });
  const worker = readFileSync(
    fileURLToPath(import.meta.resolve('@glimpse/backend-wasm/worker.mjs')),
    'utf8',
  );
  return {
    files: new Map([
      ['/', ['text/html; charset=utf-8', PAGE]],
      ['/index.html', ['text/html; charset=utf-8', PAGE]],
      ['/page.js', ['text/javascript; charset=utf-8', built.outputFiles[0]!.text]],
      // The pool starts its workers from ../worker.mjs relative to the script: the root.
      ['/worker.mjs', ['text/javascript; charset=utf-8', worker]],
    ]),
  };
}

/** Serve the playground on 127.0.0.1 (port 0: any free one). */
export async function servePlayground(
  port = 0,
): Promise<{ url: string; close: () => Promise<void> }> {
  const { files } = await playgroundFiles();
  let hosts: ReadonlySet<string> = new Set();
  const server = createServer((req, res) => {
    // Nothing is read from a request: one with a body (a POST of any size) is answered at
    // once and its connection closed rather than drained.
    const refuse = (status: number, text: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, {
        ...HEADERS,
        'content-type': 'text/plain',
        connection: 'close',
        ...extra,
      });
      res.end(text);
      req.destroy();
    };
    // DNS rebinding: a page on another origin whose name resolves to 127.0.0.1 sends its own
    // Host. Only the names this server is reached by directly are answered.
    if (!hosts.has(req.headers.host ?? '')) return refuse(421, 'misdirected request');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return refuse(405, 'method not allowed', { allow: 'GET, HEAD' });
    // The path as sent, before any decoding: only the exact names exist.
    const path = (req.url ?? '').split('?')[0]!;
    const f = files.get(path);
    // A GET or HEAD that declares a body is malformed: not read, refused.
    const length = req.headers['content-length'];
    const hasBody =
      (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (hasBody) return refuse(400, 'a GET has no body');
    res.writeHead(f ? 200 : 404, { ...HEADERS, 'content-type': f?.[0] ?? 'text/plain' });
    res.end(req.method === 'HEAD' ? undefined : (f?.[1] ?? 'not found'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  hosts = new Set([`127.0.0.1:${bound}`, `localhost:${bound}`]);
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/**
 * Write the playground as static files to `dir`: index.html, page.js, worker.mjs, and a
 * `_headers` file with the cross-origin isolation headers (the format Netlify and
 * Cloudflare Pages read; other hosts need the same two headers set their way).
 */
export async function writePlayground(dir: string): Promise<string[]> {
  const { files } = await playgroundFiles();
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [path, [, body]] of files)
    if (path !== '/') {
      writeFileSync(join(dir, path.slice(1)), body);
      written.push(path.slice(1));
    }
  const headers = Object.entries(HEADERS)
    .filter(([k]) => k.startsWith('cross-origin'))
    .map(([k, v]) => `  ${k}: ${v}`)
    .join('\n');
  writeFileSync(join(dir, '_headers'), `/*\n${headers}\n`);
  written.push('_headers');
  return written;
}
