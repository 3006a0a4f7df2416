import type { Graph } from '@glimpse/ir';
import { graphToJSON, printGraph } from '@glimpse/ir';
import { graphToDot } from './dot.js';
import { dotToSvg } from './svg.js';

export { graphToDot } from './dot.js';
export { dotToSvg } from './svg.js';
export { renderReport, statsAt } from './html.js';
export type { ReportOptions } from './html.js';

export type GraphFormat = 'text' | 'json' | 'dot' | 'svg';

/** A graph as text IR, JSON, Graphviz DOT or SVG. */
export async function renderGraph(
  g: Graph,
  format: GraphFormat,
  options: { weights?: boolean; title?: string } = {},
): Promise<string> {
  switch (format) {
    case 'text':
      return printGraph(g);
    case 'json':
      return JSON.stringify(graphToJSON(g, { weights: options.weights === true }), null, 2) + '\n';
    case 'dot':
      return graphToDot(g, options);
    case 'svg':
      return dotToSvg(graphToDot(g, options));
  }
}
