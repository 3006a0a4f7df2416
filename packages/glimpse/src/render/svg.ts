import { Graphviz } from '@hpcc-js/wasm-graphviz';

let loading: Promise<Graphviz> | undefined;

/** DOT → SVG with Graphviz compiled to WebAssembly (no system binary). */
export async function dotToSvg(dot: string): Promise<string> {
  const gv = await (loading ??= Graphviz.load());
  const svg = gv.dot(dot, 'svg');
  // Drop the XML prolog and doctype so the SVG can be inlined in HTML.
  return svg.slice(svg.indexOf('<svg'));
}
