import type { Graph, OpCategory } from '@glimpse/ir';
import { fmtNumber, traitsOf, typeToString } from '@glimpse/ir';

/** Op categories (from the op definitions) and their colours (fill), so a picture reads at a glance. */
export const CLASS_COLOURS: Record<OpCategory, string> = {
  matmul: '#cfe2ff',
  attention: '#ffd8a8',
  elementwise: '#d3f9d8',
  normalize: '#e5dbff',
  layout: '#f1f3f5',
  source: '#fff3bf',
};

/** A DOT string literal: every character the graph's names may hold is escaped. */
const q = (s: string) =>
  `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '')}"`;
const MAX_LABEL = 48;
const short = (s: string) => (s.length > MAX_LABEL ? `${s.slice(0, MAX_LABEL - 1)}…` : s);

/**
 * The graph as Graphviz DOT: one box per node coloured by op class (fused ops with a double
 * border), inputs and outputs as ellipses, edges labelled with shapes. Params are folded into
 * their consumer (listed under its op) so that large models stay readable.
 */
export function graphToDot(g: Graph, options: { title?: string } = {}): string {
  // Params and constants are folded into their consumers: drawn as nodes, a constant shared
  // by every layer (after CSE) would pull edges across the whole picture — and Graphviz's
  // layout time up by orders of magnitude.
  const params = new Set(g.params.map((p) => p.name));
  const constants = new Map<string, string>();
  for (const n of g.nodes)
    if (n.op === 'constant') {
      const v = n.attrs.value as number[];
      constants.set(n.outputs[0]!, v.length === 1 ? fmtNumber(v[0]!) : `${v.length} values`);
    }
  const id = new Map<string, string>(); // value → DOT node that produces it
  // Large graphs: bound Graphviz's crossing-minimisation and network-simplex iterations
  // (a 600-node stack lays out in 0.4 s instead of 1.1 s, and stays legible).
  const limits = g.nodes.length > 150 ? 'mclimit=0.1, nslimit=1, nslimit1=1, ' : '';
  const lines = [
    `digraph ${q(g.name)} {`,
    `  graph [${limits}rankdir=TB, fontname="Helvetica", fontsize=11, label=${q(options.title ?? g.name)}, labelloc=t];`,
    '  node [fontname="Helvetica", fontsize=10, shape=box, style="rounded,filled", fillcolor="#ffffff"];',
    '  edge [fontname="Helvetica", fontsize=8, color="#868e96"];',
  ];
  g.inputs.forEach((inp, i) => {
    id.set(inp.name, `in${i}`);
    lines.push(
      `  in${i} [shape=ellipse, fillcolor="#e9ecef", label=${q(`${short(inp.name)}\n${typeToString(inp.type)}`)}];`,
    );
  });
  g.nodes.forEach((n, i) => {
    if (n.op === 'constant') return;
    const own = n.inputs
      .filter((x) => params.has(x) || constants.has(x))
      .map((x) =>
        params.has(x)
          ? `${short(x)} ${typeToString(g.typeOf(x))}`
          : `${short(x)} = ${constants.get(x)}`,
      );
    const label = [`${n.op}`, ...n.outputs.map((o) => `%${short(o)}`), ...own].join('\n');
    const { category: cls, fused } = traitsOf(n.op);
    // Ops only a fusion pass creates get a double border.
    const extra = fused ? ', peripheries=2, penwidth=1.5' : '';
    lines.push(
      `  n${i} [label=${q(label)}, fillcolor="${CLASS_COLOURS[cls]}", tooltip=${q(`${n.op} (${cls})`)}${extra}];`,
    );
    n.outputs.forEach((o) => id.set(o, `n${i}`));
  });
  g.nodes.forEach((n, i) => {
    for (const x of n.inputs) {
      const from = id.get(x);
      if (from !== undefined)
        lines.push(`  ${from} -> n${i} [label=${q(typeToString(g.typeOf(x)))}];`);
    }
  });
  g.outputs.forEach((o, i) => {
    lines.push(
      `  out${i} [shape=ellipse, fillcolor="#e9ecef", label=${q(`${short(o)}\n${typeToString(g.typeOf(o))}`)}];`,
    );
    const from = id.get(o);
    if (from !== undefined) lines.push(`  ${from} -> out${i};`);
  });
  lines.push('}');
  return lines.join('\n') + '\n';
}
