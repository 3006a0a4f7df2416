import type { Graphviz } from '@hpcc-js/wasm-graphviz';

let loading: Promise<Graphviz> | undefined;

/**
 * DOT → SVG with Graphviz compiled to WebAssembly (no system binary), loaded on first use:
 * a program that never draws a graph does not pay for it (~4 MB of memory in Node).
 */
export async function dotToSvg(dot: string): Promise<string> {
  const gv = await (loading ??= import('@hpcc-js/wasm-graphviz').then((m) => m.Graphviz.load()));
  const svg = gv.dot(dot, 'svg');
  // Drop the XML prolog and doctype so the SVG can be inlined in HTML.
  return svg.slice(svg.indexOf('<svg'));
}
